"""Real RBAC on the local control plane for the security tests.

alice may edit models in ns-a only; bob may view models in all namespaces; eve
has nothing; admin has everything (system:masters). Every forbidden attempt a
test makes is counted, and the count is printed at the end of the run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import kube
from tests.conftest import kubectl, make_model, wait_for_cache

MODEL_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
ADMINS_GROUP = "kmm-test-admins"  # bound to cluster-admin; listed in KMM_PROXY_ALLOWED_GROUPS


@dataclass(frozen=True)
class Tenancy:
    ns_a: str
    ns_b: str


forbidden_attempts: list[str] = []
forbidden_successes: list[str] = []
# Each attempt's category: the first part of its label ("api/token/eve/delete" -> "api").
CATEGORIES = ("api", "ui", "htmx", "bulk", "names", "xss", "csrf", "redirect", "host",
              "cookie", "token-leak", "proxy", "public", "dos", "debug", "session", "throttle")


def record_attempt(label: str, refused: bool) -> None:
    """Count an attempt that cannot change the cluster (XSS, redirects, headers...)."""
    forbidden_attempts.append(label)
    if not refused:
        forbidden_successes.append(label)
    assert refused, f"{label}: not refused"


def by_category() -> dict[str, int]:
    counts: dict[str, int] = {}
    for label in forbidden_attempts:
        category = label.split("/", 1)[0]
        counts[category] = counts.get(category, 0) + 1
    return counts


def setup_tenancy(admin: kube.Caller) -> Tenancy:
    suffix = uuid.uuid4().hex[:6]
    tenancy = Tenancy(ns_a=f"ns-a-{suffix}", ns_b=f"ns-b-{suffix}")
    for namespace in (tenancy.ns_a, tenancy.ns_b):
        kube.create_namespace(admin, namespace)
        kube.create_model(admin, make_model(namespace, "resident"))
    rule = {"apiGroups": ["kubeai.org"], "resources": ["models"]}
    objects = [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "model-editor", "namespace": tenancy.ns_a},
         "rules": [{**rule, "verbs": MODEL_VERBS},
                   {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "alice-edits", "namespace": tenancy.ns_a},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": "model-editor"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                       "name": "alice"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": f"model-viewer-{suffix}"},
         "rules": [{**rule, "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": f"bob-views-{suffix}"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": f"model-viewer-{suffix}"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "kmm-test-admins"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "cluster-admin"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                       "name": ADMINS_GROUP}]},
    ]
    kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                  "items": objects}))
    kube.forget_access()
    for namespace in (tenancy.ns_a, tenancy.ns_b):
        wait_for_cache(admin, namespace)
    return tenancy


def snapshot(admin: kube.Caller, tenancy: Tenancy) -> list[tuple[str, str, str]]:
    """Every model in the two namespaces with its resourceVersion, as the admin sees it."""
    return sorted((m["metadata"]["namespace"], m["metadata"]["name"],
                   m["metadata"]["resourceVersion"])
                  for ns in (tenancy.ns_a, tenancy.ns_b) for m in kube.list_models(admin, ns))


def attempt_forbidden(label: str, admin: kube.Caller, tenancy: Tenancy,
                      action: Callable[[], Any], refused: Callable[[Any], bool]) -> None:
    """Run a forbidden action; it must be refused and leave the cluster unchanged."""
    before = snapshot(admin, tenancy)
    result = action()
    forbidden_attempts.append(label)
    unchanged = snapshot(admin, tenancy) == before
    if not (refused(result) and unchanged):
        forbidden_successes.append(label)
    assert refused(result), f"{label}: not refused ({result!r})"
    assert unchanged, f"{label}: the cluster changed"
