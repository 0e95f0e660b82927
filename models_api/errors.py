"""One JSON shape for every error of the REST API.

    {"detail": "...", "errors": [{"field": "spec.minReplicas", "message": "..."}],
     "currentResourceVersion": "123"}

`errors` comes with 400 (bad query, a body that is not JSON or not a Model, an
unknown field), 413 (a body over the size limit) and 422 (invalid Model, from our own
validation or the API server's); `currentResourceVersion` with 409 on a stale write,
and `errors` naming the fields both sides changed when that is why.
Service-layer errors keep their status: 400, 401, 403, 404, 409, 422, 503.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

import kube


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, kube.KubeError):
        return Response(kube_error_body(exc), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        return Response({"detail": f"The body is larger than {limit} MB.",
                         "errors": [{"field": "", "message": f"At most {limit} MB."}]},
                        status=413)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": "The request is invalid.",
                         "errors": list(_flatten(exc.detail, ""))}
    elif response is not None and isinstance(exc, exceptions.ParseError):
        response.data = {"detail": "The body is not valid JSON.",
                         "errors": [{"field": "", "message": str(exc.detail)}]}
    elif response is not None and isinstance(exc, exceptions.APIException):
        response.data = {"detail": str(exc.detail)}
        if response.status_code == 413:
            response.data["errors"] = [{"field": "", "message": str(exc.detail)}]
    return response


def kube_error_body(error: kube.KubeError) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": error.message}
    if isinstance(error, kube.Invalid):
        body["errors"] = [{"field": e.path, "message": e.message} for e in error.errors]
    if isinstance(error, kube.Conflict) and error.current_resource_version:
        body["currentResourceVersion"] = error.current_resource_version
    if isinstance(error, kube.Conflict) and error.fields:
        body["errors"] = [{"field": path, "message": "Changed by someone else since the "
                                                     "version this change was based on."}
                          for path in error.fields]
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
