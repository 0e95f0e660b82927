"""DRF serializers for Model objects, derived from `modelspec.schema`.

The fields are generated from the schema tree (so the OpenAPI schema, the
browsable API and the CRD all describe the same thing). Validation is
`modelspec.validation` plus the listing annotations' rules, run on the body as
sent: bodies are Model objects as Kubernetes returns them, so nothing is
coerced or dropped on the way to the API server, which stays the final judge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from models_ui.cluster_schema import cluster_model
from modelspec import names, schema
from modelspec.errors import FieldError
from modelspec.validation import validate


def _camel(path: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in path.split("."))


def field_for(node: schema.Node, path: str, required: bool = False) -> serializers.Field:
    """The DRF field that documents one schema node."""
    common: dict[str, Any] = {"required": required}
    if node.description:
        common["help_text"] = node.description
    if node.label:
        common["label"] = node.label
    if node.enum:
        return serializers.ChoiceField(choices=list(node.enum), **common)
    if node.type == "string":
        validators = [RegexValidator(node.pattern)] if node.pattern else []
        return serializers.CharField(max_length=node.max_length, allow_blank=True,
                                     trim_whitespace=False, validators=validators, **common)
    if node.type == "integer":
        return serializers.IntegerField(min_value=node.minimum, **common)
    if node.type == "boolean":
        return serializers.BooleanField(**common)
    if node.type == "array":
        assert node.items is not None
        return serializers.ListField(child=field_for(node.items, path + ".items", True),
                                     max_length=node.max_items, **common)
    if node.properties:
        return serializer_for(node, path)(**common)
    if node.additional_properties is not None:
        return serializers.DictField(child=field_for(node.additional_properties, path), **common)
    return serializers.DictField(**common)


def serializer_for(node: schema.Node, path: str) -> type[serializers.Serializer]:
    """A Serializer class with one field per property of an object node."""
    fields = {name: field_for(child, f"{path}.{name}", name in node.required)
              for name, child in node.properties.items()}
    return type(_camel(path), (serializers.Serializer,), fields)


class ObjectMetaSerializer(serializers.Serializer):
    """The part of Kubernetes' ObjectMeta that clients write (the rest is read-only)."""

    name = serializers.CharField(max_length=names.NAME_MAX_LENGTH, help_text=names.NAME_HELP)
    namespace = serializers.CharField(required=False, max_length=names.LABEL_MAX_LENGTH,
                                      help_text="Defaults to the namespace in the URL.")
    labels = serializers.DictField(child=serializers.CharField(), required=False)
    annotations = serializers.DictField(
        child=serializers.CharField(), required=False,
        help_text="Annotations under openrouter.kmm.io/ describe the model's public OpenRouter "
                  "listing (publish, display-name, pricing-prompt in USD per token, ...) and "
                  "are validated.")
    resourceVersion = serializers.CharField(
        required=False, help_text="Required by PUT: the version the change is based on.")
    uid = serializers.CharField(read_only=True)
    generation = serializers.IntegerField(read_only=True)
    creationTimestamp = serializers.DateTimeField(read_only=True)


SpecSerializer = serializer_for(schema.SPEC, "ModelSpec")
StatusSerializer = serializer_for(schema.STATUS, "ModelStatus")


EXAMPLE_MODEL = {
    "apiVersion": schema.API_VERSION, "kind": schema.KIND,
    "metadata": {"name": "llama-3.1-8b-instruct-l4", "namespace": "kubeai",
                 "labels": {"team": "platform"},
                 "annotations": {"openrouter.kmm.io/publish": "true",
                                 "openrouter.kmm.io/context-length": "8192",
                                 "openrouter.kmm.io/pricing-prompt": "0.00000002"}},
    "spec": {"url": "hf://meta-llama/Llama-3.1-8B-Instruct", "engine": "VLLM",
             "features": ["TextGeneration"], "resourceProfile": "nvidia-gpu-l4:1",
             "args": ["--max-model-len=8192", "--enable-prefix-caching"],
             "env": {"VLLM_LOGGING_LEVEL": "INFO"},
             "minReplicas": 0, "maxReplicas": 3, "targetRequests": 32},
}


@extend_schema_serializer(examples=[OpenApiExample(
    "Llama 3.1 8B Instruct on one NVIDIA L4", value=EXAMPLE_MODEL)])
class ModelSerializer(serializers.Serializer):
    """A KubeAI Model (kubeai.org/v1), as Kubernetes returns it."""

    apiVersion = serializers.CharField(required=False, default=schema.API_VERSION)
    kind = serializers.CharField(required=False, default=schema.KIND)
    metadata = ObjectMetaSerializer()
    spec = SpecSerializer()
    status = StatusSerializer(read_only=True)

    def __init__(self, *args: Any, old: Mapping[str, Any] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.old = old

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        problems = check_model(data, self.old)
        if problems:
            raise serializers.ValidationError(
                {p.path or "non_field_errors": [p.message] for p in problems})
        return dict(data)

    def to_representation(self, instance: Any) -> Any:
        return instance


class ModelListSerializer(serializers.Serializer):
    apiVersion = serializers.CharField()
    kind = serializers.CharField()
    metadata = serializers.DictField()
    items = ModelSerializer(many=True)


class NamespaceSerializer(serializers.Serializer):
    name = serializers.CharField()


class NamespaceListSerializer(serializers.Serializer):
    items = NamespaceSerializer(many=True)


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text='A path like "spec.minReplicas"; "" for the object.')
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = FieldErrorSerializer(many=True, required=False)
    currentResourceVersion = serializers.CharField(
        required=False, help_text="On 409: the object's resourceVersion now.")


TOP_LEVEL = ("apiVersion", "kind", "metadata", "spec", "status")


def shape_problems(data: Any) -> list[FieldError]:
    """What makes a body not a Model at all (answered 400): not an object, metadata or spec
    missing, null or not objects, fields a Model does not have at the top level.

    Unknown fields inside spec and metadata are not refused here: they go to the API
    server, which checks them against the installed CRD (strict field validation), so a
    field of a newer KubeAI is kept and a misspelt one is refused, never dropped."""
    if not isinstance(data, Mapping):
        return [FieldError("", "The body must be a JSON object (a Model).")]
    problems = [FieldError(str(key), "Unknown field: a Model has only "
                                     + ", ".join(TOP_LEVEL) + ".")
                for key in data if key not in TOP_LEVEL]
    for name in ("metadata", "spec"):
        if not isinstance(data.get(name), Mapping):
            problems.append(FieldError(name, "This field is required and must be an object."))
    version = (data.get("metadata") or {}).get("resourceVersion") \
        if isinstance(data.get("metadata"), Mapping) else None
    if version is not None and not isinstance(version, str):
        problems.append(FieldError("metadata.resourceVersion", "Must be a string."))
    return problems


def check_model(data: Any, old: Mapping[str, Any] | None = None) -> list[FieldError]:
    """Every problem kmm finds in a Model body (the one entry point all write paths share),
    with the schema as the cluster's installed CRD accepts it."""
    return validate(data, old, cluster_model())
