"""The resource profiles this cluster's KubeAI defines, for the Model form."""

from __future__ import annotations

from django import forms

import kube

FORM_CONFIG_WAIT_SECONDS = 1.0


def cluster_profiles() -> list[str] | None:
    """Profile names from KubeAI's system config; None when kmm cannot read it (then the
    form falls back to suggestions and the API server stays the judge)."""
    from console.diagnosis import system_config

    try:
        config, _ = system_config(wait=FORM_CONFIG_WAIT_SECONDS)
    except kube.KubeError:
        return None
    return sorted(config.profiles) if config is not None else None


def cluster_profile_field(field: forms.Field, current: str | None) -> list[str] | None:
    """Turn the profile field into a choice of the cluster's profiles (keeping a current
    value it does not define, marked, so an edit shows what is there); the known names."""
    names = cluster_profiles()
    if names is None:
        return None
    choices = [("", "— none —")] + [(n, n) for n in names]
    if current and current not in names:
        choices.append((current, f"{current} (not defined in KubeAI's config)"))
    field.widget = forms.Select(choices=choices)
    return names


def unknown_profile_message(profile: str, names: list[str]) -> str:
    return (f"Unknown resource profile “{profile}”: this cluster's KubeAI defines "
            f"{', '.join(names) or 'no profiles'}.")
