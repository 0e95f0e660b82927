"""Issue 11's findings that need the real API server: each test failed before its fix."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import Client, RequestFactory

import kube
from devcluster.controlplane import ControlPlane
from kmm import auth, auth_sessions, auth_throttle
from kube import access as kube_access
from kube import cluster as kube_cluster
from kube.cache import ModelCache
from kube.calls import API_ERRORS
from kube.watches import rbac_watch
from tests.chartkit import token_kubeconfig
from tests.conftest import eventually, kubectl, make_model, requests_served, wait_for_cache
from tests.consolekit import caught_up, install_cluster_objects, model_pod, running_status
from tests.rbac import record_attempt
from tests.test_security import yaml_bomb

pytestmark = pytest.mark.cluster


# --- finding 1: bounded work for YAML and JSON bodies -------------------------------------

def test_deeply_nested_json_is_a_json_400(control_plane: ControlPlane, namespace: str,
                                          settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    response = Client().post(f"/api/namespaces/{namespace}/models/", b"[" * 100_000,
                             content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_an_oversized_json_body_is_a_json_413(control_plane: ControlPlane, namespace: str,
                                              settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    model = make_model(namespace, "big", args=["x" * 1000] * 1100)
    response = Client().post(f"/api/namespaces/{namespace}/models/", model,
                             content_type="application/json")
    assert response.status_code == 413
    assert response.json()["detail"].startswith("The request body is larger than")


def test_the_yaml_bomb_is_refused_by_the_add_form(control_plane: ControlPlane, admin: kube.Caller,
                                                  namespace: str, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    response = Client().post("/add/?mode=yaml", {"text": yaml_bomb().replace("default", namespace)})
    assert response.status_code == 400
    assert "anchors and aliases" in response.content.decode()
    assert kube.list_models(admin, namespace) == []


# --- finding 2: one name validator before any call -----------------------------------------

@pytest.mark.parametrize("path", ["/models/{ns}/%2E/delete/", "/models/{ns}/%2E%2E/delete/",
                                  "/models/{ns}/./delete/"])
def test_dot_names_never_reach_the_api_server(control_plane: ControlPlane, admin: kube.Caller,
                                              namespace: str, settings: Any, path: str) -> None:
    settings.KMM_AUTH_MODE = "none"  # kmm's own identity here may delete whole collections
    kube.create_model(admin, make_model(namespace, "survivor"))
    response = Client().post(path.format(ns=namespace))
    assert response.status_code == 404
    assert [m["metadata"]["name"] for m in kube.list_models(admin, namespace)] == ["survivor"]


@pytest.mark.parametrize("action", ["/delete-selected/", "/console/scale-selected-to-zero/"])
def test_bulk_keys_are_checked_before_any_call(control_plane: ControlPlane, admin: kube.Caller,
                                               namespace: str, settings: Any,
                                               action: str) -> None:
    settings.KMM_AUTH_MODE = "none"
    kube.create_model(admin, make_model(namespace, "survivor", replicas=1))
    response = Client().post(action, {
        "selected": [f"{namespace}/.", f"{namespace}/..", f"../{namespace}",
                     f"{namespace}/Your session expired, sign in at evil.example"],
        "confirm": "yes"}, follow=True)
    page = response.content.decode()
    assert "4 of the selected entries were not model names" in page
    assert "session expired" not in page
    [survivor] = kube.list_models(admin, namespace)
    assert (survivor["metadata"]["name"], survivor["spec"]["replicas"]) == ("survivor", 1)


@pytest.mark.parametrize("path", ["/models/%2E%2E/%2E%2E/", "/models/ns/Your%20session%20expired"
                                  "%2C%20sign%20in%20at%20evil.example/", "/models/UPPER/m/",
                                  "/models/ns/" + "a" * 254 + "/", "/models/" + "n" * 64 + "/m/",
                                  "/?namespace=Your%20session%20expired"])
def test_invalid_names_are_a_404_that_does_not_echo(control_plane: ControlPlane, settings: Any,
                                                    path: str) -> None:
    settings.KMM_AUTH_MODE = "none"
    response = Client().get(path)
    assert response.status_code == 404
    assert b"session expired" not in response.content
    assert b"evil" not in response.content


def test_the_api_does_not_echo_invalid_names(control_plane: ControlPlane, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    response = Client().get("/api/namespaces/ns/models/Your%20session%20expired/")
    assert response.status_code == 404
    assert "session expired" not in response.json()["detail"]


# --- findings 6 and 7: one client address, atomic counts, no pool for unverified tokens ----

INGRESS = "10.0.0.1"  # only ever a REMOTE_ADDR value: no traffic leaves the test client


def unauthorized_calls() -> int:
    return API_ERRORS["401"]


def test_sign_in_throttling_counts_each_client_behind_the_ingress(
        control_plane: ControlPlane, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    settings.KMM_NUM_PROXIES = 1
    attacker = Client(REMOTE_ADDR=INGRESS, HTTP_X_FORWARDED_FOR="203.0.113.5")
    for _ in range(10):
        attacker.post("/signin/", {"token": "wrong"})
    assert attacker.post("/signin/", {"token": "wrong"}).status_code == 429
    # A forged left-hand entry is the client's own claim: still the same client.
    forger = Client(REMOTE_ADDR=INGRESS, HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.5")
    assert forger.post("/signin/", {"token": "wrong"}).status_code == 429
    colleague = Client(REMOTE_ADDR=INGRESS, HTTP_X_FORWARDED_FOR="198.51.100.7")
    response = colleague.post("/signin/", {"token": control_plane.tokens["bob"]})
    assert response.status_code == 302


def test_the_public_rate_limit_counts_each_consumer_behind_the_ingress(
        control_plane: ControlPlane, cache: ModelCache, settings: Any) -> None:
    settings.KMM_NUM_PROXIES = 1
    settings.KMM_PUBLIC_RATE = "2/min"

    def get(consumer: str) -> int:
        return Client(REMOTE_ADDR=INGRESS, HTTP_X_FORWARDED_FOR=consumer).get(
            "/public/api/models", HTTP_ACCEPT="application/json").status_code

    assert [get("203.0.113.5") for _ in range(3)] == [200, 200, 429]
    assert get("198.51.100.7") == 200


def test_parallel_bad_sign_ins_get_exactly_the_allowed_reviews(control_plane: ControlPlane,
                                                               settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    before = unauthorized_calls()

    def attempt(index: int) -> int:
        return Client(REMOTE_ADDR="127.0.0.77").post("/signin/", {"token": f"bad-{index}"}).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(attempt, range(60)))
    record_attempt("throttle/parallel-sign-ins", unauthorized_calls() - before == 10)
    assert codes.count(400) == 10
    assert codes.count(429) == 50


def test_random_bearer_tokens_are_throttled_and_never_pooled(control_plane: ControlPlane,
                                                             settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    cluster = kube.default_cluster()
    pooled = len(cluster._clients)
    before = unauthorized_calls()
    codes = [Client(REMOTE_ADDR="127.0.0.78", HTTP_AUTHORIZATION=f"Bearer {uuid.uuid4().hex}")
             .get("/api/models/").status_code for _ in range(200)]
    record_attempt("throttle/random-bearer-tokens",
                   unauthorized_calls() - before == auth_throttle.bearer_failures.limit)
    assert set(codes) == {401, 429}
    assert len(cluster._clients) == pooled
    # A refused token is remembered briefly: asking again costs no API-server call.
    auth_throttle.reset()
    again = Client(REMOTE_ADDR="127.0.0.79", HTTP_AUTHORIZATION="Bearer the-same-bad-one")
    assert [again.get("/api/models/").status_code for _ in range(5)] == [401] * 5
    assert unauthorized_calls() - before == auth_throttle.bearer_failures.limit + 1
    # Real users still get in.
    bob = Client(REMOTE_ADDR="127.0.0.78", HTTP_AUTHORIZATION=f"Bearer {control_plane.tokens['bob']}")
    assert bob.get("/api/models/").status_code == 200


def test_evicting_a_pooled_client_never_closes_it(control_plane: ControlPlane,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kube_cluster, "MAX_POOLED_CLIENTS", 2)
    cluster = kube.Cluster.from_kubeconfig(control_plane.kubeconfig)
    try:
        in_use = cluster.as_token(control_plane.tokens["bob"])
        held = in_use.api
        kube.who_am_i(in_use)
        assert held.rest_client.pool_manager.pools
        for user in ("alice", "eve", "admin"):  # pushes bob's client out of the pool
            kube.who_am_i(cluster.as_token(control_plane.tokens[user]))
        assert held not in cluster._clients.values()
        assert held.rest_client.pool_manager.pools, "the evicted client was closed"
        assert kube.who_am_i(in_use).user == "bob"
    finally:
        cluster.close()


# --- finding 9 and issue 14 item 2: access answers ------------------------------------------

def grant_list(namespace: str, user: str) -> None:
    kubectl("create", "role", "lister", "-n", namespace, "--verb=list,get",
            "--resource=models.kubeai.org")
    kubectl("create", "rolebinding", "lister", "-n", namespace, "--role=lister", f"--user={user}")


def test_a_refusal_from_the_api_server_drops_remembered_access_at_once(
        control_plane: ControlPlane, admin: kube.Caller, namespace: str, cache: ModelCache,
        settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    kube.create_model(admin, make_model(namespace, "m1"))
    grant_list(namespace, "eve")
    eve = Client(HTTP_AUTHORIZATION=f"Bearer {control_plane.tokens['eve']}")
    assert eventually(lambda: eve.get(f"/api/namespaces/{namespace}/models/").status_code == 200, 5)
    kubectl("delete", "rolebinding", "lister", "-n", namespace)
    # Any call the API server refuses (here a single read, once RBAC caught up) ...
    assert eventually(lambda: eve.get(f"/api/namespaces/{namespace}/models/m1/").status_code
                      == 403, 10)
    # ... drops what kmm remembered for eve: the list from the cache is refused right away.
    assert eve.get(f"/api/namespaces/{namespace}/models/").status_code == 403


def proxied(settings: Any, user: str) -> Client:
    settings.KMM_AUTH_MODE = "proxy"
    settings.KMM_PROXY_TRUSTED_CIDRS = ["127.0.0.1/32"]
    return Client(HTTP_X_FORWARDED_USER=user, REMOTE_ADDR="127.0.0.1")


def access_reviews_served() -> int:
    return requests_served("selfsubjectaccessreviews")


def test_a_right_revoked_in_rbac_ends_at_once_though_answers_are_remembered_long(
        control_plane: ControlPlane, admin: kube.Caller, namespace: str, cache: ModelCache,
        settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Short bounds, so the test shows quickly that answers outlive them.
    monkeypatch.setattr(kube_access, "ACCESS_CACHE_SECONDS", 0.5)
    monkeypatch.setattr(kube_access, "RBAC_SETTLE_SECONDS", 0.5)
    kube.create_model(admin, make_model(namespace, "m1"))
    wait_for_cache(admin, namespace)
    grant_list(namespace, "carol")
    carol = proxied(settings, "carol")
    models = f"/api/namespaces/{namespace}/models/"  # served from the watch cache
    assert eventually(lambda: carol.get(models).status_code == 200, 5)
    time.sleep(1.0)
    carol.get(models)  # asked again if the first answer came while RBAC settled
    asked = access_reviews_served()
    time.sleep(1.0)  # twice ACCESS_CACHE_SECONDS
    assert [carol.get(models).status_code for _ in range(5)] == [200] * 5
    assert access_reviews_served() == asked, "kmm watches RBAC: nothing to ask again"
    kubectl("delete", "rolebinding", "lister", "-n", namespace)
    assert eventually(lambda: carol.get(models).status_code == 403, 3)


def test_a_right_granted_in_rbac_shows_at_once(
        control_plane: ControlPlane, admin: kube.Caller, namespace: str, cache: ModelCache,
        settings: Any) -> None:
    kube.create_model(admin, make_model(namespace, "m1"))
    wait_for_cache(admin, namespace)
    dave = proxied(settings, "dave")
    models = f"/api/namespaces/{namespace}/models/"
    assert dave.get(models).status_code == 403
    grant_list(namespace, "dave")
    # Sooner than ACCESS_CACHE_SECONDS would allow: the RBAC watch dropped the old answer.
    assert eventually(lambda: dave.get(models).status_code == 200,
                      kube_access.ACCESS_CACHE_SECONDS - 2)


def test_when_kmm_may_not_watch_rbac_answers_last_the_short_memo(
        control_plane: ControlPlane, namespace: str, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    # kmm's own identity: a ServiceAccount with no rights (a hand-made kubeconfig).
    for account in ("kmm-no-rbac", "reader"):
        kubectl("create", "serviceaccount", account, "-n", namespace)
    restricted = kube.Cluster.from_kubeconfig(token_kubeconfig(
        kubectl("create", "token", "kmm-no-rbac", "-n", namespace).strip(),
        tmp_path / "kmm.kubeconfig"))
    monkeypatch.setattr(kube_cluster, "_default", restricted)
    grant_list(namespace, f"system:serviceaccount:{namespace}:reader")
    reader = restricted.as_token(kubectl("create", "token", "reader", "-n", namespace).strip())
    assert eventually(lambda: kube.allowed(reader, "list", namespace),
                      kube_access.ACCESS_CACHE_SECONDS + 3)
    asked_at, asked = time.monotonic(), access_reviews_served()
    watch = rbac_watch(restricted)
    assert watch is not None
    assert not watch.healthy
    assert "forbidden" in watch.problem.lower()
    assert kube.allowed(reader, "list", namespace)
    assert access_reviews_served() == asked  # remembered ...
    time.sleep(max(0.0, asked_at + kube_access.ACCESS_CACHE_SECONDS + 0.2 - time.monotonic()))
    assert kube.allowed(reader, "list", namespace)
    assert access_reviews_served() == asked + 1  # ... for ACCESS_CACHE_SECONDS only
    kubectl("delete", "rolebinding", "lister", "-n", namespace)
    assert eventually(lambda: not kube.allowed(reader, "list", namespace),
                      kube_access.ACCESS_CACHE_SECONDS + 3)


def test_cache_pages_keep_working_from_the_last_access_answer_when_the_api_server_is_down(
        control_plane: ControlPlane, admin: kube.Caller, namespace: str, cache: ModelCache,
        settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings.KMM_AUTH_MODE = "proxy"
    settings.KMM_PROXY_TRUSTED_CIDRS = ["127.0.0.1/32"]
    kube.create_model(admin, make_model(namespace, "m1"))
    wait_for_cache(admin, namespace)
    grant_list(namespace, "carol")
    carol = Client(HTTP_X_FORWARDED_USER="carol", REMOTE_ADDR="127.0.0.1")
    monkeypatch.setattr(kube_access, "ACCESS_CACHE_SECONDS", 0.0)  # every answer is re-asked
    assert eventually(lambda: carol.get("/", {"namespace": namespace}).status_code == 200, 5)
    # The API server becomes unreachable for requests (a closed loopback port); the watch
    # cache keeps what it has.
    down = tmp_path / "kubeconfig"
    down.write_text(re.sub(r"server: \S+", "server: https://127.0.0.1:1",
                           control_plane.kubeconfig.read_text()))
    monkeypatch.setattr(kube_cluster, "_default", kube.Cluster.from_kubeconfig(down))
    page = carol.get("/", {"namespace": namespace})
    assert page.status_code == 200
    assert "m1" in {row.name for row in page.context["cl"].rows}
    assert "The Kubernetes API server cannot be reached" in page.content.decode()
    assert page["Warning"].startswith('110 kmm "Response is Stale')
    api = carol.get(f"/api/namespaces/{namespace}/models/")
    assert api.status_code == 200
    # Never asked before: no answer to fall back on.
    assert carol.get("/", {"namespace": "never-asked"}).status_code == 503


# --- finding 8: versions from what the caller may see ---------------------------------------

def test_etags_and_list_versions_ignore_namespaces_the_caller_cannot_see(
        control_plane: ControlPlane, admin: kube.Caller, namespace: str, cache: ModelCache,
        settings: Any) -> None:
    settings.KMM_AUTH_MODE = "proxy"
    settings.KMM_PROXY_TRUSTED_CIDRS = ["127.0.0.1/32"]
    hidden = f"{namespace}-hidden"
    kube.create_namespace(admin, hidden)
    kube.create_model(admin, make_model(namespace, "seen"))
    kube.create_model(admin, make_model(hidden, "unseen"))
    grant_list(namespace, "dave")
    dave = Client(HTTP_X_FORWARDED_USER="dave", REMOTE_ADDR="127.0.0.1")
    wait_for_cache(admin, namespace)
    wait_for_cache(admin, hidden)

    def seen() -> tuple[str, str, str]:
        page = dave.get("/", {"namespace": namespace})
        everywhere = dave.get("/")
        api = dave.get("/api/models/").json()
        return page["ETag"], everywhere["ETag"], api["metadata"]["resourceVersion"]

    assert eventually(lambda: dave.get("/api/models/").status_code == 200, 5)
    before = seen()
    kube.patch_model(admin, hidden, "unseen", {"spec": {"owner": "elsewhere"}})
    wait_for_cache(admin, hidden)
    assert seen() == before
    kube.patch_model(admin, namespace, "seen", {"spec": {"owner": "here"}})
    wait_for_cache(admin, namespace)
    after = seen()
    assert all(a != b for a, b in zip(after, before, strict=True))


def test_the_console_panels_etag_ignores_namespaces_the_caller_cannot_see(
        control_plane: ControlPlane, admin: kube.Caller, namespace: str, cache: ModelCache,
        settings: Any) -> None:
    install_cluster_objects(admin)
    hidden = f"{namespace}-hidden"
    kube.create_namespace(admin, hidden)
    for where, name in ((namespace, "seen"), (hidden, "unseen")):
        kube.create_model(admin, make_model(where, name, resourceProfile="cpu:1", replicas=1))
        wait_for_cache(admin, where)
    kubectl("create", "role", "viewer", "-n", namespace, "--verb=get,list",
            "--resource=models.kubeai.org,pods,events")
    kubectl("create", "rolebinding", "viewer", "-n", namespace, "--role=viewer", "--user=erin")
    erin = proxied(settings, "erin")
    panel = f"/console/models/{namespace}/seen/panel/"
    assert eventually(lambda: erin.get(panel, HTTP_HX_REQUEST="true").status_code == 200, 5)
    before = erin.get(panel, HTTP_HX_REQUEST="true")["ETag"]
    # Pods, events and models change where erin may not look: her panel does not.
    model_pod(admin, hidden, "unseen", status=running_status(ready=False), node="kmm-cpu-1")
    caught_up(admin, hidden)
    kube.patch_model(admin, hidden, "unseen", {"spec": {"owner": "elsewhere"}})
    wait_for_cache(admin, hidden)
    assert erin.get(panel, HTTP_HX_REQUEST="true", HTTP_IF_NONE_MATCH=before).status_code == 304
    # A pod of her model: it does.
    model_pod(admin, namespace, "seen", status=running_status(ready=False), node="kmm-cpu-1")
    caught_up(admin, namespace)
    changed = erin.get(panel, HTTP_HX_REQUEST="true", HTTP_IF_NONE_MATCH=before)
    assert changed.status_code == 200
    assert changed["ETag"] != before
    assert "Starting: 1 of 1 pod running" in changed.content.decode()


# --- finding 4: sessions end at sign-out everywhere, and sooner -----------------------------

def test_a_session_cookie_replayed_after_sign_out_is_refused_on_every_replica(
        control_plane: ControlPlane, namespace: str, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    settings.KMM_REVOCATION_NAMESPACE = namespace
    browser = Client()
    assert browser.post("/signin/", {"token": control_plane.tokens["bob"]}).status_code == 302
    copied = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert browser.post("/signout/").status_code == 302
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = copied
    record_attempt("session/replay-after-sign-out", thief.get("/").status_code == 302)
    # Another replica: its own copy of the record is empty until it reads the ConfigMap.
    auth_sessions.revoked.forget_local()
    thief.cookies[settings.SESSION_COOKIE_NAME] = copied
    response = thief.get("/")
    record_attempt("session/replay-on-another-replica", response.status_code == 302
                   and response["Location"].startswith("/signin/"))


def test_sessions_are_shorter_and_slide() -> None:
    from django.conf import settings

    assert settings.SESSION_COOKIE_AGE <= 3600
    assert settings.KMM_SESSION_MAX_SECONDS <= 12 * 3600


def test_a_401_from_the_api_server_ends_the_session_at_once(
        control_plane: ControlPlane, admin: kube.Caller, namespace: str, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    settings.KMM_REVOCATION_NAMESPACE = namespace
    kubectl("create", "serviceaccount", "brief", "-n", namespace)
    token = kubectl("create", "token", "brief", "-n", namespace).strip()
    browser = Client()
    assert browser.post("/signin/", {"token": token}).status_code == 302
    kubectl("delete", "serviceaccount", "brief", "-n", namespace)
    # Once the API server refuses the token anywhere (here a page that asks it) ...
    assert eventually(lambda: kube_access.token_rejected(kube.default_cluster().as_token(token)
                                                         .identity)
                      or browser.get(f"/models/{namespace}/nothing/").status_code == 302, 30)
    # ... pages that would only read the cache end the session too.
    record_attempt("session/after-401", browser.get("/").status_code == 302)


def realistic_oidc_token(claims_bytes: int) -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"k1"}').rstrip(b"=").decode()
    groups = [f"org:team-{i:03d}-platform-engineering" for i in range(40)]
    payload = json.dumps({"iss": "https://idp.example.com", "sub": "u" * 36, "aud": "kmm",
                          "email": "someone@example.com", "groups": groups,
                          "pad": secrets.token_urlsafe(max(0, claims_bytes - 1500))}).encode()
    body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    return f"{header}.{body}.{secrets.token_urlsafe(256)}"


@pytest.mark.parametrize("claims", [1500, 2200])
def test_a_realistic_oidc_session_cookie_stays_under_4_kb(claims: int, settings: Any) -> None:
    token = realistic_oidc_token(claims)
    request = RequestFactory().get("/")
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    auth.remember_token(request, token, kube.UserInfo("someone@example.com", ("g",) * 40))
    assert auth_sessions.cookie_bytes(request.session) < 4000


def test_a_token_too_large_for_a_cookie_is_a_clear_error(control_plane: ControlPlane,
                                                         settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    huge = realistic_oidc_token(6000)
    request = RequestFactory().get("/")
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    with pytest.raises(auth_sessions.CookieTooLarge):
        auth.remember_token(request, huge, kube.UserInfo("someone", ()))
    assert dict(request.session) == {}
