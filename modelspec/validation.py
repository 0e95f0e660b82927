"""Client-side validation of Model objects against the schema.

`validate(obj, old=None)` is the one entry point every write path (the form,
the YAML tab, the REST API) calls: the object's envelope, the schema and the
listing annotations. `validate_model(obj, old=None)` walks `modelspec.schema.MODEL` and returns every
problem as a `FieldError` with a dotted path ("spec.adapters[0].name") and the
same message the API server would give, so forms and the REST API can put each
message next to its field before anything reaches Kubernetes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from modelspec.errors import FieldError
from modelspec.listing import validate_listing
from modelspec.names import SUBDOMAIN_MESSAGE, is_dns_subdomain, namespace_problem
from modelspec.schema import API_VERSION, KIND, MODEL, SPEC, Node, pattern_regex

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def join(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def integer_range(node: Node) -> tuple[int, int]:
    """The values an integer node's format holds (int64 unless it says int32)."""
    return INT32 if node.format == "int32" else INT64


def _type_ok(node: Node, value: Any) -> bool:
    if node.type == "string":
        return isinstance(value, str)
    if node.type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if node.type == "boolean":
        return isinstance(value, bool)
    if node.type == "array":
        return isinstance(value, list)
    return isinstance(value, Mapping)


TYPE_NAMES = {"string": "a string", "integer": "an integer", "boolean": "true or false",
              "array": "a list", "object": "an object"}


def _check_scalar(node: Node, value: Any, path: str, errors: list[FieldError]) -> None:
    if node.enum and value not in node.enum:
        errors.append(FieldError(path, f"Unsupported value {value!r}: supported values are "
                                       + ", ".join(repr(v) for v in node.enum) + "."))
    if node.type == "string":
        if node.max_length is not None and len(value) > node.max_length:
            errors.append(FieldError(
                path, f"Must have at most {node.max_length} characters ({len(value)} given)."))
        if node.pattern is not None and not pattern_regex(node.pattern).search(value):
            errors.append(FieldError(path, f"Must match the pattern {node.pattern}."))
    if node.type == "integer":
        if node.minimum is not None and value < node.minimum:
            errors.append(FieldError(path, f"Must be greater than or equal to {node.minimum}."))
        low, high = integer_range(node)
        if not low <= value <= high:
            errors.append(FieldError(path, f"Must fit in a {node.format or 'int64'} integer."))


def _walk(node: Node, value: Any, old: Any, path: str, errors: list[FieldError]) -> None:
    if not _type_ok(node, value):
        errors.append(FieldError(path, f"Must be {TYPE_NAMES[node.type]}."))
        return
    _check_scalar(node, value, path, errors)
    if node.type == "array" and node.items is not None:
        if node.max_items is not None and len(value) > node.max_items:
            errors.append(FieldError(
                path, f"Must have at most {node.max_items} items ({len(value)} given)."))
        for index, item in enumerate(value):
            _walk(node.items, item, None, join(path, index), errors)
    if node.type == "object":
        for name in node.required:
            if name not in value:
                errors.append(FieldError(join(path, name), "This field is required."))
        for name, child in node.properties.items():
            if name in value and value[name] is not None:
                old_child = old.get(name) if isinstance(old, Mapping) else None
                _walk(child, value[name], old_child, join(path, name), errors)
        if node.additional_properties is not None:
            for key, item in value.items():
                _walk(node.additional_properties, item, None, join(path, key), errors)
    for rule in node.rules:
        if rule.transition:
            # Like the API server: transition rules run only when an old value exists.
            ok = old is None or rule.check(value, old)
        else:
            ok = rule.check(value)
        if not ok:
            where = path
            for part in (rule.field or "").split(".") if rule.field else ():
                where = join(where, part)
            errors.append(FieldError(where, rule.message))


def validate_metadata(metadata: Mapping[str, Any]) -> list[FieldError]:
    # The name's KubeAI length limit is a CEL rule of the schema (MODEL.rules).
    errors: list[FieldError] = []
    name = metadata.get("name")
    if not name:
        errors.append(FieldError("metadata.name", "This field is required."))
    elif not is_dns_subdomain(name):
        errors.append(FieldError("metadata.name", SUBDOMAIN_MESSAGE))
    namespace = metadata.get("namespace")
    if namespace is not None and (problem := namespace_problem(namespace)):
        errors.append(FieldError("metadata.namespace", problem))
    return errors


def with_defaults(value: Any, node: Node = MODEL) -> Any:
    """A copy of `value` with the schema's defaults filled in, as the API server does first."""
    if node.type == "object" and isinstance(value, Mapping):
        out = dict(value)
        for name, child in node.properties.items():
            if name not in out and child.default is not None:
                out[name] = copy.deepcopy(child.default)
            if name in out:
                out[name] = with_defaults(out[name], child)
        return out
    if node.type == "array" and isinstance(value, list) and node.items is not None:
        return [with_defaults(item, node.items) for item in value]
    return value


def validate_model(obj: Mapping[str, Any], old: Mapping[str, Any] | None = None,
                   model: Node = MODEL) -> list[FieldError]:
    """Every problem the schema can find in a Model object (old: the stored object, on update).

    Defaults are applied first, as the API server does before it validates.
    """
    obj = with_defaults(obj, model)
    errors = validate_metadata(obj.get("metadata") or {})
    if not isinstance(obj.get("spec"), Mapping):  # missing, or null: a Model without a spec
        errors.append(FieldError("spec", "This field is required and must be an object."))
    _walk(model, obj, old, "", errors)
    return errors


EXPECTED = {"apiVersion": API_VERSION, "kind": KIND}


def _string_map(value: Any, path: str) -> list[FieldError]:
    if not isinstance(value, Mapping):
        return [FieldError(path, "Must be an object of strings.")]
    return [FieldError(f"{path}[{key}]", "Must be a string.") for key, item in value.items()
            if not isinstance(item, str)]


def validate(obj: Any, old: Mapping[str, Any] | None = None,
             model: Node = MODEL) -> list[FieldError]:
    """Every problem kmm finds in a Model before writing it: the envelope (apiVersion,
    kind, metadata), the schema's rules and the listing annotations."""
    if not isinstance(obj, Mapping):
        return [FieldError("", "The body must be a JSON object (a Model).")]
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        return [FieldError("metadata", "This field is required and must be an object.")]
    problems: list[FieldError] = []
    for name in ("labels", "annotations"):
        if metadata.get(name) is not None:
            problems += _string_map(metadata[name], f"metadata.{name}")
    for name, expected in EXPECTED.items():
        if obj.get(name) not in (None, expected):
            problems.append(FieldError(name, f"Must be {expected!r}."))
    if problems:
        return problems
    return validate_model(obj, old, model) + validate_listing(obj)


def validate_spec(spec: Mapping[str, Any], old_spec: Mapping[str, Any] | None = None) -> list[FieldError]:
    """Problems in a spec alone; paths are relative to the spec ("minReplicas")."""
    errors: list[FieldError] = []
    _walk(SPEC, spec, old_spec, "", errors)
    return errors


CEL_VALUE_PREFIX = re.compile(r'^Invalid value: ("[a-z]+": )?')


def _rule_targets() -> dict[str, str]:
    """Message of each object-level CEL rule -> the path of the field it is about."""
    targets: dict[str, str] = {}

    def walk(node: Node, path: str) -> None:
        for rule in node.rules:
            if rule.field:
                targets[rule.message] = join(path, rule.field) if path else rule.field
        for name, child in node.properties.items():
            walk(child, join(path, name))
        if node.items is not None:
            walk(node.items, path)

    walk(MODEL, "")
    return targets


RULE_TARGETS = _rule_targets()


def locate_cause(field: str, message: str) -> FieldError:
    """Turn an API server `details.causes` entry into a FieldError on the right field.

    CEL rules written on an object report the object ("spec"); the schema knows
    which field each such rule is about, so the message moves there.
    """
    field = "" if field in ("<nil>", "") else field
    text = CEL_VALUE_PREFIX.sub("", message)
    return FieldError(RULE_TARGETS.get(text, field), text)
