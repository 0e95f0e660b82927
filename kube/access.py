"""Who a caller is, and what they may do (SelfSubjectReview, SelfSubjectAccessReview)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from kubernetes import client

from kube import errors
from kube.calls import call
from kube.cluster import Caller, Cluster, Identity

MODELS = "models.kubeai.org"


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
          namespace: str | None = None) -> bool:
    """Whether the API server's authorizer allows this caller `verb` on `resource`."""
    attributes = {"verb": verb, "resource": resource, "group": group}
    if namespace:
        attributes["namespace"] = namespace
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes}}
    review = call(caller,
                  client.AuthorizationV1Api(caller.api).create_self_subject_access_review, body,
                  verb="create", resource="selfsubjectaccessreviews.authorization.k8s.io",
                  raw=True)
    return bool((review.get("status") or {}).get("allowed"))


ACCESS_CACHE_SECONDS = 30.0
_answers: dict[tuple[str, str, str, str, str], tuple[float, bool]] = {}
_answers_lock = threading.Lock()


def allowed(caller: Caller, verb: str, namespace: str | None = None,
            resource: str = "models", group: str = "kubeai.org") -> bool:
    """can_i, remembered for ACCESS_CACHE_SECONDS per identity (RBAC changes show up soon)."""
    key = (caller.identity.pool_key, verb, namespace or "", resource, group)
    now = time.monotonic()
    with _answers_lock:
        hit = _answers.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    answer = can_i(caller, verb, resource, group, namespace)
    with _answers_lock:
        if len(_answers) > 50_000:
            _answers.clear()
        _answers[key] = (now + ACCESS_CACHE_SECONDS, answer)
    return answer


def forget_access() -> None:
    """Drop remembered answers (tests that change RBAC call this)."""
    with _answers_lock:
        _answers.clear()


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
