"""Switching between the Form and YAML tabs without losing what was typed.

The tabs are submit buttons of the open form: the server turns the posted, unsaved
values into the other representation and renders it, still unsaved. Form → YAML
keeps a value that does not parse (`maxReplicas: abc`) as text, so the YAML tab
shows it and its checks point at its line; YAML → form refuses, with the reason,
only what the form cannot show (broken YAML, fields the form does not have).
"""

from __future__ import annotations

from typing import Any

import yaml
from django import forms

from models_ui.forms import ModelEditForm
from models_ui.yaml_form import YamlForm

Obj = dict[str, Any]


def _keep_raw_values(form: forms.Form) -> None:
    """Let a form with errors describe its values anyway: each field that did not clean
    keeps the text as typed."""
    for name in form.errors:
        if name in form.fields and not form.fields[name].disabled:
            form.cleaned_data[name] = form[name].value()


def draft_from_form(form: ModelEditForm) -> Obj:
    """The object the bound form's unsaved values describe (no rule is checked here)."""
    _keep_raw_values(form)
    for formset in form.formsets.values():
        for row in formset.forms:
            _keep_raw_values(row)
    return form.to_object()


def to_yaml_tab(form: ModelEditForm, *, base: Obj | None, namespace: str) -> YamlForm:
    return YamlForm(base=base, namespace=namespace, model=form.model,
                    start=draft_from_form(form))


def to_form_tab(form: YamlForm, *, base: Obj | None, namespace: str) -> ModelEditForm | None:
    """The form tab showing the YAML's values, or None (and an error on the YAML field)
    when the form could not show them all."""
    text = str(form.data.get("text", ""))
    form.full_clean()  # errors can only be added to a cleaned form
    try:
        draft = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        form.add_error("text", f"The YAML cannot be read, so the form cannot show it: {exc}")
        return None
    problem = _unshowable(draft, base, form.model.child("spec").properties)
    if problem:
        form.add_error("text", f"{problem} Keep editing here, or fix it before switching; "
                               "nothing was lost.")
        return None
    assert isinstance(draft, dict)
    metadata = draft.setdefault("metadata", {})
    metadata.setdefault("name", "")
    metadata.setdefault("namespace", namespace)
    try:
        return ModelEditForm(base=base, namespace=namespace, model=form.model, start=draft)
    except (TypeError, ValueError, AttributeError, KeyError):
        form.add_error("text", "The form cannot show this YAML (a value has the wrong type). "
                               "Keep editing here, or fix it before switching.")
        return None


def _unshowable(draft: Any, base: Obj | None, known: Any) -> str:
    if not isinstance(draft, dict):
        return "The YAML is not a Model (a mapping), so the form cannot show it."
    if not isinstance(draft.get("metadata", {}), dict) or not isinstance(draft.get("spec", {}),
                                                                          dict):
        return "metadata and spec must be mappings for the form to show them."
    spec, stored = draft.get("spec") or {}, ((base or {}).get("spec") or {})
    unknown = sorted(key for key in spec if key not in known
                     and spec[key] != stored.get(key))
    if unknown:
        return ("The form has no field for " + ", ".join(f"spec.{key}" for key in unknown)
                + ", so switching would drop it.")
    return ""
