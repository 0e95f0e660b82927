"""YAML mode: create or edit a model as raw YAML, validated like the form.

Errors point at a line: a syntax error at its own line, a schema error at the
line of the field it is about (an index of every field's line, built once from
the composed nodes).

The work is bounded, whatever is posted: at most MAX_YAML_CHARACTERS, MAX_YAML_NODES
nodes nested at most MAX_YAML_DEPTH deep, and no anchors or aliases (no Model needs
them, and aliases let a few hundred bytes stand for gigabytes once expanded). One pass
over libyaml's events checks that before anything is built.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from django import forms

from console.profiles import profile_problem
from kmm.limits import MAX_DOCUMENT_CHARACTERS, MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_NODES
from models_ui.presenters import to_yaml
from modelspec.errors import FieldError
from modelspec.objects import strip_server_fields
from modelspec.schema import API_VERSION, KIND, MODEL, Node
from modelspec.validation import join, validate

Obj = dict[str, Any]
MAX_YAML_CHARACTERS = MAX_DOCUMENT_CHARACTERS
MAX_YAML_NODES = MAX_DOCUMENT_NODES
MAX_YAML_DEPTH = MAX_DOCUMENT_DEPTH
Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LAST_PART = re.compile(r"(\[[^\]]*\]|\.[^.\[\]]*)$")  # ".name" or "[index]" / "[map key]"


def _refuse(mark: Any, message: str) -> forms.ValidationError:
    where = f"Line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return forms.ValidationError(where + message)


def _check_events(text: str) -> None:
    """One pass over the parser's events: no anchors or aliases, bounded size and depth."""
    nodes = depth = 0
    for event in yaml.parse(text, Loader=Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _refuse(event.start_mark, "YAML anchors and aliases (&name, *name) are not "
                                            "accepted: write each value out.")
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_YAML_NODES:
                raise _refuse(event.start_mark, f"The document has more than {MAX_YAML_NODES:,} "
                                                "values; a Model needs far fewer.")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise _refuse(event.start_mark, f"The document nests more than {MAX_YAML_DEPTH} "
                                                "levels deep.")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def parse(text: str) -> tuple[Any, dict[str, int]]:
    """The document's value and the 1-based line of every field path in it
    ("spec.files[1].path"), in bounded time and memory. Raises ValidationError."""
    if len(text) > MAX_YAML_CHARACTERS:
        raise forms.ValidationError(f"The document is {len(text):,} characters long; at most "
                                    f"{MAX_YAML_CHARACTERS:,} are accepted.")
    try:
        _check_events(text)
        node = yaml.compose(text, Loader=Loader)
    except yaml.MarkedYAMLError as exc:
        raise _refuse(exc.problem_mark or exc.context_mark, str(exc.problem or exc)) from None
    except yaml.YAMLError as exc:
        raise forms.ValidationError(f"Not valid YAML: {exc}") from None
    if node is None:
        return None, {}
    try:
        value = yaml.constructor.SafeConstructor().construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise _refuse(exc.problem_mark or exc.context_mark, str(exc.problem or exc)) from None
    return value, _line_index(node)


def _line_index(root: yaml.Node) -> dict[str, int]:
    lines: dict[str, int] = {}
    stack: list[tuple[str, yaml.Node]] = [("", root)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    child = join(path, str(key.value))
                    lines.setdefault(child, key.start_mark.line + 1)
                    # Keys with dots or slashes are also written as [key] in error paths.
                    lines.setdefault(f"{path}[{key.value}]", key.start_mark.line + 1)
                    stack.append((child, value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = join(path, index)
                lines.setdefault(child, item.start_mark.line + 1)
                stack.append((child, item))
    return lines


def line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of `path`, or of its nearest ancestor present in the document."""
    while path:
        if path in lines:
            return lines[path]
        path = LAST_PART.sub("", path) if LAST_PART.search(path) else ""
    return None


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
        self.lines: dict[str, int] = {}

    def clean_text(self) -> Obj:
        text = self.cleaned_data["text"]
        obj, self.lines = parse(text)
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
                                           f"(it is {self.base['metadata'][key]!r})."))
        for error in validate(obj, self.base, self.model):
            self.add_problem(error)
        unknown_profile = profile_problem(obj, self.base)
        if unknown_profile is not None:
            self.add_problem(unknown_profile)
        if self.problems:
            raise forms.ValidationError("The model has problems; see the list below.")
        return obj

    def add_problem(self, error: FieldError) -> None:
        self.problems.append((line_of(self.lines, error.path) if error.path else None, error))

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
