"""kmm.wsgi.application: anonymous paths on a lean middleware stack, the rest on the full one."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest

from kmm.wsgi import application
from kube.cache import ModelCache

pytestmark = pytest.mark.cluster


def call(path: str, **headers: str) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, **headers}
    answer: dict[str, Any] = {}

    def start_response(status: str, header_list: list[tuple[str, str]], *_: Any) -> None:
        answer.update(status=status, headers=dict(header_list))

    result = application(environ, start_response)
    body = b"".join(result)
    getattr(result, "close", lambda: None)()
    return answer["status"], answer["headers"], body


def test_it_serves_the_public_list_with_security_headers_and_no_cookie(cache: ModelCache) -> None:
    status, headers, body = call("/public/api/models", HTTP_ACCEPT="application/json")
    assert status == "200 OK"
    assert body.startswith(b'{"data":')
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in headers


def test_it_refuses_unknown_hosts_on_the_lean_stack(cache: ModelCache) -> None:
    status, _, _ = call("/public/api/models", HTTP_HOST="evil.example")
    assert status.startswith("400")


def test_it_serves_probes_on_the_lean_stack(cache: ModelCache) -> None:
    assert call("/healthz")[0] == "200 OK"


def test_it_keeps_sign_in_for_the_other_pages(cache: ModelCache, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    status, _, _ = call("/api/models/", HTTP_ACCEPT="application/json")
    assert status.startswith("401")  # sessions and the Kubernetes caller ran
