"""JSON bodies of the REST API, parsed within bounds (kmm.limits).

DRF's own parser reads any size and lets a deeply nested body raise RecursionError, a
500. Here a body past the size cap is a 413, and one nested or sized beyond a Model's
needs is a 400, both as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

from kmm.limits import MAX_DOCUMENT_CHARACTERS, shape_problem


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The request body is larger than {MAX_DOCUMENT_CHARACTERS:,} bytes."
    default_code = "too_large"


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: dict[str, Any] | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read(MAX_DOCUMENT_CHARACTERS + 1) if stream is not None else b""
        if len(raw) > MAX_DOCUMENT_CHARACTERS:
            raise BodyTooLarge()
        try:
            data = json.loads(raw.decode(encoding))
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the body nests too deeply.") from None
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        problem = shape_problem(data)
        if problem:
            raise exceptions.ParseError(problem)
        return data


class BoundedMergePatchParser(BoundedJSONParser):
    media_type = "application/merge-patch+json"
