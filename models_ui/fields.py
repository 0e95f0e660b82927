"""Django form fields derived from the Model schema (modelspec.schema)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from modelspec.schema import SPEC, Node, node_at, pattern_regex
from modelspec.validation import integer_range


def field_name(path: str) -> str:
    """Form field name of a spec path: "loadBalancing.strategy" -> "loadBalancing__strategy"."""
    return path.replace(".", "__")


def help_text(node: Node) -> str:
    # CRD descriptions wrap at ~80 columns; the form wants flowing text.
    return re.sub(r"(?<!\n)\n(?!\n)", " ", node.description).strip()


class PatternValidator:
    """A schema `pattern`, with the message the API server would give."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self.regex = pattern_regex(pattern)

    def __call__(self, value: str) -> None:
        if value and not self.regex.search(value):
            raise ValidationError(f"Must match the pattern {self.pattern}.", code="pattern")


def formfield_for(path: str, *, required: bool = False, root: Node = SPEC) -> forms.Field:
    """A form field for one scalar node of the schema, with its bounds, help and default."""
    node = node_at(path, root)
    attrs: dict[str, Any] = {}
    if node.default is not None and not isinstance(node.default, dict):
        attrs["placeholder"] = f"{node.default} (default)"
    common: dict[str, Any] = {"label": node.label or path, "required": required,
                              "help_text": help_text(node)}
    if node.type == "integer":
        return forms.IntegerField(min_value=node.minimum, max_value=integer_range(node)[1],
                                  widget=forms.NumberInput(attrs=attrs), **common)
    if node.type == "boolean":
        return forms.BooleanField(**common)
    if node.enum:
        blank = [] if required else [("", f"— default ({node.default}) —" if node.default else "—")]
        return forms.ChoiceField(choices=blank + [(v, v) for v in node.enum], **common)
    validators = [PatternValidator(node.pattern)] if node.pattern else []
    return forms.CharField(max_length=node.max_length, validators=validators, strip=True,
                           widget=forms.TextInput(attrs=attrs), **common)
