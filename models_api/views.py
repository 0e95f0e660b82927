"""The management REST API, shaped like the Kubernetes paths it fronts.

    GET                    /api/namespaces/
    GET                    /api/models/                        (every namespace the caller may list)
    GET, POST              /api/namespaces/<ns>/models/
    GET, PUT, PATCH, DELETE /api/namespaces/<ns>/models/<name>/

Every call acts as the signed-in caller (`request.kube`), so the cluster's RBAC
decides. Lists come from the watch cache, cut down to the namespaces the caller
may list; single reads and all writes go to the API server. Bodies are checked
against the schema before anything reaches Kubernetes. After a write, the view
waits (briefly) until the cache has seen it, so a list right after shows it.
"""

from __future__ import annotations

import copy
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import kube
from kube.cache import synced_snapshot, wait_for_write
from models_api.parsers import BoundedJSONParser, BoundedMergePatchParser
from models_api.serializers import (
    ErrorSerializer,
    ModelListSerializer,
    ModelSerializer,
    NamespaceListSerializer,
    shape_problems,
)
from models_api.streaming import model_list
from modelspec import names, schema
from modelspec.errors import FieldError

Obj = dict[str, Any]
SYNC_WAIT_SECONDS = 5.0
FOLLOW_WRITE_SECONDS = 1.0
TRUE_VALUES = ("true", "all", "1")
FALSE_VALUES = ("false", "0", "")

DRY_RUN = OpenApiParameter("dryRun", bool, description="Validate on the API server, store nothing.")
FILTERS = [
    OpenApiParameter("engine", str, enum=list(schema.ENGINES), many=True,
                     description="Only models of these engines."),
    OpenApiParameter("feature", str, enum=list(schema.FEATURES), many=True,
                     description="Only models with all these features."),
]
NAMESPACE = OpenApiParameter(
    "namespace", str, OpenApiParameter.PATH, pattern=names.NAMESPACE_PATTERN,
    examples=[OpenApiExample("default", value="default")])
NAME = OpenApiParameter(
    "name", str, OpenApiParameter.PATH, pattern=names.MODEL_NAME_PATTERN,
    examples=[OpenApiExample("a model", value="llama-3-8b")])
PAGING = [
    OpenApiParameter("limit", int, description="At most this many models; "
                     "metadata.continue then names the next page."),
    OpenApiParameter("continue", str, description="metadata.continue of the previous page."),
]
ERRORS = {code: OpenApiResponse(ErrorSerializer)
          for code in (400, 401, 403, 404, 409, 413, 422, 503)}


class KubeView(APIView):
    # Authentication happened in kmm.middleware: `request.kube` is the caller. (A comment, not
    # a docstring: the OpenAPI schema and the browsable API show docstrings to clients.)

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    parser_classes = [BoundedJSONParser, BoundedMergePatchParser]

    def caller(self) -> kube.Caller:
        return self.request.kube  # type: ignore[attr-defined,no-any-return]

    def dry_run(self) -> bool:
        raw = self.request.query_params.get("dryRun", "").strip().lower()
        if raw not in TRUE_VALUES + FALSE_VALUES:
            raise exceptions.ValidationError({"dryRun": ["Must be true or false."]})
        return raw in TRUE_VALUES


def _check_path(namespace: str, name: str | None = None) -> None:
    """Names Kubernetes cannot hold are 404s here, before they reach a URL (the input is
    not echoed back)."""
    if names.namespace_problem(namespace):
        raise kube.NotFound("There is no such namespace: not a valid namespace name.")
    if name is not None and names.model_name_problem(name):
        raise kube.NotFound("There is no such model: not a valid model name.")


def _filtered(request: Request, models: Any) -> list[Obj]:
    engines = request.query_params.getlist("engine")
    features = request.query_params.getlist("feature")
    problems = {}
    if bad := [e for e in engines if e not in schema.ENGINES]:
        problems["engine"] = [f"Unknown engine {', '.join(bad)}: one of {', '.join(schema.ENGINES)}."]
    if bad := [f for f in features if f not in schema.FEATURES]:
        problems["feature"] = [f"Unknown feature {', '.join(bad)}: one of "
                               f"{', '.join(schema.FEATURES)}."]
    if problems:
        raise exceptions.ValidationError(problems)
    return [m for m in models
            if (not engines or (m.get("spec") or {}).get("engine") in engines)
            and all(f in ((m.get("spec") or {}).get("features") or []) for f in features)]


def _validated(body: Any, old: Obj | None = None) -> Obj:
    if shape := shape_problems(body):
        raise kube.Invalid("The body is not a Model.", status=400, reason="BadRequest",
                           errors=shape)
    serializer = ModelSerializer(data=body, old=old)
    if not serializer.is_valid():
        errors = [FieldError("" if field == "non_field_errors" else field, str(message))
                  for field, messages in serializer.errors.items() for message in messages]
        raise kube.Invalid("The model is invalid.", reason="Invalid", errors=errors)
    return copy.deepcopy(serializer.validated_data)


def _pinned_version(patch: Obj) -> tuple[str | None, Obj]:
    """The resourceVersion a merge patch pins itself to (None when it does not), and the
    patch without it."""
    metadata = patch.get("metadata")
    if not isinstance(metadata, dict) or "resourceVersion" not in metadata:
        return None, patch
    version = metadata["resourceVersion"]
    if version is not None and not isinstance(version, str):
        raise kube.Invalid("The body is not a Model.", status=400, reason="BadRequest", errors=[
            FieldError("metadata.resourceVersion", "Must be a string.")])
    rest = {k: v for k, v in metadata.items() if k != "resourceVersion"}
    change = {**patch, "metadata": rest} if rest else {k: v for k, v in patch.items()
                                                      if k != "metadata"}
    return version or None, change


def _require_current(resource_version: Any, current: Obj) -> None:
    """A write pinned to a version other than the current one is a 409 before it is sent
    (resourceVersions are opaque: any other value, well formed or not, is not current)."""
    now = current["metadata"].get("resourceVersion")
    if resource_version != now:
        raise kube.Conflict(
            f"metadata.resourceVersion {resource_version!r} is not the model's current version "
            f"({now}): it changed since you read it, or that is not one of its versions. "
            "Read it again and apply your change to it.", reason="Conflict",
            current_resource_version=now, current=current)


class NamespaceList(KubeView):
    """The namespaces in which you may list models."""

    @extend_schema(
        operation_id="listNamespaces", summary="Namespaces whose models you may list",
        responses={200: NamespaceListSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        snapshot = synced_snapshot(SYNC_WAIT_SECONDS)
        names = kube.listable_namespaces(self.caller(), snapshot.namespaces)
        return Response({"items": [{"name": ns} for ns in names]})


class AllModelList(KubeView):
    """Models in every namespace you may list."""

    @extend_schema(
        operation_id="listAllModels", summary="Models in every namespace you may list",
        parameters=FILTERS + PAGING,
        responses={200: ModelListSerializer, **ERRORS})
    def get(self, request: Request) -> HttpResponseBase:
        snapshot = synced_snapshot(SYNC_WAIT_SECONDS)
        allowed = kube.listable_namespaces(self.caller(), snapshot.by_namespace)
        models = [m for ns in allowed for m in snapshot.in_namespace(ns)]
        # Versions of what this caller sees, never the cluster-wide one (finding 8).
        shown = _filtered(request, models)
        return model_list(request, kube.visible_version(shown), shown)


@extend_schema_view(get=extend_schema(parameters=[NAMESPACE]),
                    post=extend_schema(parameters=[NAMESPACE]))
class NamespaceModelList(KubeView):
    """Models of one namespace: list them, or create one."""

    @extend_schema(
        operation_id="listModels", summary="Models in a namespace", parameters=FILTERS + PAGING,
        responses={200: ModelListSerializer, **ERRORS})
    def get(self, request: Request, namespace: str) -> HttpResponseBase:
        _check_path(namespace)
        snapshot = synced_snapshot(SYNC_WAIT_SECONDS)
        kube.require_list(self.caller(), namespace)
        models = _filtered(request, snapshot.in_namespace(namespace))
        return model_list(request, kube.visible_version(models), models)

    @extend_schema(
        operation_id="createModel", summary="Create a model", request=ModelSerializer,
        parameters=[DRY_RUN],
        responses={201: ModelSerializer, **ERRORS})
    def post(self, request: Request, namespace: str) -> Response:
        _check_path(namespace)
        dry_run = self.dry_run()
        body = request.data
        if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
            body = {**body, "metadata": {"namespace": namespace, **body["metadata"]}}
        model = _validated(body)
        if model["metadata"]["namespace"] != namespace:
            raise kube.Invalid("The model is invalid.", errors=[FieldError(
                "metadata.namespace", f"Must be {namespace!r}, the namespace in the URL.")])
        created = kube.create_model(self.caller(), model, dry_run=dry_run)
        if not dry_run:
            wait_for_write(namespace, model["metadata"]["name"], created, FOLLOW_WRITE_SECONDS)
        return Response(created, status=status.HTTP_201_CREATED)


@extend_schema_view(**{verb: extend_schema(parameters=[NAMESPACE, NAME])
                       for verb in ("get", "put", "patch", "delete")})
class ModelDetail(KubeView):
    """One model: read, replace, change (JSON merge patch) or delete it."""

    @extend_schema(
        operation_id="readModel", summary="Read a model", responses={200: ModelSerializer, **ERRORS})
    def get(self, request: Request, namespace: str, name: str) -> Response:
        _check_path(namespace, name)
        return Response(kube.get_model(self.caller(), namespace, name))

    @extend_schema(
        operation_id="replaceModel", summary="Replace a model (metadata.resourceVersion required)",
        request=ModelSerializer, parameters=[DRY_RUN],
        responses={200: ModelSerializer, **ERRORS})
    def put(self, request: Request, namespace: str, name: str) -> Response:
        _check_path(namespace, name)
        dry_run = self.dry_run()
        current = kube.get_model(self.caller(), namespace, name)
        model = _validated(request.data, old=current)
        metadata = model["metadata"]
        problems = [FieldError(f"metadata.{key}", f"Must be {want!r}, as in the URL.")
                    for key, want in (("namespace", namespace), ("name", name))
                    if metadata.setdefault(key, want) != want]
        if not metadata.get("resourceVersion"):
            problems.append(FieldError("metadata.resourceVersion", "This field is required: "
                                       "the version your change is based on."))
        if problems:
            raise kube.Invalid("The model is invalid.", errors=problems)
        _require_current(metadata["resourceVersion"], current)
        replaced = kube.replace_model(self.caller(), model, dry_run=dry_run)
        if not dry_run:
            wait_for_write(namespace, name, replaced, FOLLOW_WRITE_SECONDS)
        return Response(replaced)

    @extend_schema(
        operation_id="patchModel", summary="Change a model with a JSON merge patch (RFC 7386)",
        request={"application/merge-patch+json": {"type": "object"},
                 "application/json": {"type": "object"}},
        parameters=[DRY_RUN], responses={200: ModelSerializer, **ERRORS})
    def patch(self, request: Request, namespace: str, name: str) -> Response:
        _check_path(namespace, name)
        dry_run = self.dry_run()
        patch = request.data
        if not isinstance(patch, dict):
            raise exceptions.ValidationError({"non_field_errors": [
                "A merge patch must be a JSON object."]})
        resource_version, change = _pinned_version(patch)
        current = kube.get_model(self.caller(), namespace, name)
        merged = kube.apply_merge_patch(current, change)
        _validated(merged, old=current)
        for key, want in (("namespace", namespace), ("name", name)):
            if merged["metadata"].get(key) != want:
                raise kube.Invalid("The model is invalid.", errors=[FieldError(
                    f"metadata.{key}", f"Must be {want!r}, as in the URL.")])
        if resource_version:  # the client's own precondition: a stale version is a 409
            _require_current(resource_version, current)
            patched = kube.patch_model(self.caller(), namespace, name, change,
                                       resource_version=resource_version, dry_run=dry_run)
        else:  # the three-way rule: only a field this patch changes, changed meanwhile, is a 409
            patched = kube.apply_change(self.caller(), current, change, dry_run=dry_run).model
        if not dry_run:
            wait_for_write(namespace, name, patched, FOLLOW_WRITE_SECONDS)
        return Response(patched)

    @extend_schema(
        operation_id="deleteModel", summary="Delete a model", parameters=[DRY_RUN, OpenApiParameter(
        "resourceVersion", str, description="Delete only if the model is still at this version.")],
        responses={204: None, **ERRORS})
    def delete(self, request: Request, namespace: str, name: str) -> Response:
        _check_path(namespace, name)
        dry_run = self.dry_run()
        try:
            kube.delete_model(self.caller(), namespace, name,
                              resource_version=request.query_params.get("resourceVersion") or None,
                              dry_run=dry_run)
        except kube.Conflict as conflict:  # the precondition failed: say what the version is
            current = kube.get_model(self.caller(), namespace, name)
            conflict.current_resource_version = current["metadata"].get("resourceVersion")
            raise
        if not dry_run:
            wait_for_write(namespace, name, None, FOLLOW_WRITE_SECONDS)
        return Response(status=status.HTTP_204_NO_CONTENT)


def not_found(request: HttpRequest) -> JsonResponse:
    """Unknown paths under /api/ answer in JSON too."""
    return JsonResponse({"detail": f"There is no API endpoint at {request.path}."}, status=404)
