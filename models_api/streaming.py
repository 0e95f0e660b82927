"""Model lists of the REST API: paged as Kubernetes pages (`limit`, `continue`), and
streamed, so a list of thousands of models is never built as one answer in memory.

`?limit=N` returns at most N models and, when more follow, `metadata.continue`
(a token to pass back as `?continue=`) and `metadata.remainingItemCount`. Without
`limit` every model is returned. Models come in the order Kubernetes lists them
(namespace, then name); each page is cut from the cache's snapshot at the time it
is asked for, after the token's position, so a page never repeats a model, and
one created meanwhile shows up if it sorts after the position (as with an
expired continue token in Kubernetes, pages are not one consistent snapshot).

JSON answers of more than STREAM_FROM_MODELS models are streamed in chunks of
CHUNK_MODELS models; the browsable page gets the usual DRF Response.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Iterator, Sequence
from typing import Any

from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from rest_framework import exceptions
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from modelspec import schema

Obj = dict[str, Any]
CHUNK_MODELS = 100
STREAM_FROM_MODELS = 500  # smaller lists are sent as one body (with a Content-Length)
MAX_LIMIT = 10_000


def _key(model: Obj) -> tuple[str, str]:
    metadata = model.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


def encode_token(after: tuple[str, str]) -> str:
    raw = json.dumps({"v": 1, "after": list(after)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        namespace, name = data["after"]
        if data.get("v") != 1 or not isinstance(namespace, str) or not isinstance(name, str):
            raise ValueError
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise exceptions.ValidationError(
            {"continue": ["Not a continue token from this API: pass back metadata.continue "
                          "unchanged."]}) from None
    return namespace, name


def _limit(request: Request) -> int | None:
    raw = request.query_params.get("limit", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise exceptions.ValidationError(
            {"limit": [f"Must be a whole number from 1 to {MAX_LIMIT}."]})
    return int(raw)


def model_list(request: Request, resource_version: str, models: Sequence[Obj]) -> HttpResponseBase:
    """A `ModelList` of `models` (sorted by namespace and name), one page of it with
    `?limit=`, streamed as JSON (or a Response for the browsable page)."""
    limit = _limit(request)
    token = request.query_params.get("continue", "").strip()
    start = bisect.bisect_right(models, decode_token(token), key=_key) if token else 0
    end = len(models) if limit is None else min(len(models), start + limit)
    metadata: Obj = {"resourceVersion": resource_version}
    if end < len(models):
        metadata["continue"] = encode_token(_key(models[end - 1]))
        metadata["remainingItemCount"] = len(models) - end
    items = models[start:end]
    body = {"apiVersion": schema.API_VERSION, "kind": f"{schema.KIND}List",
            "metadata": metadata, "items": items}
    if isinstance(getattr(request, "accepted_renderer", None), BrowsableAPIRenderer):
        return Response(body)
    response: HttpResponseBase
    if len(items) > STREAM_FROM_MODELS:
        response = StreamingHttpResponse(_chunks(body), content_type="application/json")
    else:
        response = HttpResponse(b"".join(_chunks(body)), content_type="application/json")
    response.data = body  # type: ignore[attr-defined]  # for in-process callers (tests)
    return response


def _chunks(body: Obj) -> Iterator[bytes]:
    items = body["items"]
    head = {key: value for key, value in body.items() if key != "items"}
    yield json.dumps(head, separators=(",", ":"), ensure_ascii=False)[:-1].encode() + b',"items":['
    for start in range(0, len(items), CHUNK_MODELS):
        chunk = json.dumps(items[start:start + CHUNK_MODELS], separators=(",", ":"),
                           ensure_ascii=False)[1:-1]
        yield (b"," if start else b"") + chunk.encode()
    yield b"]}"
