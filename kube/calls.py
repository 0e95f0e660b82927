"""One place where Kubernetes client calls are made and their failures translated."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

from kube import errors
from kube.cluster import Caller
from modelspec.validation import FieldError, locate_cause

# Failed API-server calls by HTTP status ("0" when the server could not be reached),
# read by /metrics.
API_ERRORS: Counter[str] = Counter()
_errors_lock = threading.Lock()


def count_error(status: int) -> None:
    with _errors_lock:
        API_ERRORS[str(status)] += 1


def call(caller: Caller, fn: Callable[..., Any], *args: Any, verb: str, resource: str,
         namespace: str | None = None, name: str | None = None, raw: bool = False,
         **kwargs: Any) -> Any:
    """Run one client call with the cluster's timeouts; raise only domain errors.

    `raw=True` skips the generated models and returns the parsed JSON body, which
    keeps every field exactly as the API server sent it (and is much faster).
    """
    kwargs["_request_timeout"] = caller.cluster.timeout
    if raw:
        kwargs["_preload_content"] = False
    try:
        result = fn(*args, **kwargs)
    except ApiException as exc:
        if exc.status in (401, 403):  # what we remembered about this identity may be wrong
            from kube.access import forget_identity  # (kube.access imports this module)

            forget_identity(caller.identity, unauthorized=exc.status == 401)
        raise translate(exc, verb=verb, resource=resource, namespace=namespace, name=name) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise unavailable(caller, exc) from None
    if raw:
        return json.loads(result.data)
    return result


def unavailable(caller: Caller, exc: BaseException) -> errors.Unavailable:
    count_error(0)
    reason = type(getattr(exc, "reason", None) or exc).__name__
    return errors.Unavailable(
        f"The Kubernetes API server at {caller.cluster.server} cannot be reached ({reason}). "
        "Check that the cluster is up, then retry.",
        reason="Unavailable",
    )


def translate(exc: ApiException, *, verb: str, resource: str, namespace: str | None,
              name: str | None) -> errors.KubeError:
    status = exc.status or 0
    count_error(status)
    body = errors.status_body(exc.body)
    message = str(body.get("message") or exc.reason or "Kubernetes API error")
    reason = str(body.get("reason") or "")
    where = f" in namespace {namespace!r}" if namespace else ""
    target = f"{resource} {name!r}" if name else resource
    if status == 401:
        return errors.Unauthorized(
            "The Kubernetes API server did not accept the credentials (expired or invalid). "
            "Sign in again.", reason=reason)
    if status == 403:
        return errors.Forbidden(
            f"Forbidden: you may not {verb} {target}{where}. ({message})",
            reason=reason, verb=verb, resource=resource, namespace=namespace)
    if status == 404:
        return errors.NotFound(f"{target.capitalize()} was not found{where}.", reason=reason)
    if status == 409 and reason == "AlreadyExists":
        return errors.AlreadyExists(f"{target.capitalize()} already exists{where}.",
                                    reason=reason)
    if status == 409:
        return errors.Conflict(
            f"{target.capitalize()} was changed by someone else since you loaded it{where}. "
            "Reload it and apply your change again.", reason=reason)
    if status == 422 or reason == "Invalid":
        causes = (body.get("details") or {}).get("causes") or []
        field_errors = [locate_cause(str(c.get("field") or ""), str(c.get("message") or ""))
                        for c in causes]
        return errors.Invalid(message, reason=reason,
                              errors=field_errors or [FieldError("", message)])
    if status == 400:
        return errors.BadRequest(message, reason=reason)
    if status in (429, 500, 502, 503, 504) or status == 0:
        return errors.Unavailable(
            f"The Kubernetes API server could not handle the request ({status}: {message}). "
            "Retry in a moment.", reason=reason or "Unavailable")
    return errors.KubeError(f"Kubernetes API error {status}: {message}", status=502,
                            reason=reason)
