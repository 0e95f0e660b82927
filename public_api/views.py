"""GET /public/api/models: the published models, for OpenRouter-compatible consumers.

No authentication. The body is precomputed per cache version (public_api.listing);
a request picks the format (`?format=openai` for OpenAI's list), the encoding
(gzip when accepted) and answers 304 when `If-None-Match` already has it.
Browsers (Accept: text/html) get DRF's browsable page of the same data.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from public_api.listing import NotSynced, Rendition, current_listing
from public_api.throttling import PublicRateThrottle

LISTING_FORMATS = ("openrouter", "openai")
JSON_RENDERER = JSONRenderer()
VARY = "Accept, Accept-Encoding"
RESPONSE_HEADERS = {
    "Allow": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Retry-After",
}


class NotReady(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The model list is not available yet; retry in a few seconds."
    default_code = "not_ready"


class ListingNegotiation(DefaultContentNegotiation):
    """`?format=openai|openrouter` picks the listing format; json and api pick a renderer.

    Any other value is left to the view, which answers 400 (not DRF's 404).
    """

    def filter_renderers(self, renderers: list[BaseRenderer], format: str) -> list[BaseRenderer]:
        return [r for r in renderers if r.format == format] or renderers


class PublicModels(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    parser_classes: list[Any] = []  # GET only: no body to parse
    throttle_classes = [PublicRateThrottle]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    content_negotiation_class = ListingNegotiation

    @extend_schema(
        operation_id="publicModels",
        summary="Published models (OpenRouter provider format, or OpenAI's with ?format=openai)",
        parameters=[OpenApiParameter("format", enum=[*LISTING_FORMATS, "json", "api"],
                                     description="openrouter (default) or openai")],
        responses={200: OpenApiResponse(description="The published models"),
                   304: OpenApiResponse(description="Not modified (If-None-Match)"),
                   429: OpenApiResponse(description="Too many requests from this address"),
                   503: OpenApiResponse(description="The model list is not loaded yet")},
        auth=[],
    )
    def get(self, request: Request) -> HttpResponseBase:
        wanted = _requested_format(request)
        if wanted not in (*LISTING_FORMATS, "json", "api"):
            raise exceptions.ValidationError(
                {"format": [f"Unknown format {wanted!r}: use openrouter (default) or openai."]})
        try:
            listing = current_listing()
        except NotSynced:
            raise NotReady from None
        rendition = listing.openai if wanted == "openai" else listing.openrouter
        if isinstance(request.accepted_renderer, BrowsableAPIRenderer):
            return Response(rendition.data)
        return _json(request, rendition)

    def options(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """CORS preflight."""
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response["Access-Control-Allow-Headers"] = "If-None-Match, Accept"
        response["Access-Control-Max-Age"] = "86400"
        return response

    def perform_authentication(self, request: Request) -> None:
        """Nobody signs in here: leave request.user lazy instead of building an AnonymousUser
        on every request."""

    def throttled(self, request: Request, wait: float | None) -> None:
        throttle = PublicRateThrottle()
        raise exceptions.Throttled(
            wait, detail=f"Too many requests: this endpoint allows {throttle.describe()} from "
                         "one address.")

    @property
    def default_response_headers(self) -> dict[str, str]:
        return dict(RESPONSE_HEADERS)  # DRF pops from it

    def perform_content_negotiation(self, request: Request, force: bool = False
                                    ) -> tuple[BaseRenderer, str]:
        # The hot path: a plain JSON client needs no Accept parsing.
        accept = request.META.get("HTTP_ACCEPT", "")
        if _requested_format(request) in LISTING_FORMATS \
                and (accept in ("", "*/*") or accept.startswith("application/json")):
            return JSON_RENDERER, "application/json"
        return super().perform_content_negotiation(request, force)  # type: ignore[no-any-return]

    def finalize_response(self, request: Request, response: HttpResponseBase, *args: Any,
                          **kwargs: Any) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Set, not patched: nothing before this point gives this view's responses a Vary.
        response["Vary"] = VARY
        if response.status_code in (200, 304):
            response["Cache-Control"] = f"public, max-age={settings.KMM_PUBLIC_MAX_AGE}"
        else:
            response["Cache-Control"] = "no-store"
        return response


def _requested_format(request: Request) -> str:
    # Pollers send no query string; parsing an empty one into a QueryDict is not free.
    if not request.META.get("QUERY_STRING"):
        return "openrouter"
    return str(request.query_params.get("format") or "openrouter")


def _json(request: Request, rendition: Rendition) -> HttpResponse:
    gzip_ok = "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", "")
    etag = rendition.gzip_etag if gzip_ok else rendition.etag
    if _matches(request.META.get("HTTP_IF_NONE_MATCH", ""), rendition):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(rendition.gzipped if gzip_ok else rendition.body,
                                content_type="application/json")
        if gzip_ok:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = etag
    return response


def _matches(header: str, rendition: Rendition) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return rendition.etag in tags or rendition.gzip_etag in tags
