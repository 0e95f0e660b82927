"""The Model form: Django fields derived from the schema, grouped like the admin's fieldsets.

`ModelForm(data, base=obj)` edits an existing object; `to_object()` returns the
desired object: `base` with exactly the fields this form shows replaced. Every
other field (unknown ones included) is carried over untouched, and the service
layer sends only the difference.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings

from models_ui.fields import field_name, formfield_for, help_text
from models_ui.rows import ROW_KINDS, filled_rows
from modelspec.listing import ANNOTATION_PREFIX, LISTING_FIELDS, ListingField, validate_listing
from modelspec.names import is_model_name, is_namespace_name
from modelspec.schema import API_VERSION, FEATURES, KIND, NAME_MAX_LENGTH, SPEC
from modelspec.validation import FieldError, validate_model

Obj = dict[str, Any]

# Spec fields edited as one form field each (booleans, numbers, strings, enums).
SCALAR_PATHS = (
    "url", "engine", "owner", "cacheProfile", "image", "priorityClassName",
    "replicas", "minReplicas", "maxReplicas", "autoscalingDisabled", "targetRequests",
    "scaleDownDelaySeconds", "loadBalancing.strategy", "loadBalancing.prefixHash.meanLoadFactor",
    "loadBalancing.prefixHash.replication", "loadBalancing.prefixHash.prefixCharLength",
)
REQUIRED_PATHS = ("url", "engine")

IMMUTABLE_REASONS = {
    "cacheProfile": "The cache profile cannot change after the model is created.",
    "loadBalancing.prefixHash.replication": "Replication cannot change after the model is created.",
    "url": "The URL cannot change while a cache profile is set.",
}

LISTING_KEYS = frozenset(f.key for f in LISTING_FIELDS)

# Annotations kmm does not offer for editing, but always keeps.
HIDDEN_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


@dataclass(frozen=True)
class Fieldset:
    slug: str
    title: str
    fields: tuple[str, ...] = ()
    rows: tuple[str, ...] = ()
    description: str = ""


FIELDSETS = (
    Fieldset("basics", "Basics", ("name", "namespace", "url", "engine", "features", "owner")),
    Fieldset("resources", "Resources",
             ("resource_profile", "resource_count", "cacheProfile", "image", "priorityClassName")),
    Fieldset("scaling", "Scaling",
             ("replicas", "minReplicas", "maxReplicas", "autoscalingDisabled", "targetRequests",
              "scaleDownDelaySeconds")),
    Fieldset("load-balancing", "Load balancing",
             tuple(field_name(p) for p in SCALAR_PATHS if p.startswith("loadBalancing."))),
    Fieldset("server", "Server", rows=("args", "env", "envFrom")),
    Fieldset("adapters", "Adapters", rows=("adapters",)),
    Fieldset("files", "Files", rows=("files",)),
    Fieldset("listing", "OpenRouter listing",
             tuple(f"listing_{f.name}" for f in LISTING_FIELDS),
             description="How this model appears on the public endpoint /public/api/models. "
                         "Stored as annotations under " + ANNOTATION_PREFIX + "."),
    Fieldset("metadata", "Metadata", rows=("labels", "annotations")),
)


def listing_formfield(spec: ListingField) -> forms.Field:
    """A form field for one listing annotation; its `parse` is the validation."""
    common: dict[str, Any] = {"label": spec.label, "help_text": spec.help_text,
                              "required": False}
    if spec.kind == "boolean":
        return forms.ChoiceField(choices=[
            ("", "Not set: follow the publication mode"), ("true", "Yes, publish it"),
            ("false", "No, never publish it")], **common)
    if spec.kind == "choice":
        return forms.ChoiceField(choices=[("", "—")] + [(c, c) for c in spec.choices], **common)
    if spec.kind == "multichoice":
        return forms.MultipleChoiceField(choices=[(c, c) for c in spec.choices],
                                         widget=forms.CheckboxSelectMultiple, **common)
    widget = forms.Textarea(attrs={"rows": 3}) if spec.kind == "textarea" else forms.TextInput

    def parse(raw: str) -> None:
        try:
            spec.parse(raw)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    return forms.CharField(widget=widget, validators=[parse], **common)



def _get(obj: Obj, path: str) -> Any:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _has(obj: Obj, path: str) -> bool:
    parent = _get(obj, path.rpartition(".")[0]) if "." in path else obj
    return isinstance(parent, dict) and path.rpartition(".")[2] in parent


def _set(obj: Obj, path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        obj = obj.setdefault(part, {})
    obj[leaf] = value


def _remove(obj: Obj, path: str) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        if not isinstance(obj.get(part), dict):
            return
        obj = obj[part]
    obj.pop(leaf, None)


class ModelForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=NAME_MAX_LENGTH,
        help_text=f"Lower case letters, digits, '-' and '.'; at most {NAME_MAX_LENGTH} "
                  "characters. KubeAI serves the model under this name.")
    namespace = forms.CharField(label="Namespace", max_length=63)
    features = forms.MultipleChoiceField(
        label="Features", choices=[(f, f) for f in FEATURES], widget=forms.CheckboxSelectMultiple,
        help_text=help_text(SPEC.child("features")),
        error_messages={"required": "Pick at least one feature."})
    resource_profile = forms.CharField(
        label="Resource profile", required=False, max_length=200,
        help_text="A ResourceProfile defined in KubeAI's system config, e.g. cpu or nvidia-gpu-l4.")
    resource_count = forms.IntegerField(
        label="Count", required=False, min_value=1, max_value=1024,
        widget=forms.NumberInput(attrs={"placeholder": "1"}),
        help_text="How many of that profile each replica gets (e.g. 2 for 2 GPUs).")

    resource_version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, data: Any = None, *, base: Obj | None = None, namespace: str = ""):
        self.base = base
        self.is_edit = base is not None
        super().__init__(data, initial=self._initial(base, namespace))
        for path in SCALAR_PATHS:
            self.fields[field_name(path)] = formfield_for(path, required=path in REQUIRED_PATHS)
        for spec in LISTING_FIELDS:
            self.fields[f"listing_{spec.name}"] = listing_formfield(spec)
        self.order_fields([f for fieldset in FIELDSETS for f in fieldset.fields])
        self.fields["resource_profile"].widget.attrs["list"] = "resource-profiles"
        self.fields[field_name("cacheProfile")].widget.attrs["list"] = "cache-profiles"
        self.fields["namespace"].widget.attrs["list"] = "namespaces"
        self.readonly_reasons: dict[str, str] = {}
        if base is not None:
            self._lock_immutable(base)
        # Bound rows are compared with blank rows, not the stored ones: a row is kept
        # because it is filled in, whether or not it changed.
        self.formsets = {
            prefix: kind.formset_class(data, prefix=prefix,
                                       initial=None if data is not None else self.initial_rows(prefix))
            for prefix, kind in ROW_KINDS.items()
        }
        self.row_errors: dict[str, list[str]] = {prefix: [] for prefix in ROW_KINDS}
        self._row_index: dict[str, list[int]] = {}

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
        for path in SCALAR_PATHS:
            initial[field_name(path)] = _get(spec, path)
        annotations = base["metadata"].get("annotations") or {}
        for listing in LISTING_FIELDS:
            raw = annotations.get(listing.key)
            if raw is not None and listing.kind == "multichoice":
                initial[f"listing_{listing.name}"] = [v.strip() for v in str(raw).split(",")]
            elif raw is not None:
                initial[f"listing_{listing.name}"] = raw
        return initial

    def initial_rows(self, prefix: str) -> list[dict[str, Any]]:
        if self.base is None:
            return []
        spec, metadata = self.base.get("spec") or {}, self.base.get("metadata") or {}
        if prefix == "args":
            return [{"value": a} for a in spec.get("args") or []]
        if prefix == "env":
            return [{"name": k, "value": v} for k, v in (spec.get("env") or {}).items()]
        if prefix == "envFrom":
            rows = []
            for source in spec.get("envFrom") or []:
                kind = "secretRef" if "secretRef" in source else "configMapRef"
                ref = source.get(kind) or {}
                rows.append({"kind": kind, "name": ref.get("name", ""),
                             "prefix": source.get("prefix", ""),
                             "optional": bool(ref.get("optional"))})
            return rows
        if prefix in ("adapters", "files"):
            return [dict(item) for item in spec.get(prefix) or []]
        if prefix == "labels":
            return [{"key": k, "value": v} for k, v in (metadata.get("labels") or {}).items()]
        return [{"key": k, "value": v} for k, v in (metadata.get("annotations") or {}).items()
                if k not in HIDDEN_ANNOTATIONS and k not in LISTING_KEYS]

    def _lock_immutable(self, base: Obj) -> None:
        self.fields["name"].disabled = True
        self.fields["namespace"].disabled = True
        locked = ["cacheProfile", "loadBalancing.prefixHash.replication"]
        if _has(base.get("spec") or {}, "cacheProfile"):
            locked.append("url")
        for path in locked:
            field = self.fields[field_name(path)]
            field.disabled = True
            self.readonly_reasons[field_name(path)] = IMMUTABLE_REASONS[path]

    # --- validation -------------------------------------------------------------------

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not is_model_name(name):
            raise forms.ValidationError(
                "Use lower case letters, digits, '-' and '.', starting and ending with a letter "
                "or digit.")
        return name

    def clean_namespace(self) -> str:
        namespace = str(self.cleaned_data["namespace"]).strip()
        if not is_namespace_name(namespace):
            raise forms.ValidationError("Not a valid namespace name.")
        return namespace

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("resource_count") and not data.get("resource_profile"):
            self.add_error("resource_profile", "Pick a profile for the count.")
        if ":" in (data.get("resource_profile") or ""):
            self.add_error("resource_profile", "Give the profile name only; the count has its own "
                                               "field.")
        return data

    def is_valid(self) -> bool:
        forms_valid = super().is_valid()
        rows_valid = all(formset.is_valid() for formset in self.formsets.values())
        if not (forms_valid and rows_valid):
            return False
        desired = self.to_object()
        for error in validate_model(desired, self.base):
            self.add_field_error(error)
        for error in validate_listing(desired):
            self.add_field_error(error)
        return not self.errors and not any(self.row_errors.values())

    # --- from the form to the object ------------------------------------------------

    def to_object(self) -> Obj:
        """The desired object: the base with what this form shows replaced."""
        data = self.cleaned_data
        if self.base is not None:
            desired = copy.deepcopy(self.base)
        else:
            desired = {"apiVersion": API_VERSION, "kind": KIND,
                       "metadata": {"name": data["name"], "namespace": data["namespace"]},
                       "spec": {}}
        spec = desired.setdefault("spec", {})
        for path in SCALAR_PATHS:
            value = data.get(field_name(path))
            if self.fields[field_name(path)].disabled:
                continue
            if isinstance(value, bool) and not value and not _has(spec, path):
                continue  # an unticked box does not add `false` to a model that had nothing
            if value is None or value == "":
                _remove(spec, path)
            else:
                _set(spec, path, value)
        spec["features"] = list(data.get("features") or [])
        profile = data.get("resource_profile")
        if profile:
            spec["resourceProfile"] = f"{profile}:{data.get('resource_count') or 1}"
        else:
            spec.pop("resourceProfile", None)
        self._apply_rows(desired)
        return desired

    def _rows(self, prefix: str) -> list[dict[str, Any]]:
        filled = filled_rows(self.formsets[prefix])
        self._row_index[prefix] = [index for index, _ in filled]
        return [row for _, row in filled]

    def _apply_rows(self, desired: Obj) -> None:
        spec, metadata = desired["spec"], desired.setdefault("metadata", {})
        base_spec = (self.base or {}).get("spec") or {}
        self._put(spec, "args", [row["value"] for row in self._rows("args")])
        self._put(spec, "env", {row["name"]: row["value"] for row in self._rows("env")})
        self._put(spec, "envFrom", [self._env_source(row, base_spec.get("envFrom") or [], i)
                                    for i, row in enumerate(self._rows("envFrom"))])
        self._put(spec, "adapters", _keep_unknown_keys(
            self._rows("adapters"), base_spec.get("adapters") or [], "name", ("name", "url")))
        self._put(spec, "files", _keep_unknown_keys(
            self._rows("files"), base_spec.get("files") or [], "path", ("path", "content")))
        self._put(metadata, "labels", {row["key"]: row["value"] for row in self._rows("labels")})
        stored = metadata.get("annotations") or {}
        kept = {k: v for k, v in stored.items() if k in HIDDEN_ANNOTATIONS}
        kept.update({row["key"]: row["value"] for row in self._rows("annotations")})
        for spec in LISTING_FIELDS:
            value = self.cleaned_data.get(f"listing_{spec.name}")
            if value:
                kept[spec.key] = spec.serialize(value) if isinstance(value, list) else str(value)
        self._put(metadata, "annotations", kept)

    @staticmethod
    def _put(parent: Obj, key: str, value: Any) -> None:
        if value:
            parent[key] = value
        else:
            parent.pop(key, None)

    @staticmethod
    def _env_source(row: dict[str, Any], base: list[Obj], index: int) -> Obj:
        source: Obj = copy.deepcopy(base[index]) if index < len(base) else {}
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

    # --- errors from validation and from the API server ------------------------------

    def add_field_error(self, error: FieldError) -> None:
        """Put a schema or API-server error next to the field it is about."""
        path = error.path
        for spec in LISTING_FIELDS:
            if path == f"metadata.annotations[{spec.key}]":
                self.add_error(f"listing_{spec.name}", error.message)
                return
        for prefix in ("metadata.labels", "metadata.annotations"):
            if path.startswith(prefix):
                self.row_errors[prefix.split(".")[1]].append(error.message)
                return
        mapping = {"metadata.name": "name", "metadata.namespace": "namespace",
                   "spec.resourceProfile": "resource_profile", "spec.features": "features"}
        if path in mapping:
            self.add_error(mapping[path], error.message)
            return
        relative = path.removeprefix("spec.")
        root = relative.split("[")[0].split(".")[0]
        if root in ROW_KINDS:
            self._add_row_error(root, relative, error.message)
            return
        if relative.startswith("features["):
            self.add_error("features", error.message)
            return
        name = field_name(relative)
        if path.startswith("spec.") and name in self.fields and name not in self.readonly_reasons:
            self.add_error(name, error.message)
        else:
            where = f"{path}: " if path else ""
            self.add_error(None, f"{where}{error.message}")

    def _add_row_error(self, prefix: str, relative: str, message: str) -> None:
        formset = self.formsets[prefix]
        if relative.startswith(f"{prefix}[") and formset.is_bound and hasattr(formset, "cleaned_data"):
            index_text, _, rest = relative[len(prefix) + 1:].partition("]")
            positions = self._row_index.get(prefix, [])
            field = rest.lstrip(".")
            if index_text.isdigit() and int(index_text) < len(positions):
                form = formset.forms[positions[int(index_text)]]
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

    def resource_profile_suggestions(self) -> list[str]:
        return list(settings.KMM_RESOURCE_PROFILES)

    def cache_profile_suggestions(self) -> list[str]:
        return list(settings.KMM_CACHE_PROFILES)


def _keep_unknown_keys(rows: list[dict[str, Any]], base: list[Obj], key: str,
                       shown: tuple[str, ...]) -> list[Obj]:
    """Rows as list items; an item matching a stored one (by `key`) keeps its unknown keys."""
    stored = {item.get(key): item for item in base if isinstance(item, dict)}
    items = []
    for row in rows:
        item = copy.deepcopy(stored.get(row[key], {}))
        item.update({name: row[name] for name in shown})
        items.append(item)
    return items
