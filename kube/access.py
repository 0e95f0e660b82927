"""Who a caller is, and what they may do (SelfSubjectReview, SelfSubjectAccessReview)."""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client

from kube.calls import call
from kube.cluster import Caller


@dataclass(frozen=True)
class UserInfo:
    user: str
    groups: tuple[str, ...]


def who_am_i(caller: Caller) -> UserInfo:
    """The identity the API server sees for this caller (authentication.k8s.io/v1)."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    review = call(caller, client.AuthenticationV1Api(caller.api).create_self_subject_review, body,
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
