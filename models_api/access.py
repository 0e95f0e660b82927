"""Which namespaces' models a caller may list, from the cluster's RBAC.

The watch cache runs with the app's identity, so lists served from it are cut
down to what the caller could list themselves: one SelfSubjectAccessReview for
"list models in all namespaces", else one per namespace, each answer kept for
ACCESS_SECONDS per identity.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import kube
from modelspec.schema import GROUP, PLURAL

ACCESS_SECONDS = 30.0
MAX_ANSWERS = 50_000
_answers: dict[tuple[str, str], tuple[float, bool]] = {}
_lock = threading.Lock()


def may_list(caller: kube.Caller, namespace: str | None = None) -> bool:
    """Whether the caller may list models in `namespace` (None: in every namespace)."""
    key = (caller.identity.pool_key, namespace or "")
    now = time.monotonic()
    hit = _answers.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    answer = kube.can_i(caller, "list", PLURAL, GROUP, namespace)
    with _lock:
        if len(_answers) >= MAX_ANSWERS:
            _answers.clear()
        _answers[key] = (now + ACCESS_SECONDS, answer)
    return answer


def listable(caller: kube.Caller, namespaces: Iterable[str]) -> set[str]:
    """The namespaces among `namespaces` whose models the caller may list."""
    names = set(namespaces)
    if may_list(caller):
        return names
    return {ns for ns in names if may_list(caller, ns)}


def forget() -> None:
    with _lock:
        _answers.clear()
