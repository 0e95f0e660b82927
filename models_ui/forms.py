"""The Model form: Django fields derived from the schema, grouped like the admin's fieldsets.

`ModelEditForm(data, base=obj)` edits an existing object; `to_object()` returns the
desired object: `base` with exactly the fields this form shows replaced. Every
other field (unknown ones included) is carried over untouched, and the service
layer sends only the difference.

Everything the form knows about the Model comes from `modelspec`: which spec
fields it shows (`form_layout(spec)`: scalars as one field each, lists and maps
as rows, in the schema's sections), which are required, which are locked on
edit and why (`locked_fields`), and every rule (`modelspec.validation.validate`,
run in `clean()` on whatever could be read, so every error shows in one round).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.conf import settings

from console.profiles import cluster_profiles, unknown_profile_message
from models_ui.fields import field_name, formfield_for, help_text
from models_ui.rows import DECLARED_ROW_KINDS, RowKind, filled_rows, row_kind_for
from modelspec import names
from modelspec.errors import FieldError
from modelspec.listing import LISTING_FIELDS, PUBLISH_FIELD, ListingField, annotation_path
from modelspec.objects import get_path, has_path, remove_path, set_path
from modelspec.schema import API_VERSION, KIND, MODEL, SECTIONS, Node, locked_fields
from modelspec.validation import validate

Obj = dict[str, Any]

# Spec fields the form edits with fields of its own (not one field per path).
SPECIAL_FIELDS = {"spec.resourceProfile": "resource_profile", "spec.features": "features"}
METADATA_FIELDS = {"metadata.name": "name", "metadata.namespace": "namespace"}


@dataclass(frozen=True)
class Fieldset:
    slug: str
    title: str
    fields: tuple[str, ...] = ()
    rows: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Layout:
    """What a form shows for one schema: its scalar spec paths, row kinds and fieldsets."""

    scalar_paths: tuple[str, ...]
    required_paths: tuple[str, ...]
    row_kinds: dict[str, RowKind]
    fieldsets: tuple[Fieldset, ...]


def _is_scalar(node: Node) -> bool:
    return node.type in ("string", "integer", "boolean")


def form_layout(model: Node = MODEL) -> Layout:
    """Read the form's shape from the schema: every spec field lands in its section."""
    spec = model.child("spec")
    scalars: list[str] = []
    by_section: dict[str, list[str]] = {s.slug: [] for s in SECTIONS}
    rows_by_section: dict[str, list[str]] = {s.slug: [] for s in SECTIONS}
    row_kinds: dict[str, RowKind] = {}

    def walk(node: Node, prefix: str, section: str) -> None:
        for name, child in node.properties.items():
            path = f"{prefix}{name}"
            where = child.section or section or "other"
            if f"spec.{path}" in SPECIAL_FIELDS:
                by_section[where].append(SPECIAL_FIELDS[f"spec.{path}"])
                if path == "resourceProfile":
                    by_section[where].append("resource_count")
            elif _is_scalar(child):
                scalars.append(path)
                by_section[where].append(field_name(path))
            elif child.type == "object" and child.properties:
                walk(child, path + ".", where)
            elif not prefix:  # a list or map of the spec: rows
                kind = DECLARED_ROW_KINDS.get(name) or row_kind_for(f"spec.{name}", child)
                row_kinds[kind.prefix] = kind
                rows_by_section[where].append(kind.prefix)

    walk(spec, "", "")
    by_section["basics"][:0] = ["name", "namespace"]
    for prefix in ("labels", "annotations"):
        row_kinds[prefix] = DECLARED_ROW_KINDS[prefix]
        rows_by_section["metadata"].append(prefix)
    by_section["listing"] = [f"listing_{f.name}" for f in LISTING_FIELDS]
    fieldsets = tuple(
        Fieldset(s.slug, s.title, tuple(by_section[s.slug]), tuple(rows_by_section[s.slug]),
                 s.description)
        for s in SECTIONS if by_section[s.slug] or rows_by_section[s.slug])
    # Required, unless the API server fills in a default.
    required = tuple(p for p in spec.required if p in scalars and spec.child(p).default is None)
    return Layout(tuple(scalars), required, row_kinds, fieldsets)


LAYOUT = form_layout()
FIELDSETS = LAYOUT.fieldsets
ROW_KINDS = LAYOUT.row_kinds


def listing_formfield(spec: ListingField) -> forms.Field:
    """A form field for one listing annotation; its `parse` is the validation."""
    common: dict[str, Any] = {"label": spec.label, "help_text": spec.help_text,
                              "required": False}
    if spec.kind == "boolean" and spec is PUBLISH_FIELD:
        return forms.ChoiceField(choices=[
            ("", "Not set: follow the publication mode"), ("true", "Yes, publish it"),
            ("false", "No, never publish it")], **common)
    if spec.kind == "boolean":
        return forms.ChoiceField(choices=[("", "Not set"), ("true", "Yes"), ("false", "No")],
                                 **common)
    if spec.kind == "choice":
        return forms.ChoiceField(choices=[("", "—")] + [(c, c) for c in spec.choices], **common)
    if spec.kind == "multichoice":
        # The annotation is comma-separated; the form shows checkboxes, so say what they mean.
        common["help_text"] = re.sub(r"^Comma-separated (\w)", lambda m: m.group(1).upper(),
                                     spec.help_text)
        return forms.MultipleChoiceField(choices=[(c, c) for c in spec.choices],
                                         widget=forms.CheckboxSelectMultiple, **common)
    if spec.name in PER_TOKEN_PRICES:
        common["label"] = spec.label.replace("per token", "per 1M tokens")
        common["help_text"] = ("US dollars per million tokens, as prices are quoted (e.g. 0.50); "
                               "stored per token (0.0000005), as OpenRouter lists it.")
        return PerMillionPriceField(validators=[_parsed_by(spec)], **common)
    widget = forms.Textarea(attrs={"rows": 3}) if spec.kind in ("textarea", "json") \
        else forms.TextInput
    return forms.CharField(widget=widget, validators=[_parsed_by(spec)], **common)


# Listing prices per token: the form takes them per million tokens, as people quote them.
PER_TOKEN_PRICES = frozenset({"pricing_prompt", "pricing_completion", "pricing_input_cache_read"})
MILLION = Decimal(1_000_000)


def _parsed_by(spec: ListingField) -> Any:
    """A validator from a listing field's `parse` (its ValueError, as the field's error)."""

    def parse(raw: str) -> None:
        try:
            spec.parse(raw)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    return parse


def per_million(per_token: Any) -> str:
    """"0.00000002" (per token) as "0.02" (per 1M tokens); text that is no number stays."""
    try:
        return format((Decimal(str(per_token)) * MILLION).normalize(), "f")
    except InvalidOperation:
        return str(per_token)


class PerMillionPriceField(forms.CharField):
    """A per-token price typed per 1M tokens; cleans to the per-token text stored."""

    def to_python(self, value: Any) -> str:
        text = str(super().to_python(value)).strip()
        if not text:
            return ""
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError("Enter a price in US dollars, e.g. 0.50.") from None
        if not amount.is_finite() or amount < 0:
            raise forms.ValidationError("Enter a price of 0 or more US dollars.")
        return format((amount / MILLION).normalize(), "f")


def features_field(node: Node) -> forms.MultipleChoiceField:
    choices = node.items.enum if node.items is not None else ()
    return forms.MultipleChoiceField(
        label=node.label or "Features", choices=[(f, f) for f in choices],
        widget=forms.CheckboxSelectMultiple, help_text=help_text(node),
        error_messages={"required": "Pick at least one feature."})


class ModelEditForm(forms.Form):
    name = forms.CharField(label="Name", max_length=names.NAME_MAX_LENGTH,
                           help_text=names.NAME_HELP + " KubeAI serves the model under this name.")
    namespace = forms.CharField(label="Namespace", max_length=names.LABEL_MAX_LENGTH)
    resource_profile = forms.CharField(
        label="Resource profile", required=False, max_length=200,
        help_text="A ResourceProfile defined in KubeAI's system config, e.g. cpu or nvidia-gpu-l4.")
    resource_count = forms.IntegerField(
        label="Count", required=False, min_value=1, max_value=1024,
        widget=forms.NumberInput(attrs={"placeholder": "1"}),
        help_text="How many of that profile each replica gets (e.g. 2 for 2 GPUs).")

    resource_version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, data: Any = None, *, base: Obj | None = None, namespace: str = "",
                 model: Node = MODEL, start: Obj | None = None):
        self.base = base
        self.is_edit = base is not None
        self.model = model
        self.layout = LAYOUT if model is MODEL else form_layout(model)
        self.spec_node = model.child("spec")
        # The object whose values the unbound form shows: `base`, or a draft (switching
        # from the YAML tab carries its unsaved edits here).
        self.start = start if start is not None else base
        super().__init__(data, initial=self._initial(self.start, namespace))
        if "features" in self.spec_node.properties:
            self.fields["features"] = features_field(self.spec_node.child("features"))
        for path in self.layout.scalar_paths:
            self.fields[field_name(path)] = formfield_for(
                path, required=path in self.layout.required_paths, root=self.spec_node)
        for spec in LISTING_FIELDS:
            self.fields[f"listing_{spec.name}"] = listing_formfield(spec)
        self.order_fields([f for fieldset in self.fieldsets for f in fieldset.fields])
        if "engine" in self.fields:
            engine = self.fields["engine"]
            engine.choices = [("", "Choose an engine"), *engine.choices]  # type: ignore[attr-defined]
        if field_name("cacheProfile") in self.fields:
            self.fields[field_name("cacheProfile")].widget.attrs["list"] = "cache-profiles"
        self.fields["namespace"].widget.attrs["list"] = "namespaces"
        # The profiles KubeAI's config defines: the choices, and the only ones accepted.
        self.cluster_profiles = cluster_profiles()
        self._profile_widget()
        self.readonly_reasons: dict[str, str] = {}
        if base is not None:
            self._lock_immutable(base)
        # Bound rows are compared with blank rows, not the stored ones: a row is kept
        # because it is filled in, whether or not it changed.
        self.formsets = {
            prefix: kind.formset_class(data, prefix=prefix,
                                       initial=None if data is not None else self.initial_rows(prefix))
            for prefix, kind in self.row_kinds.items()
        }
        self.row_errors: dict[str, list[str]] = {prefix: [] for prefix in self.row_kinds}
        self._row_index: dict[str, list[int]] = {}

    @property
    def fieldsets(self) -> tuple[Fieldset, ...]:
        return self.layout.fieldsets

    @property
    def row_kinds(self) -> dict[str, RowKind]:
        return self.layout.row_kinds

    # --- from the object to the form ------------------------------------------------

    def _initial(self, base: Obj | None, namespace: str) -> dict[str, Any]:
        if base is None:
            return {"namespace": namespace}
        spec = base.get("spec") or {}
        profile, _, count = str(spec.get("resourceProfile", "")).partition(":")
        initial: dict[str, Any] = {
            "name": base["metadata"]["name"],
            "namespace": base["metadata"]["namespace"],
            "resource_version": base["metadata"].get("resourceVersion", ""),
            "features": list(spec.get("features") or []),
            "resource_profile": profile,
            "resource_count": int(count) if count.isdigit() else None,
        }
        for path in self.layout.scalar_paths:
            initial[field_name(path)] = get_path(spec, path)
        annotations = base["metadata"].get("annotations") or {}
        for listing in LISTING_FIELDS:
            raw = annotations.get(listing.key)
            if raw is not None and listing.kind == "multichoice":
                initial[f"listing_{listing.name}"] = [v.strip() for v in str(raw).split(",")]
            elif raw is not None and listing.name in PER_TOKEN_PRICES:
                initial[f"listing_{listing.name}"] = per_million(raw)
            elif raw is not None:
                initial[f"listing_{listing.name}"] = raw
        return initial

    def initial_rows(self, prefix: str) -> list[dict[str, Any]]:
        if self.start is None:
            return []
        return self.row_kinds[prefix].to_rows(self.start)

    def _lock_immutable(self, base: Obj) -> None:
        self.fields["name"].disabled = True
        self.fields["namespace"].disabled = True
        for path, reason in locked_fields(base.get("spec") or {}, self.spec_node).items():
            name = field_name(path)
            if name in self.fields:
                self.fields[name].disabled = True
                self.readonly_reasons[name] = reason

    # --- validation -------------------------------------------------------------------

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if problem := names.model_name_problem(name):
            raise forms.ValidationError(problem)
        return name

    def clean_namespace(self) -> str:
        namespace = str(self.cleaned_data["namespace"]).strip()
        if names.namespace_problem(namespace):
            raise forms.ValidationError("Not a valid namespace name. " + names.NAMESPACE_HELP)
        return namespace

    def clean(self) -> dict[str, Any]:
        """The rules across fields and the schema's, on everything that could be read.

        Fields and rows that failed their own cleaning keep their stored value here,
        so the schema still judges the rest and every error shows in one round.
        """
        data = super().clean() or {}
        if data.get("resource_count") and not data.get("resource_profile"):
            self.add_error("resource_profile", "Pick a profile for the count.")
        if ":" in (data.get("resource_profile") or ""):
            self.add_error("resource_profile", "Give the profile name only; the count has its own "
                                               "field.")
        elif data.get("resource_profile") and self.cluster_profiles is not None \
                and data["resource_profile"] not in self.cluster_profiles \
                and not (self.is_edit and data["resource_profile"] == self.initial.get(
                    "resource_profile")):  # an edit may keep what is there
            self.add_error("resource_profile", unknown_profile_message(
                data["resource_profile"], self.cluster_profiles))
        for formset in self.formsets.values():
            formset.is_valid()
        for error in validate(self.to_object(), self.base, self.model):
            self.add_field_error(error, unless_already_wrong=True)
        return data

    def is_valid(self) -> bool:
        forms_valid = super().is_valid()
        rows_valid = all(formset.is_valid() for formset in self.formsets.values())
        return forms_valid and rows_valid and not any(self.row_errors.values())

    # --- from the form to the object ------------------------------------------------

    def _value(self, name: str) -> Any:
        """A cleaned value, or the stored one when the field did not clean."""
        if name in self.cleaned_data:
            return self.cleaned_data[name]
        return self.initial.get(name)

    def to_object(self) -> Obj:
        """The desired object: the base with what this form shows replaced."""
        if self.base is not None:
            desired = copy.deepcopy(self.base)
        else:
            desired = {"apiVersion": API_VERSION, "kind": KIND,
                       "metadata": {"name": self._value("name") or "",
                                    "namespace": self._value("namespace") or ""},
                       "spec": {}}
        spec = desired.setdefault("spec", {})
        for path in self.layout.scalar_paths:
            name = field_name(path)
            if self.fields[name].disabled or (self.is_bound and name not in self.cleaned_data):
                continue  # locked, or did not clean: the stored value stays
            value = self.cleaned_data.get(name)
            if isinstance(value, bool) and not value and not has_path(spec, path):
                continue  # an unticked box does not add `false` to a model that had nothing
            if value is None or value == "":
                remove_path(spec, path)
            else:
                set_path(spec, path, value)
        spec["features"] = list(self._value("features") or [])
        profile = self._value("resource_profile")
        if profile:
            spec["resourceProfile"] = f"{profile}:{self._value('resource_count') or 1}"
        else:
            spec.pop("resourceProfile", None)
        self._apply_rows(desired)
        return desired

    def _rows(self, prefix: str) -> list[dict[str, Any]]:
        filled = filled_rows(self.formsets[prefix])
        self._row_index[prefix] = [index for index, _ in filled]
        return [row for _, row in filled]

    def _apply_rows(self, desired: Obj) -> None:
        for prefix, kind in self.row_kinds.items():
            value = kind.from_rows(self._rows(prefix), get_path(desired, kind.path))
            if value:
                set_path(desired, kind.path, value)
            else:
                remove_path(desired, kind.path)
        annotations = dict(get_path(desired, "metadata.annotations") or {})
        for spec in LISTING_FIELDS:
            value = self._value(f"listing_{spec.name}")
            if value:
                annotations[spec.key] = spec.serialize(value) if isinstance(value, list) \
                    else str(value)
            else:
                annotations.pop(spec.key, None)
        if annotations:
            desired["metadata"]["annotations"] = annotations
        else:
            desired["metadata"].pop("annotations", None)

    # --- errors from validation and from the API server ------------------------------

    def field_for_path(self, path: str) -> str | tuple[str, int | None, str] | None:
        """Where a dotted object path shows in this form: a field name, (row prefix,
        row position or None, row field), or None (the form does not show it)."""
        for spec in LISTING_FIELDS:
            if path == annotation_path(spec.key):
                return f"listing_{spec.name}"
        if path in METADATA_FIELDS:
            return METADATA_FIELDS[path]
        base_path = re.sub(r"\[[^\]]*\]$", "", path) if path.startswith("spec.") else path
        if base_path in SPECIAL_FIELDS:
            return SPECIAL_FIELDS[base_path]
        for prefix, kind in self.row_kinds.items():
            if path == kind.path or path.startswith((kind.path + "[", kind.path + ".")):
                rest = path[len(kind.path):]
                match = re.match(r"^\[(\d+)\]\.?(.*)$", rest)
                if match and kind.shape != "map":
                    return prefix, int(match.group(1)), match.group(2)
                return prefix, None, ""
        relative = path.removeprefix("spec.")
        name = field_name(relative)
        if path.startswith("spec.") and name in self.fields:
            return name
        return None

    def add_field_error(self, error: FieldError, unless_already_wrong: bool = False) -> None:
        """Put a schema or API-server error next to the field it is about."""
        where = self.field_for_path(error.path)
        if isinstance(where, str) and where not in self.readonly_reasons:
            if unless_already_wrong and where in self.errors:
                return  # its own cleaning said what is wrong
            self.add_error(where, error.message)
        elif isinstance(where, tuple):
            self._add_row_error(*where, error.message)
        else:
            prefix = f"{error.path}: " if error.path else ""
            self.add_error(None, f"{prefix}{error.message}")

    def _add_row_error(self, prefix: str, position: int | None, field: str, message: str) -> None:
        formset = self.formsets[prefix]
        positions = self._row_index.get(prefix, [])
        if position is not None and formset.is_bound and position < len(positions):
            form = formset.forms[positions[position]]
            if field in form.fields:
                form.add_error(field, message)
                return
        self.row_errors[prefix].append(message)

    def add_api_errors(self, errors: list[FieldError]) -> None:
        for error in errors:
            self.add_field_error(error)

    @property
    def has_row_errors(self) -> bool:
        return any(self.row_errors.values()) or any(
            formset.total_error_count() for formset in self.formsets.values() if formset.is_bound)

    def error_summary(self) -> list[tuple[str, str, str]]:
        """Every error of the form, in page order: (where, message, id to link to)."""
        summary: list[tuple[str, str, str]] = [("", str(e), "") for e in self.non_field_errors()]
        for fieldset in self.fieldsets:
            for name in fieldset.fields:
                for message in self.errors.get(name, []):
                    bound = self[name]
                    summary.append((str(bound.label), str(message), bound.id_for_label or
                                    f"row-{bound.html_name}"))
            for prefix in fieldset.rows:
                title = self.row_kinds[prefix].title
                for message in self.row_errors.get(prefix, []):
                    summary.append((title, message, f"rows-{prefix}"))
                formset = self.formsets[prefix]
                if not formset.is_bound:
                    continue
                for message in formset.non_form_errors():
                    summary.append((title, str(message), f"rows-{prefix}"))
                for row_number, row in enumerate(formset.forms, start=1):
                    for name, messages in row.errors.items():
                        for message in messages:
                            label = row.fields[name].label if name in row.fields else ""
                            summary.append((f"{title}, row {row_number}: {label}", str(message),
                                            row[name].id_for_label if name in row.fields
                                            else f"rows-{prefix}"))
        return summary

    def _profile_widget(self) -> None:
        """A choice of the cluster's profiles; a value from elsewhere (the model as it is,
        a preset, the YAML tab) stays shown, marked, so saving it explains the refusal.
        Without KubeAI's config kmm cannot know the profiles: a text box with suggestions."""
        field = self.fields["resource_profile"]
        if self.cluster_profiles is None:
            field.widget.attrs["list"] = "resource-profiles"
            return
        choices = [("", "No profile"), *((name, name) for name in self.cluster_profiles)]
        shown = self.data.get("resource_profile") if self.is_bound else \
            self.initial.get("resource_profile")
        if shown and shown not in self.cluster_profiles:
            choices.append((shown, f"{shown} (not in KubeAI's config)"))
        field.widget = forms.Select(choices=choices)

    def resource_profile_suggestions(self) -> list[str]:
        return list(settings.KMM_RESOURCE_PROFILES)

    def cache_profile_suggestions(self) -> list[str]:
        return list(settings.KMM_CACHE_PROFILES)
