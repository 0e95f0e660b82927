"""Django messages as toasts on htmx responses too.

Full pages render messages in base.html. An htmx response swaps only part of the
page, so this middleware appends the pending messages as an out-of-band swap
into the page's #toasts container.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


class HtmxMessagesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or response.status_code != 200 \
                or response.streaming or "HX-Redirect" in response \
                or not response.get("Content-Type", "").startswith("text/html"):
            return response
        storage = get_messages(request)
        if not len(storage):
            return response
        toasts = render_to_string("includes/messages.html", {"messages": storage}, request)
        response.content += (f'<div id="toasts" class="toasts" aria-live="polite" '
                             f'hx-swap-oob="true">{toasts}</div>').encode()
        return response
