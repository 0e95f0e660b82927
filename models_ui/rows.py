"""Repeating rows of the model form: one `RowKind` per list or map of the object.

Each kind is a small Django form in a formset, tied to the object path it edits
("spec.args", "metadata.labels") and its shape, which says how stored values
become rows and rows become values again (`to_rows`, `from_rows`): the form
reads and writes every kind through these two, nowhere else. Rows are added by
htmx (the server renders the next row and bumps TOTAL_FORMS out of band) and
removed in the browser; a removed or blank row is simply absent, so every row
may be empty. Rows loaded from a list of objects carry `origin`, the index of the
stored item they show, so a save keeps that item's keys the form does not show
even when rows above it were deleted.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from models_ui.fields import formfield_for, help_text
from modelspec.listing import LISTING_FIELDS
from modelspec.names import LABEL_MAX_LENGTH, SUBDOMAIN_MAX_LENGTH, is_dns_subdomain
from modelspec.objects import get_path
from modelspec.schema import SPEC, Node

LISTING_KEYS = frozenset(f.key for f in LISTING_FIELDS)  # edited by the listing fields
# Annotations kmm does not offer for editing, but always keeps.
HIDDEN_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)

QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def validate_metadata_key(key: str) -> None:
    """A label or annotation key: an optional DNS prefix and a name of at most 63 characters."""
    prefix, _, name = key.rpartition("/")
    if prefix and not is_dns_subdomain(prefix):
        raise ValidationError("The prefix before '/' must be a DNS subdomain, e.g. example.com.")
    if not name or len(name) > LABEL_MAX_LENGTH or not QUALIFIED_NAME.match(name):
        raise ValidationError(f"Must be at most {LABEL_MAX_LENGTH} characters: letters, digits, "
                              "'-', '_' or '.', starting and ending with a letter or digit.")


class RowForm(forms.Form):
    """A row that may be left blank (then it is skipped)."""

    # Rows of a list of objects: which stored item the row was loaded from ("" for new rows).
    origin = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs["empty_permitted"] = True
        kwargs["use_required_attribute"] = False
        super().__init__(*args, **kwargs)

    def has_changed(self) -> bool:
        # Filled in means a visible field holds something; `origin` alone is not a row.
        return any(self.data.get(self.add_prefix(name)) for name in self.fields
                   if name != "origin")


class ArgForm(RowForm):
    value = forms.CharField(label="Argument", required=False, strip=False)


class EnvForm(RowForm):
    name = forms.CharField(label="Name", required=False, max_length=SUBDOMAIN_MAX_LENGTH)
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
    name = forms.CharField(label="Name", required=False, max_length=SUBDOMAIN_MAX_LENGTH)
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
        elif not is_dns_subdomain(data["name"]):
            self.add_error("name", "Must be a valid Kubernetes object name.")
        if "=" in (data.get("prefix") or ""):
            self.add_error("prefix", "May not contain '='.")
        return data


class LabelForm(RowForm):
    key = forms.CharField(label="Key", required=False, validators=[validate_metadata_key])
    value = forms.CharField(label="Value", required=False, max_length=LABEL_MAX_LENGTH)

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


def item_form(node: Node, name: str, may_be_empty: tuple[str, ...] = ()) -> type[RowForm]:
    """A row form for one item of a list of objects: a field per property of its schema."""
    shown = tuple(node.properties)

    def clean(self: RowForm) -> dict[str, Any]:
        data = forms.Form.clean(self) or {}
        for required in node.required:
            if required in may_be_empty:
                continue
            if not data.get(required) and required not in self.errors:
                self.add_error(required, "This field is required.")
        return data

    fields: dict[str, Any] = {prop: formfield_for(prop, root=node) for prop in shown}
    return type(name, (RowForm,), {**fields, "clean": clean, "shown": shown})


def _env_source_row(source: Mapping[str, Any]) -> dict[str, Any]:
    kind = "secretRef" if "secretRef" in source else "configMapRef"
    ref = source.get(kind) or {}
    return {"kind": kind, "name": ref.get("name", ""), "prefix": source.get("prefix", ""),
            "optional": bool(ref.get("optional"))}


def _env_source(row: Mapping[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    source = stored
    for kind in ("configMapRef", "secretRef"):
        if kind != row["kind"]:
            source.pop(kind, None)
    ref = dict(source.get(row["kind"]) or {})
    ref["name"] = row["name"]
    if row.get("optional"):
        ref["optional"] = True
    else:
        ref.pop("optional", None)
    source[row["kind"]] = ref
    if row.get("prefix"):
        source["prefix"] = row["prefix"]
    else:
        source.pop("prefix", None)
    return source


def _item_row(form: type[RowForm]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    shown = getattr(form, "shown", ())
    return lambda item: {name: item.get(name, "") for name in shown}


def _item_from_row(form: type[RowForm]) -> Callable[[Mapping[str, Any], dict[str, Any]],
                                                       dict[str, Any]]:
    shown = getattr(form, "shown", ())

    def write(row: Mapping[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
        stored.update({name: row[name] for name in shown})
        return stored
    return write


@dataclass(frozen=True)
class RowKind:
    """One kind of repeating row: its form, title, the object path it edits and its shape.

    shape "values": a list of strings, one `value` per row; "map": a string map, one
    `key_field`/`value` pair per row; "items": a list of objects, `item_row` turns a
    stored item into a row and `item_from_row(row, stored)` writes a row over the
    stored item it came from (a copy), keeping the keys the row does not show.
    """

    prefix: str
    path: str
    title: str
    form: type[RowForm]
    add_label: str
    shape: str
    help: str = ""
    max_rows: int = 1000
    key_field: str = "key"
    item_row: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    item_from_row: Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    # map keys not shown as rows, and kept as they are by a save
    hidden_keys: Callable[[str], bool] = field(default=lambda key: False)

    @property
    def formset_class(self) -> type[forms.BaseFormSet]:  # type: ignore[type-arg]
        return forms.formset_factory(self.form, extra=0, max_num=self.max_rows,
                                     validate_max=True, absolute_max=self.max_rows)

    def to_rows(self, obj: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows showing the value stored at `path` in `obj`."""
        value = get_path(obj, self.path)
        if self.shape == "values":
            return [{"value": v} for v in value or []]
        if self.shape == "map":
            return [{self.key_field: k, "value": v} for k, v in (value or {}).items()
                    if not self.hidden_keys(k)]
        assert self.item_row is not None
        return [{**self.item_row(item), "origin": str(index)}
                for index, item in enumerate(value or []) if isinstance(item, Mapping)]

    def from_rows(self, rows: list[Mapping[str, Any]], stored: Any) -> Any:
        """The value to store at `path` for these rows (`stored`: what is there now)."""
        if self.shape == "values":
            return [row["value"] for row in rows]
        if self.shape == "map":
            kept = {k: v for k, v in (stored or {}).items() if self.hidden_keys(k)}
            return {**kept, **{row[self.key_field]: row["value"] for row in rows}}
        assert self.item_from_row is not None
        items = stored if isinstance(stored, list) else []
        out = []
        for row in rows:
            origin = str(row.get("origin") or "")
            base = items[int(origin)] if origin.isdigit() and int(origin) < len(items) else {}
            out.append(self.item_from_row(row, copy.deepcopy(dict(base))))
        return out


def _spec_help(name: str) -> str:
    return help_text(SPEC.child(name))


AdapterForm = item_form(SPEC.child("adapters").items or Node("object"), "AdapterForm")
FileForm = item_form(SPEC.child("files").items or Node("object"), "FileForm",
                     may_be_empty=("content",))  # an empty file is a file
FileForm.base_fields["content"].widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false"})
FileForm.base_fields["content"].strip = False  # type: ignore[attr-defined]


def row_kind_for(path: str, node: Node, *, title: str = "", add_label: str = "",
                 help: str = "") -> RowKind:
    """The row kind a schema node gets when nothing more specific is declared."""
    prefix = path.rpartition(".")[2]
    title = title or node.label or prefix
    common: dict[str, Any] = {"help": help or help_text(node), "add_label": add_label or "Add"}
    if node.type == "array" and node.items is not None and node.items.type == "object":
        form = item_form(node.items, f"{prefix}RowForm")
        return RowKind(prefix, path, title, form, shape="items", item_row=_item_row(form),
                       item_from_row=_item_from_row(form), max_rows=node.max_items or 1000,
                       **common)
    if node.type == "array":
        return RowKind(prefix, path, title, ArgForm, shape="values", **common)
    return RowKind(prefix, path, title, EnvForm, shape="map", key_field="name", **common)


# Kinds declared here have a hand-made form; any other list or map of the spec gets one
# from row_kind_for (see models_ui.forms).
DECLARED_ROW_KINDS: dict[str, RowKind] = {kind.prefix: kind for kind in (
    RowKind("args", "spec.args", "Arguments", ArgForm, "Add argument", "values",
            _spec_help("args")),
    RowKind("env", "spec.env", "Environment variables", EnvForm, "Add variable", "map",
            _spec_help("env"), key_field="name"),
    RowKind("envFrom", "spec.envFrom", "Environment from ConfigMaps and Secrets", EnvFromForm,
            "Add source", "items", _spec_help("envFrom"), item_row=_env_source_row,
            item_from_row=_env_source),
    RowKind("adapters", "spec.adapters", "Adapters", AdapterForm, "Add adapter", "items",
            "LoRA adapters served next to the model (VLLM only).",
            item_row=_item_row(AdapterForm), item_from_row=_item_from_row(AdapterForm)),
    RowKind("files", "spec.files", "Files", FileForm, "Add file", "items", _spec_help("files"),
            max_rows=SPEC.child("files").max_items or 10, item_row=_item_row(FileForm),
            item_from_row=_item_from_row(FileForm)),
    RowKind("labels", "metadata.labels", "Labels", LabelForm, "Add label", "map"),
    RowKind("annotations", "metadata.annotations", "Annotations", AnnotationForm,
            "Add annotation", "map", hidden_keys=lambda key: key in HIDDEN_ANNOTATIONS
            or key in LISTING_KEYS),
)}


def filled_rows(formset: forms.BaseFormSet) -> list[tuple[int, dict[str, Any]]]:  # type: ignore[type-arg]
    """(form index, cleaned data) of each row the operator filled in."""
    return [(index, form.cleaned_data) for index, form in enumerate(formset.forms)
            if form.has_changed() and form.cleaned_data and not form.errors]
