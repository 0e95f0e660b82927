"""YAML mode: create or edit a model as raw YAML, validated like the form.

Errors point at a line: a syntax error at its own line, a schema error at the
line of the field it is about (found by composing the YAML into nodes).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from django import forms

from console.profiles import profile_problem
from models_ui.presenters import to_yaml
from modelspec.errors import FieldError
from modelspec.objects import strip_server_fields
from modelspec.schema import API_VERSION, KIND, MODEL, Node
from modelspec.validation import validate

Obj = dict[str, Any]
PATH_PART = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")  # name, or [index] / [map key]


def line_of(text: str, path: str) -> int | None:
    """1-based line of a dotted path ("spec.files[1].path") in a YAML document."""
    try:
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for key, index in PATH_PART.findall(path):
        if index and not index.isdigit():
            key, index = index, ""  # metadata.annotations[example.com/key]
        if isinstance(node, yaml.MappingNode) and key:
            match = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            if match is None:
                break
            line = next(k for k, v in node.value if v is match).start_mark.line + 1
            node = match
        elif isinstance(node, yaml.SequenceNode) and index:
            position = int(index)
            if position >= len(node.value):
                break
            node = node.value[position]
            line = node.start_mark.line + 1
        else:
            break
    return line


def editable_yaml(obj: Obj) -> str:
    """The object as the YAML tab shows it: no status and no server-managed metadata."""
    return to_yaml(strip_server_fields(obj, keep=("metadata.resourceVersion",)))


class YamlForm(forms.Form):
    text = forms.CharField(
        label="Model YAML", strip=False,
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false", "class": "code"}),
        help_text=f"A complete Model object (apiVersion {API_VERSION}, kind {KIND}).")

    def __init__(self, data: Any = None, *, base: Obj | None = None, namespace: str = "",
                 model: Node = MODEL, start: Obj | None = None):
        self.base = base
        self.model = model
        # `start`: a draft to show instead of the stored object (the form tab's unsaved edits).
        shown = start if start is not None else base
        initial = editable_yaml(shown) if shown is not None else _skeleton(namespace)
        super().__init__(data, initial={"text": initial})
        self.problems: list[tuple[int | None, FieldError]] = []

    def clean_text(self) -> Obj:
        text = self.cleaned_data["text"]
        try:
            obj = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"Line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            raise forms.ValidationError(f"{where}{exc.problem or exc}") from None
        except yaml.YAMLError as exc:
            raise forms.ValidationError(f"Not valid YAML: {exc}") from None
        if not isinstance(obj, dict):
            raise forms.ValidationError("The YAML must be a Model object (a mapping).")
        obj.setdefault("apiVersion", API_VERSION)
        obj.setdefault("kind", KIND)
        if obj["apiVersion"] != API_VERSION or obj["kind"] != KIND:
            raise forms.ValidationError(f"Line 1: expected apiVersion {API_VERSION} and kind {KIND}.")
        metadata = obj.get("metadata")
        if not isinstance(metadata, dict):
            raise forms.ValidationError("metadata is required (with name and namespace).")
        if self.base is not None:
            for key in ("name", "namespace"):
                if metadata.get(key) != self.base["metadata"][key]:
                    self.add_problem(FieldError(
                        f"metadata.{key}", f"The {key} cannot change when editing "
                                           f"(it is {self.base['metadata'][key]!r})."), text)
        for error in validate(obj, self.base, self.model):
            self.add_problem(error, text)
        unknown_profile = profile_problem(obj, self.base)
        if unknown_profile is not None:
            self.add_problem(unknown_profile, text)
        if self.problems:
            raise forms.ValidationError("The model has problems; see the list below.")
        return obj

    def add_problem(self, error: FieldError, text: str | None = None) -> None:
        source = text if text is not None else str(self.data.get("text", ""))
        self.problems.append((line_of(source, error.path) if error.path else None, error))

    def error_summary(self) -> list[tuple[str, str, str]]:
        """Every error, for the summary at the top: (where, message, id to link to)."""
        if self.problems:
            return [(f"Line {line}" if line else error.path, error.message, "id_text")
                    for line, error in self.problems]
        return [("Model YAML", str(message), "id_text") for message in self.errors.get("text", [])]

    def add_api_errors(self, errors: list[FieldError]) -> None:
        for error in errors:
            self.add_problem(error)
        self.add_error("text", "The Kubernetes API server refused the model; see the list below.")


def _skeleton(namespace: str) -> str:
    return to_yaml({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": "my-model", "namespace": namespace or "default"},
        "spec": {"url": "hf://org/model", "engine": "VLLM", "features": ["TextGeneration"],
                 "resourceProfile": "cpu:1", "minReplicas": 0},
    })
