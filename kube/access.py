"""Who a caller is, and what they may do (SelfSubjectReview, SelfSubjectAccessReview)."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from kube import errors
from kube.calls import TOKENS_ACCEPTED, call, token_accepted
from kube.cluster import Caller, Cluster, Identity
from kube.watches import RbacWatch, rbac_watch
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


# How long an access answer is remembered (per identity, verb, namespace and resource):
#
# - kmm's own identity watches RBAC (kube.watches.RbacWatch). Any change of a Role,
#   RoleBinding, ClusterRole or ClusterRoleBinding makes every remembered answer stale at
#   once (the watch's generation moves on), so a granted or revoked right shows on the next
#   request. While that watch is healthy, an answer is fresh for ACCESS_WATCHED_SECONDS:
#   the bound for what it cannot see, authorizers other than RBAC (a webhook, say). The API
#   server's RBAC authorizer follows RBAC through its own watch and may lag ours a moment:
#   an answer asked within RBAC_SETTLE_SECONDS of a change is kept only briefly.
# - When that watch is not running, not synced, forbidden, dropped or its thread died (or
#   the caller is on another cluster), an answer is fresh for ACCESS_CACHE_SECONDS.
# - RBAC does not cover authentication: a token can be revoked (its ServiceAccount deleted)
#   or expire with no RBAC change. For identities that carry a user's own token (token and
#   OIDC sign-in, bearer API clients) the token is re-checked at most every
#   TOKEN_LIVENESS_SECONDS: one SelfSubjectReview per identity, shared by all its answers
#   and pages, and none when a call with the token succeeded meanwhile
#   (kube.calls.TOKENS_ACCEPTED). kmm's own identity and proxy-mode users (the proxy
#   authenticates them; their rights are RBAC, which the watch covers) need no such check.
# - Any 401 or 403 from the API server drops the identity's answers at once
#   (forget_identity), and a 401 ends a token's session.
# - While the API server cannot be reached, the last answer serves up to
#   STALE_ACCESS_SECONDS, so pages that only read the watch cache keep working; the request
#   is marked stale (stale_age).
ACCESS_CACHE_SECONDS = 5.0
ACCESS_WATCHED_SECONDS = 300.0
RBAC_SETTLE_SECONDS = 2.0
TOKEN_LIVENESS_SECONDS = 10.0
STALE_ACCESS_SECONDS = 900.0
MAX_ANSWERS = 50_000
Key = tuple[str, str, str, str, str, str]


@dataclass(frozen=True)
class _Answer:
    checked_at: float  # time.monotonic()
    allowed: bool
    generation: int  # the RBAC watch's generation when asked; -1: no healthy watch then


_answers: dict[Key, _Answer] = {}
_answers_lock = threading.Lock()
_stale_age: ContextVar[float | None] = ContextVar("kmm_access_stale_age", default=None)
_rejected: dict[str, float] = {}  # identity pool key -> when the API server answered 401
_token_checks: dict[str, float] = {}  # identity pool key -> when its liveness check began


def allowed(caller: Caller, verb: str, namespace: str | None = None,
            resource: str = PLURAL, group: str = GROUP, subresource: str = "") -> bool:
    """can_i, remembered until RBAC changes (see above)."""
    key = (caller.identity.pool_key, verb, namespace or "", resource, group, subresource)
    now = time.monotonic()
    watch = rbac_watch(caller.cluster)
    with _answers_lock:
        hit = _answers.get(key)
    if hit is not None and _fresh(hit, now, watch):
        try:
            _check_token(caller, now)
        except errors.Unavailable:
            if (last := _last_known(hit, now)) is None:
                raise
            return last
        return hit.allowed
    generation = watch.generation if watch is not None and watch.healthy else -1
    try:
        answer = can_i(caller, verb, resource, group, namespace, subresource)
    except errors.Unavailable:
        if (last := _last_known(hit, now)) is None:
            raise
        return last
    with _answers_lock:
        if len(_answers) >= MAX_ANSWERS:
            _answers.clear()
        _answers[key] = _Answer(now, answer, generation)
    return answer


def _fresh(hit: _Answer, now: float, watch: RbacWatch | None) -> bool:
    age = now - hit.checked_at
    if watch is not None and watch.healthy:
        if hit.generation != watch.generation:
            return False  # RBAC changed since (or the answer predates the watch)
        if hit.checked_at - watch.changed_at >= RBAC_SETTLE_SECONDS:
            return age < ACCESS_WATCHED_SECONDS
    return age < ACCESS_CACHE_SECONDS


def _last_known(hit: _Answer | None, now: float) -> bool | None:
    """The last answer, while the API server cannot be reached (the request is marked
    stale); None when there is none young enough to serve."""
    if hit is None or now - hit.checked_at >= STALE_ACCESS_SECONDS:
        return None
    _stale_age.set(max(now - hit.checked_at, _stale_age.get() or 0.0))
    return hit.allowed


def _check_token(caller: Caller, now: float) -> None:
    """For a user's token not seen accepted within TOKEN_LIVENESS_SECONDS, ask the API
    server who it is: raises Unauthorized when it no longer accepts the token (and
    kube.calls forgets the identity), Unavailable when it cannot be asked."""
    identity = caller.identity
    if identity.kind != "token":
        return
    key = identity.pool_key
    if now - TOKENS_ACCEPTED.get(key, -math.inf) < TOKEN_LIVENESS_SECONDS:
        return
    with _answers_lock:
        began = _token_checks.get(key)
        if began is not None and now - began < TOKEN_LIVENESS_SECONDS:
            return  # another request of this identity is asking right now
        _token_checks[key] = now
    try:
        who_am_i(caller)  # success marks the token accepted (kube.calls.token_accepted)
    except errors.Forbidden:  # authenticated (a cluster that forbids SelfSubjectReview)
        token_accepted(caller)
    finally:
        with _answers_lock:
            _token_checks.pop(key, None)


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
            TOKENS_ACCEPTED.pop(prefix, None)
            if len(_rejected) >= MAX_ANSWERS:
                _rejected.clear()
            _rejected[prefix] = time.monotonic()


def token_rejected(identity: Identity) -> bool:
    """Whether the API server answered 401 to this identity in this process."""
    with _answers_lock:
        return identity.pool_key in _rejected


def forget_access() -> None:
    """Drop remembered answers and token checks (tests call this)."""
    with _answers_lock:
        _answers.clear()
        _rejected.clear()
        TOKENS_ACCEPTED.clear()


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
