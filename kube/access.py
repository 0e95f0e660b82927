"""Who a caller is, and what they may do (SelfSubjectReview, SelfSubjectAccessReview)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from kube import errors
from kube.calls import call
from kube.cluster import Caller, Cluster, Identity
from modelspec.schema import GROUP, PLURAL, RESOURCE

MODELS = RESOURCE


@dataclass(frozen=True)
class UserInfo:
    user: str
    groups: tuple[str, ...]


def who_am_i(caller: Caller) -> UserInfo:
    """The identity the API server sees for this caller (authentication.k8s.io/v1)."""
    return _self_subject_review(caller, caller.api)


def review_token(cluster: Cluster, token: str) -> UserInfo:
    """Who a bearer token is (kube.Unauthorized if nobody), on a one-off client: an
    unverified token never gets a pooled client, so random tokens cannot push real users'
    clients out of the pool."""
    identity = Identity("token", token=token)
    with cluster.unpooled(identity) as api:
        return _self_subject_review(Caller(cluster, identity), api)


def _self_subject_review(caller: Caller, api: client.ApiClient) -> UserInfo:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    review = call(caller, client.AuthenticationV1Api(api).create_self_subject_review, body,
                  verb="create", resource="selfsubjectreviews.authentication.k8s.io", raw=True)
    info = (review.get("status") or {}).get("userInfo") or {}
    return UserInfo(str(info.get("username", "")), tuple(info.get("groups") or ()))


def can_i(caller: Caller, verb: str, resource: str, group: str = "",
          namespace: str | None = None, subresource: str = "") -> bool:
    """Whether the API server's authorizer allows this caller `verb` on `resource`."""
    attributes = {"verb": verb, "resource": resource, "group": group}
    if namespace:
        attributes["namespace"] = namespace
    if subresource:
        attributes["subresource"] = subresource
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes}}
    review = call(caller,
                  client.AuthorizationV1Api(caller.api).create_self_subject_access_review, body,
                  verb="create", resource="selfsubjectaccessreviews.authorization.k8s.io",
                  raw=True)
    return bool((review.get("status") or {}).get("allowed"))


# An answer is fresh for ACCESS_CACHE_SECONDS (a revoked right stops working that soon, and
# at once after the API server refuses that identity anything: forget_identity). While the
# API server cannot be reached, the last answer serves up to STALE_ACCESS_SECONDS, so pages
# that only read the watch cache keep working; the request is marked stale (stale_age).
ACCESS_CACHE_SECONDS = 5.0
STALE_ACCESS_SECONDS = 900.0
MAX_ANSWERS = 50_000
Key = tuple[str, str, str, str, str, str]
_answers: dict[Key, tuple[float, bool]] = {}  # key -> (checked at, answer)
_answers_lock = threading.Lock()
_stale_age: ContextVar[float | None] = ContextVar("kmm_access_stale_age", default=None)
_rejected: dict[str, float] = {}  # identity pool key -> when the API server answered 401


def allowed(caller: Caller, verb: str, namespace: str | None = None,
            resource: str = PLURAL, group: str = GROUP, subresource: str = "") -> bool:
    """can_i, remembered for ACCESS_CACHE_SECONDS per identity (RBAC changes show up soon)."""
    key = (caller.identity.pool_key, verb, namespace or "", resource, group, subresource)
    now = time.monotonic()
    with _answers_lock:
        hit = _answers.get(key)
    if hit is not None and now - hit[0] < ACCESS_CACHE_SECONDS:
        return hit[1]
    try:
        answer = can_i(caller, verb, resource, group, namespace, subresource)
    except errors.Unavailable:
        if hit is None or now - hit[0] >= STALE_ACCESS_SECONDS:
            raise
        age = now - hit[0]
        _stale_age.set(max(age, _stale_age.get() or 0.0))
        return hit[1]
    with _answers_lock:
        if len(_answers) >= MAX_ANSWERS:
            _answers.clear()
        _answers[key] = (now, answer)
    return answer


def stale_age() -> float | None:
    """Seconds since the oldest last-known answer this request used, when the API server
    could not be asked (None: every answer was fresh)."""
    return _stale_age.get()


def begin_request() -> None:
    """Reset stale_age for a new request in this thread."""
    _stale_age.set(None)


def forget_identity(identity: Identity, unauthorized: bool = False) -> None:
    """The API server refused this identity something (401 or 403): its answers may be
    wrong now, so drop them. A 401 also marks the identity rejected (see token_rejected)."""
    prefix = identity.pool_key
    with _answers_lock:
        for key in [k for k in _answers if k[0] == prefix]:
            del _answers[key]
        if unauthorized:
            if len(_rejected) >= MAX_ANSWERS:
                _rejected.clear()
            _rejected[prefix] = time.monotonic()


def token_rejected(identity: Identity) -> bool:
    """Whether the API server answered 401 to this identity in this process."""
    with _answers_lock:
        return identity.pool_key in _rejected


def forget_access() -> None:
    """Drop remembered answers (tests that change RBAC call this)."""
    with _answers_lock:
        _answers.clear()
        _rejected.clear()


def visible_version(models: Iterable[Mapping[str, Any]]) -> str:
    """A version of exactly these models (their resourceVersions): it changes when one of
    them changes, appears or goes, and never with what the caller cannot see. ETags and
    list versions come from it, not from the cache's global counter."""
    digest = hashlib.sha256()
    for model in models:
        metadata = model.get("metadata") or {}
        digest.update(f"{metadata.get('namespace')}/{metadata.get('name')}@"
                      f"{metadata.get('resourceVersion')};".encode())
    return digest.hexdigest()[:20]


def listable_namespaces(caller: Caller, namespaces: Iterable[str]) -> list[str]:
    """The namespaces among `namespaces` in which the caller may list models: one review
    for "every namespace", else one per namespace (each remembered briefly)."""
    names = sorted(set(namespaces))
    if allowed(caller, "list"):
        return names
    return [ns for ns in names if allowed(caller, "list", ns)]


def require_list(caller: Caller, namespace: str) -> None:
    """Raise Forbidden unless the caller may list models in `namespace`."""
    if not allowed(caller, "list", namespace):
        raise errors.Forbidden(f"Forbidden: you may not list {MODELS} in namespace "
                               f"{namespace!r}.", verb="list", resource=MODELS,
                               namespace=namespace)
