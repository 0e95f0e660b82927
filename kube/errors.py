"""Domain errors of the service layer.

Views and the REST API render these; `kubernetes.client.ApiException` and
urllib3 errors never leave the service layer. Each error has an HTTP `status`
and a `message` fit to show an operator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from modelspec.errors import FieldError


@dataclass
class KubeError(Exception):
    message: str
    status: int = 500
    reason: str = ""

    def __str__(self) -> str:
        return self.message


@dataclass
class ConfigurationError(KubeError):
    """No usable cluster configuration (neither in-cluster nor a kubeconfig)."""

    status: int = 503


@dataclass
class BadRequest(KubeError):
    status: int = 400


@dataclass
class Unauthorized(KubeError):
    """The API server did not accept the caller's credentials (expired or invalid token)."""

    status: int = 401


@dataclass
class Forbidden(KubeError):
    status: int = 403
    verb: str = ""
    resource: str = ""
    namespace: str | None = None


@dataclass
class NotFound(KubeError):
    status: int = 404


@dataclass
class Conflict(KubeError):
    """A stale write: `current` is the object as it is now, when it could be read."""

    status: int = 409
    current_resource_version: str | None = None
    current: dict[str, Any] | None = None
    fields: list[str] = field(default_factory=list)  # changed by both sides, when known


@dataclass
class AlreadyExists(KubeError):
    status: int = 409


@dataclass
class Invalid(KubeError):
    """The API server (or our own validation) refused the object; `errors` carry field paths."""

    status: int = 422
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class Unavailable(KubeError):
    """The API server could not be reached or answered in time."""

    status: int = 503


def status_body(body: Any) -> dict[str, Any]:
    """The Kubernetes `Status` object in an error body, or {} for odd bodies."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return {"message": body[:500]}
        return parsed if isinstance(parsed, dict) else {}
    return {}
