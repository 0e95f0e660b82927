"""Which namespaces' models a caller may list, from the cluster's RBAC.

The watch cache runs with the app's identity, so lists served from it are cut
down to what the caller could list themselves: one access review for "list
models in every namespace", else one per namespace (kube.allowed remembers
each answer briefly per identity).
"""

from __future__ import annotations

from collections.abc import Iterable

import kube


def may_list(caller: kube.Caller, namespace: str | None = None) -> bool:
    """Whether the caller may list models in `namespace` (None: in every namespace)."""
    return kube.allowed(caller, "list", namespace)


def listable(caller: kube.Caller, namespaces: Iterable[str]) -> set[str]:
    """The namespaces among `namespaces` whose models the caller may list."""
    names = set(namespaces)
    if may_list(caller):
        return names
    return {ns for ns in names if may_list(caller, ns)}
