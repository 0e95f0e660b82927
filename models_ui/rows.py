"""Repeating rows of the model form (args, env, envFrom, adapters, files, labels, annotations).

Each kind is a small Django form in a formset. Rows are added by htmx (the server
renders the next row and bumps TOTAL_FORMS out of band) and removed in the
browser; a removed or blank row is simply absent, so every row may be empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from models_ui.fields import formfield_for, help_text
from modelspec.schema import ADAPTER, FILE, SPEC

QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def validate_metadata_key(key: str) -> None:
    """A label or annotation key: an optional DNS prefix and a name of at most 63 characters."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
        raise ValidationError("The prefix before '/' must be a DNS subdomain, e.g. example.com.")
    if not name or len(name) > 63 or not QUALIFIED_NAME.match(name):
        raise ValidationError("Must be at most 63 characters: letters, digits, '-', '_' or '.', "
                              "starting and ending with a letter or digit.")


class RowForm(forms.Form):
    """A row that may be left blank (then it is skipped)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs["empty_permitted"] = True
        kwargs["use_required_attribute"] = False
        super().__init__(*args, **kwargs)


class ArgForm(RowForm):
    value = forms.CharField(label="Argument", required=False, strip=False)


class EnvForm(RowForm):
    name = forms.CharField(label="Name", required=False, max_length=253)
    value = forms.CharField(label="Value", required=False, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("value") and not data.get("name"):
            self.add_error("name", "Give the variable a name.")
        if data.get("name") and not ENV_NAME.match(data["name"]):
            self.add_error("name", "Letters, digits, '_', '-' or '.', not starting with a digit.")
        return data


class EnvFromForm(RowForm):
    kind = forms.ChoiceField(label="Source", choices=[("configMapRef", "ConfigMap"),
                                                      ("secretRef", "Secret")])
    name = forms.CharField(label="Name", required=False, max_length=253)
    prefix = forms.CharField(label="Prefix", required=False,
                             help_text=help_text(SPEC.child("envFrom").items.child("prefix")))  # type: ignore[union-attr]
    optional = forms.BooleanField(label="Optional", required=False)

    def has_changed(self) -> bool:
        # The source choice always has a value; a row counts once it names something.
        return bool(self.data.get(self.add_prefix("name")) or self.data.get(self.add_prefix("prefix")))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("name"):
            self.add_error("name", "Name the ConfigMap or Secret.")
        elif not DNS_SUBDOMAIN.match(data["name"]):
            self.add_error("name", "Must be a valid Kubernetes object name.")
        if "=" in (data.get("prefix") or ""):
            self.add_error("prefix", "May not contain '='.")
        return data


class AdapterForm(RowForm):
    name = formfield_for("name", root=ADAPTER)
    url = formfield_for("url", root=ADAPTER)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for field in ("name", "url"):
            if not data.get(field) and field not in self.errors:
                self.add_error(field, "This field is required.")
        return data


class FileForm(RowForm):
    path = formfield_for("path", root=FILE)
    content = forms.CharField(label="Content", required=False, strip=False,
                              max_length=FILE.child("content").max_length,
                              widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
                              help_text=help_text(FILE.child("content")))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("path") and "path" not in self.errors:
            self.add_error("path", "This field is required.")
        return data


class LabelForm(RowForm):
    key = forms.CharField(label="Key", required=False, validators=[validate_metadata_key])
    value = forms.CharField(label="Value", required=False, max_length=63)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("key") and "key" not in self.errors:
            self.add_error("key", "Give the label a key.")
        if data.get("value") and not LABEL_VALUE.match(data["value"]):
            self.add_error("value", "Letters, digits, '-', '_' or '.', starting and ending "
                                    "with a letter or digit.")
        return data


class AnnotationForm(RowForm):
    key = forms.CharField(label="Key", required=False, validators=[validate_metadata_key])
    value = forms.CharField(label="Value", required=False, strip=False,
                            widget=forms.Textarea(attrs={"rows": 1}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("key") and "key" not in self.errors:
            self.add_error("key", "Give the annotation a key.")
        return data


@dataclass(frozen=True)
class RowKind:
    """One kind of repeating row: its form, title and how rows map to the object."""

    prefix: str
    title: str
    form: type[RowForm]
    add_label: str
    help: str = ""
    max_rows: int = 1000

    @property
    def formset_class(self) -> type[forms.BaseFormSet]:  # type: ignore[type-arg]
        return forms.formset_factory(self.form, extra=0, max_num=self.max_rows,
                                     validate_max=True, absolute_max=self.max_rows)


ROW_KINDS: dict[str, RowKind] = {kind.prefix: kind for kind in (
    RowKind("args", "Arguments", ArgForm, "Add argument",
            help_text(SPEC.child("args"))),
    RowKind("env", "Environment variables", EnvForm, "Add variable",
            help_text(SPEC.child("env"))),
    RowKind("envFrom", "Environment from ConfigMaps and Secrets", EnvFromForm, "Add source",
            help_text(SPEC.child("envFrom"))),
    RowKind("adapters", "Adapters", AdapterForm, "Add adapter",
            "LoRA adapters served next to the model (VLLM only)."),
    RowKind("files", "Files", FileForm, "Add file", help_text(SPEC.child("files")),
            max_rows=SPEC.child("files").max_items or 10),
    RowKind("labels", "Labels", LabelForm, "Add label"),
    RowKind("annotations", "Annotations", AnnotationForm, "Add annotation"),
)}


def filled_rows(formset: forms.BaseFormSet) -> list[tuple[int, dict[str, Any]]]:  # type: ignore[type-arg]
    """(form index, cleaned data) of each row the operator filled in."""
    return [(index, form.cleaned_data) for index, form in enumerate(formset.forms)
            if form.has_changed() and form.cleaned_data]

