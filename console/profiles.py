"""The resource profiles this cluster's KubeAI defines, for the Model form."""

from __future__ import annotations

from typing import Any

import kube
from modelspec.errors import FieldError

FORM_CONFIG_WAIT_SECONDS = 5.0  # a cold process only: the watches are starting


def cluster_profiles() -> list[str] | None:
    """Profile names from KubeAI's system config; None when kmm cannot read it (then the
    form falls back to suggestions and the API server stays the judge)."""
    from console.diagnosis import system_config

    try:
        config, _ = system_config(wait=FORM_CONFIG_WAIT_SECONDS)
    except kube.KubeError:
        return None
    return sorted(config.profiles) if config is not None else None


def unknown_profile_message(profile: str, names: list[str]) -> str:
    return (f"Unknown resource profile “{profile}”: this cluster's KubeAI defines "
            f"{', '.join(names) or 'no profiles'}.")


def profile_problem(desired: dict[str, Any], base: dict[str, Any] | None) -> FieldError | None:
    """spec.resourceProfile names a profile KubeAI's config does not define (a model
    may keep the one it has)."""
    value = str((desired.get("spec") or {}).get("resourceProfile") or "")
    if not value:
        return None
    name = value.partition(":")[0]
    kept = str(((base or {}).get("spec") or {}).get("resourceProfile") or "").partition(":")[0]
    names = cluster_profiles()
    if names is None or name in names or (base is not None and name == kept):
        return None
    return FieldError("spec.resourceProfile", unknown_profile_message(name, names))
