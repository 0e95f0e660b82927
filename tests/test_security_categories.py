"""The attack categories that held in issue 11's review, kept in the suite: each attempt is
counted in the summary's forbidden-attempts line (tests.rbac), by category."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client

import kube
from devcluster.controlplane import ControlPlane
from models_ui.editing import seal_original
from modelspec.listing import PUBLISH_ANNOTATION
from tests.conftest import create_event, make_model, wait_for_cache
from tests.rbac import Tenancy, attempt_forbidden, record_attempt, setup_tenancy
from tests.test_security import yaml_bomb

pytestmark = pytest.mark.cluster

PAYLOAD = '<script>alert("kmm-xss")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&quot;kmm-xss&quot;)&lt;/script&gt;"


@pytest.fixture(scope="module")
def tenancy(control_plane: ControlPlane) -> Tenancy:
    return setup_tenancy(kube.default_cluster().as_app())


def signed_in(plane: ControlPlane, user: str, **extra: Any) -> Client:
    client = Client(**extra)
    if extra.get("enforce_csrf_checks"):
        client.get("/signin/")
        csrf = client.cookies["csrftoken"].value
        assert client.post("/signin/", {"token": plane.tokens[user],
                                        "csrfmiddlewaretoken": csrf}).status_code == 302
    else:
        assert client.post("/signin/", {"token": plane.tokens[user]}).status_code == 302
    return client


@pytest.fixture
def token_mode(settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"


# --- htmx partials and bulk keys -------------------------------------------------------------

@pytest.mark.parametrize(("path", "target"), [
    ("/?namespace={ns}", "changelist-results"), ("/models/{ns}/resident/", "model-live"),
    ("/models/{ns}/resident/version/?rv=1", ""), ("/models/{ns}/resident/yaml/", "")])
def test_htmx_partials_are_authorized_like_pages(control_plane: ControlPlane, admin: kube.Caller,
                                                 tenancy: Tenancy, token_mode: None, path: str,
                                                 target: str) -> None:
    eve = signed_in(control_plane, "eve")
    headers = {"HX-Request": "true", "HX-Target": target} if target else {"HX-Request": "true"}
    url = path.format(ns=tenancy.ns_a)
    attempt_forbidden(f"htmx/token/eve{url}", admin, tenancy,
                      lambda: eve.get(url, headers=headers),
                      lambda r: r.status_code == 403 and b"hf://" not in r.content)


@pytest.mark.parametrize("key", ["{b}/resident", "{a}/.", "{a}/..", "../{a}", "{a}/resident/x",
                                 "{a}/Resident", "{a}"])
def test_bulk_keys_outside_rights_or_names_delete_nothing(
        control_plane: ControlPlane, admin: kube.Caller, tenancy: Tenancy, token_mode: None,
        key: str) -> None:
    alice = signed_in(control_plane, "alice")
    selected = key.format(a=tenancy.ns_a, b=tenancy.ns_b)
    attempt_forbidden(f"bulk/token/alice/{key}", admin, tenancy,
                      lambda: alice.post("/delete-selected/", {"selected": [selected],
                                                               "confirm": "yes"}, follow=True),
                      lambda r: b"Deleted 1 model" not in r.content)


# --- XSS: every displayed field, events and the conflict diff -------------------------------

def test_payloads_in_every_displayed_field_are_escaped(control_plane: ControlPlane,
                                                       admin: kube.Caller, namespace: str,
                                                       cache: Any, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    model = make_model(namespace, "xss", owner=PAYLOAD, url=f"hf://o/m?{PAYLOAD}",
                       args=[PAYLOAD], env={"X": PAYLOAD}, image=PAYLOAD,
                       resourceProfile=f"{PAYLOAD}:1", cacheProfile=PAYLOAD,
                       files=[{"path": "/p", "content": PAYLOAD}],
                       adapters=[{"name": "a1", "url": f"hf://o/a?{PAYLOAD}"}])
    model["metadata"]["labels"] = {"team": "x"}
    model["metadata"]["annotations"] = {"note": PAYLOAD, PUBLISH_ANNOTATION: "true",
                                        "openrouter.kmm.io/display-name": PAYLOAD,
                                        "openrouter.kmm.io/description": PAYLOAD}
    created = kube.create_model(admin, model)
    create_event(created, "Payload", "2026-01-01T00:00:00Z")
    from tests.conftest import kubectl
    kubectl("patch", "models.kubeai.org", "xss", "-n", namespace, "--subresource=status",
            "--type=merge", "-p", json.dumps({"status": {"replicas": {"all": 1, "ready": 0}}}))
    wait_for_cache(admin, namespace)
    client = Client()
    pages = {"list": f"/?namespace={namespace}", "detail": f"/models/{namespace}/xss/",
             "change": f"/models/{namespace}/xss/change/",
             "yaml-tab": f"/models/{namespace}/xss/change/?mode=yaml",
             "delete": f"/models/{namespace}/xss/delete/", "public": "/public/api/models"}
    for name, path in pages.items():
        page = client.get(path, HTTP_ACCEPT="text/html")
        body = page.content.decode()
        record_attempt(f"xss/{name}", page.status_code == 200 and PAYLOAD not in body)
    assert ESCAPED in client.get(pages["detail"]).content.decode()
    # An event's message and reason.
    kubectl("create", "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": "xss.", "namespace": namespace},
        "involvedObject": {"apiVersion": "kubeai.org/v1", "kind": "Model", "name": "xss",
                           "namespace": namespace, "uid": created["metadata"]["uid"]},
        "reason": "Bad<b>reason</b>", "message": PAYLOAD, "type": "Warning",
        "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:01Z",
        "count": 1, "source": {"component": "kubeai"}}))
    detail = client.get(pages["detail"]).content.decode()
    record_attempt("xss/events", PAYLOAD not in detail and "<b>reason</b>" not in detail)
    # The conflict diff: someone else writes a payload while the form is open.
    from tests.test_ui_views import form_data
    data = form_data(client.get(pages["change"]))
    # The same field both ways: a real conflict (unrelated writes merge without one).
    kube.patch_model(admin, namespace, "xss", {"spec": {"owner": PAYLOAD + "2"}})
    data["owner"] = "mine"
    conflict = client.post(pages["change"], data)
    body = conflict.content.decode()
    record_attempt("xss/conflict-diff", conflict.status_code == 409 and PAYLOAD not in body)


# --- CSRF on every unsafe route --------------------------------------------------------------

UNSAFE = [("post", "/add/"), ("post", "/delete-selected/"),
          ("post", "/models/{ns}/resident/change/"), ("post", "/models/{ns}/resident/reapply/"),
          ("post", "/models/{ns}/resident/delete/"), ("post", "/models/{ns}/resident/publish/"),
          ("post", "/signout/"), ("delete", "/api/namespaces/{ns}/models/resident/"),
          ("put", "/api/namespaces/{ns}/models/resident/"),
          ("patch", "/api/namespaces/{ns}/models/resident/"),
          ("post", "/api/namespaces/{ns}/models/")]


@pytest.mark.parametrize(("method", "path"), UNSAFE)
def test_every_unsafe_route_needs_a_csrf_token(control_plane: ControlPlane, admin: kube.Caller,
                                               tenancy: Tenancy, token_mode: None, method: str,
                                               path: str) -> None:
    alice = signed_in(control_plane, "alice", enforce_csrf_checks=True)
    url = path.format(ns=tenancy.ns_a)
    body = {"selected": [f"{tenancy.ns_a}/resident"], "confirm": "yes", "publish": "true",
            "original": seal_original(kube.get_model(admin, tenancy.ns_a, "resident"))}
    attempt_forbidden(f"csrf/token/alice/{method}{path}", admin, tenancy,
                      lambda: getattr(alice, method)(url, body if method == "post"
                                                     else json.dumps({"spec": {}}),
                                                     **({} if method == "post" else
                                                        {"content_type": "application/json"})),
                      lambda r: r.status_code == 403)
    assert alice.get("/").status_code == 200  # and the session survived (no sign-out by CSRF)


# --- open redirects, Host header, cookies -----------------------------------------------------

@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example",
                                    "\\\\evil.example", "javascript:alert(1)",
                                    "http:/evil.example"])
def test_sign_in_never_redirects_off_site(control_plane: ControlPlane, token_mode: None,
                                          target: str) -> None:
    response = Client().post("/signin/", {"token": control_plane.tokens["bob"], "next": target})
    record_attempt(f"redirect/signin/{target}", response.status_code == 302
                   and response["Location"] == "/")


@pytest.mark.parametrize("path", ["/", "/signin/", "/public/api/models", "/api/models/"])
def test_unknown_host_headers_are_refused(control_plane: ControlPlane, path: str) -> None:
    response = Client(HTTP_HOST="evil.example").get(path)
    record_attempt(f"host{path}", response.status_code == 400)


def test_cookies_carry_their_flags(control_plane: ControlPlane, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    client = Client()
    client.get("/signin/", secure=True)
    response = client.post("/signin/", {"token": control_plane.tokens["bob"]}, secure=True)
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    csrf = client.cookies[settings.CSRF_COOKIE_NAME]
    record_attempt("cookie/session", bool(session["httponly"]) and bool(session["secure"])
                   and session["samesite"] == "Lax" and int(session["max-age"]) <= 3600)
    record_attempt("cookie/csrf", bool(csrf["secure"]) and csrf["samesite"] == "Lax")


def test_the_token_never_reaches_html_js_or_logs(control_plane: ControlPlane, tenancy: Tenancy,
                                                 token_mode: None,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    token = control_plane.tokens["alice"]
    with caplog.at_level(logging.DEBUG):
        alice = signed_in(control_plane, "alice")
        responses = [alice.get(p) for p in ("/", f"/models/{tenancy.ns_a}/resident/",
                                            f"/models/{tenancy.ns_a}/resident/change/",
                                            "/static/kmm/kmm.js", "/api/models/")]
        bodies = [b"".join(r.streaming_content) if r.streaming else r.content
                  for r in responses]
        Client(HTTP_AUTHORIZATION=f"Bearer {token}x").get("/api/models/")
    record_attempt("token-leak/html-js", all(token.encode() not in b for b in bodies))
    record_attempt("token-leak/cookie", token not in alice.cookies["sessionid"].value)
    record_attempt("token-leak/logs", token not in caplog.text)


# --- proxy headers from untrusted addresses, the public endpoint ----------------------------

@pytest.mark.parametrize(("method", "path"), [
    ("get", "/?namespace={b}"), ("get", "/models/{b}/resident/"),
    ("post", "/delete-selected/"), ("delete", "/api/namespaces/{b}/models/resident/")])
def test_proxy_headers_from_untrusted_addresses_are_ignored(
        control_plane: ControlPlane, admin: kube.Caller, tenancy: Tenancy, settings: Any,
        method: str, path: str) -> None:
    settings.KMM_AUTH_MODE = "proxy"
    settings.KMM_PROXY_TRUSTED_CIDRS = ["127.0.0.1/32"]
    forger = Client(HTTP_X_FORWARDED_USER="admin", HTTP_X_FORWARDED_GROUPS="kmm-test-admins",
                    REMOTE_ADDR="10.9.8.7", HTTP_X_FORWARDED_FOR="127.0.0.1")
    url = path.format(b=tenancy.ns_b)
    attempt_forbidden(f"proxy/untrusted/{method}{path}", admin, tenancy,
                      lambda: getattr(forger, method)(url, {"selected": [f"{tenancy.ns_b}/resident"],
                                                           "confirm": "yes"}
                                                      if method == "post" else None),
                      lambda r: r.status_code == 401)


def test_the_public_endpoint_shows_published_fields_only(control_plane: ControlPlane,
                                                         admin: kube.Caller, namespace: str,
                                                         cache: Any) -> None:
    secret = "sk-do-not-publish-123"
    model = make_model(namespace, "leaky", env={"HF_TOKEN": secret}, args=[secret],
                       owner=secret, files=[{"path": "/s", "content": secret}])
    model["metadata"]["annotations"] = {PUBLISH_ANNOTATION: "true", "internal": secret}
    model["metadata"]["labels"] = {"cost-center": "cc-123"}
    kube.create_model(admin, model)
    hidden = make_model(namespace, "unpublished-model")
    kube.create_model(admin, hidden)
    wait_for_cache(admin, namespace)
    body = Client().get("/public/api/models", HTTP_ACCEPT="application/json").content.decode()
    record_attempt("public/secrets", secret not in body and namespace not in body
                   and "cc-123" not in body)
    record_attempt("public/unpublished", "unpublished-model" not in body)


# --- names and bounded bodies, counted ------------------------------------------------------

@pytest.mark.parametrize("path", ["/models/{a}/%2E/", "/models/%2E%2E/%2E%2E/",
                                  "/models/{a}/%2E%2E/delete/", "/models/{a}/UPPER/change/"])
def test_invalid_names_are_refused_before_any_call(control_plane: ControlPlane,
                                                   admin: kube.Caller, tenancy: Tenancy,
                                                   settings: Any, path: str) -> None:
    settings.KMM_AUTH_MODE = "none"
    url = path.format(a=tenancy.ns_a)
    attempt_forbidden(f"names/none{path}", admin, tenancy,
                      lambda: Client().post(url) if "delete" in url else Client().get(url),
                      lambda r: r.status_code == 404)


def test_oversized_bodies_are_refused(control_plane: ControlPlane, admin: kube.Caller,
                                      tenancy: Tenancy, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    api = f"/api/namespaces/{tenancy.ns_a}/models/"
    attempt_forbidden("dos/json-nesting", admin, tenancy,
                      lambda: Client().post(api, b"[" * 100_000, content_type="application/json"),
                      lambda r: r.status_code == 400)
    attempt_forbidden("dos/yaml-aliases", admin, tenancy,
                      lambda: Client().post("/add/?mode=yaml", {"text": yaml_bomb()}),
                      lambda r: r.status_code == 400 and b"anchors and aliases" in r.content)
