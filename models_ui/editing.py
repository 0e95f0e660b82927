"""Saving a model safely: only what the operator changed is sent; real overlaps become a
reviewable conflict.

The edit page carries the object as it was loaded (`original`, signed so it
cannot be forged). The operator's change is the difference between the form as
it was shown (the form's own reading of the original, as a browser would send it
back untouched) and the form as submitted, compared with normalised line breaks:
a field they did not touch is never sent, whatever its value. The service layer
applies it three-way (`kube.apply_change`): a status write or a change to other
fields meanwhile does not block it; a change to the same field does. On such a
conflict the change is shown applied to the current object, and can be re-applied
to it, pinned to its resourceVersion.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import yaml
from django import forms
from django.core import signing
from django.forms.widgets import ChoiceWidget
from django.http import QueryDict

import kube
from kube.patch import apply_merge_patch
from models_ui.forms import ModelEditForm
from models_ui.yaml_form import YamlForm, editable_yaml
from modelspec.objects import strip_server_fields
from modelspec.schema import Node

Obj = dict[str, Any]
ORIGINAL_SALT = "kmm.models_ui.original"
REAPPLY_SALT = "kmm.models_ui.reapply"


def seal_original(obj: Obj) -> str:
    return signing.dumps(_editable(obj), salt=ORIGINAL_SALT, compress=True)


def open_original(token: str) -> Obj | None:
    try:
        value = signing.loads(token, salt=ORIGINAL_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, dict) else None


def _editable(obj: Obj) -> Obj:
    return strip_server_fields(obj, keep=("metadata.resourceVersion",))


def create(caller: kube.Caller, desired: Obj) -> Obj:
    """Dry-run, then create: the API server's verdict arrives before anything is stored."""
    kube.create_model(caller, desired, dry_run=True)
    return kube.create_model(caller, desired)


def change_of(form: ModelEditForm | YamlForm, original: Obj) -> Obj:
    """The operator's change to `original`, as a merge patch (see the module's docstring).

    `form` is bound and valid."""
    if isinstance(form, YamlForm):
        shown = yaml.safe_load(editable_yaml(original))
        return kube.user_change(shown, form.cleaned_data["text"], original)
    return kube.user_change(form_as_shown(original, form.model), form.to_object(), original)


def form_as_shown(original: Obj, model: Node) -> Obj:
    """What the edit form turns `original` into when it is submitted untouched."""
    data = QueryDict(mutable=True)
    shown = ModelEditForm(base=original, model=model)
    _as_sent(shown, data)
    for formset in shown.formsets.values():
        _as_sent(formset.management_form, data)
        for row in formset.forms:
            _as_sent(row, data)
    untouched = ModelEditForm(data, base=original, model=model)
    untouched.full_clean()  # what did not clean keeps its stored value, as on a real save
    return untouched.to_object()


TEXT_INPUTS = ("text", "search", "url", "tel", "email", "password")


def _as_sent(form: forms.Form, data: QueryDict) -> None:
    """Add what a browser sends for `form` rendered with its initial values (HTML's rules:
    unticked boxes and disabled fields are absent, a select sends a listed option, a
    one-line input drops line breaks)."""
    for bound in form:
        widget, value = bound.field.widget, bound.value()
        if bound.field.disabled:
            continue
        if isinstance(widget, forms.CheckboxInput):
            if widget.check_test(value):
                data[bound.html_name] = "on"
        elif isinstance(widget, ChoiceWidget):
            offered = [str(choice) for choice, _ in widget.choices]
            picked = [v for v in widget.format_value(value) if v in offered]
            if not widget.allow_multiple_selected:
                picked = picked[:1] or offered[:1]
            data.setlist(bound.html_name, picked)
        else:
            text = str(widget.format_value(value) or "")
            if getattr(widget, "input_type", None) in TEXT_INPUTS:
                text = text.replace("\r", "").replace("\n", "")
            data[bound.html_name] = text


def update(caller: kube.Caller, original: Obj, change: Obj) -> kube.Applied:
    return kube.apply_change(caller, original, change)


@dataclass
class ConflictView:
    """What the conflict page shows: who changed what, and what saving now would do."""

    current: Obj
    theirs_diff: str
    result_diff: str
    reapply_token: str
    current_resource_version: str
    fields: list[str]


def conflict_view(original: Obj, patch: Obj, conflict: kube.Conflict) -> ConflictView:
    """The conflict page for `patch` (the operator's change to `original`); `conflict`
    carries the current object and the fields both sides changed."""
    current = conflict.current or {}
    proposed = apply_merge_patch(_editable(current), patch)
    metadata = current["metadata"]
    token = signing.dumps({"namespace": metadata["namespace"], "name": metadata["name"],
                           "patch": patch}, salt=REAPPLY_SALT, compress=True)
    return ConflictView(
        current=current,
        theirs_diff=diff(original, current, "as you loaded it", "as it is now"),
        result_diff=diff(current, proposed, "as it is now", "with your changes applied"),
        reapply_token=token,
        current_resource_version=str(metadata.get("resourceVersion", "")),
        fields=list(conflict.fields),
    )


def reapply(caller: kube.Caller, token: str, resource_version: str) -> Obj:
    """Apply the operator's change (from a conflict page) to the version they reviewed."""
    try:
        payload = signing.loads(token, salt=REAPPLY_SALT)
    except signing.BadSignature:
        raise kube.BadRequest("The change to re-apply is damaged; edit the model again.") from None
    args = (caller, payload["namespace"], payload["name"], payload["patch"])
    kube.patch_model(*args, resource_version=resource_version, dry_run=True)
    return kube.patch_model(*args, resource_version=resource_version)


def diff(before: Obj, after: Obj, before_label: str, after_label: str) -> str:
    lines = difflib.unified_diff(
        editable_yaml(_comparable(before)).splitlines(keepends=True),
        editable_yaml(_comparable(after)).splitlines(keepends=True),
        fromfile=before_label, tofile=after_label, n=2)
    return "".join(lines)


def _comparable(obj: Obj) -> Obj:
    return strip_server_fields(obj)
