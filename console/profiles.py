"""The resource profiles this cluster's KubeAI defines, for the Model form."""

from __future__ import annotations

import kube

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
