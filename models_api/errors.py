"""One JSON shape for every error of the REST API.

    {"detail": "...", "errors": [{"field": "spec.minReplicas", "message": "..."}],
     "currentResourceVersion": "123"}

`errors` comes with 400 (bad query or body) and 422 (invalid Model, from our own
validation or the API server's); `currentResourceVersion` with 409 on a stale write.
Service-layer errors keep their status: 401, 403, 404, 409, 422, 503.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

import kube


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, kube.KubeError):
        return Response(kube_error_body(exc), status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": "The request is invalid.",
                         "errors": list(_flatten(exc.detail, ""))}
    return response


def kube_error_body(error: kube.KubeError) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": error.message}
    if isinstance(error, kube.Invalid):
        body["errors"] = [{"field": e.path, "message": e.message} for e in error.errors]
    if isinstance(error, kube.Conflict) and error.current_resource_version:
        body["currentResourceVersion"] = error.current_resource_version
    return body


def _flatten(detail: Any, path: str) -> Any:
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            yield from _flatten(value, f"{path}.{name}" if path and name else path or name)
    elif isinstance(detail, list):
        for item in detail:
            yield from _flatten(item, path)
    else:
        yield {"field": path, "message": str(detail)}
