"""Admin-style pages for KubeAI Models. Every Kubernetes call goes through `kube`.

Each view has the admin's shape: read the object (a vanished one is a warning
and a redirect, not a 500), bind the form, validate, save, message, redirect.
Service-layer errors not handled here become error pages in kmm.middleware.
"""

from __future__ import annotations

import hashlib
from typing import Any

import yaml
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

import kube
from kmm.security import local_url
from kube.cache import wait_for_write
from models_ui import editing
from models_ui.changelist import ChangeList
from models_ui.cluster_schema import cluster_model
from models_ui.data import Rights, visible_models, visible_namespaces
from models_ui.forms import FIELDSETS, ROW_KINDS, ModelEditForm
from models_ui.presenters import ModelRow, to_yaml
from models_ui.yaml_form import YamlForm
from modelspec.errors import FieldError
from modelspec.listing import PUBLISH_ANNOTATION, is_published, validate_listing
from modelspec.names import is_namespace_name, model_key
from modelspec.schema import SECTIONS

Obj = dict[str, Any]


def _caller(request: HttpRequest) -> kube.Caller:
    return request.kube  # type: ignore[attr-defined,no-any-return]


def _namespaces(request: HttpRequest) -> list[str]:
    return visible_namespaces(_caller(request))


def _detail_url(namespace: str, name: str) -> str:
    return reverse("models_ui:detail", args=[namespace, name])


def _missing(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    messages.warning(request, f"The model “{name}” in namespace “{namespace}” does not exist; "
                              "perhaps it was deleted.")
    return redirect("models_ui:list")


def _conditional(request: HttpRequest, etag: str) -> bool:
    """True when an htmx poll already has this version (answer 304, nothing to swap)."""
    return bool(request.htmx) and request.headers.get("If-None-Match") == etag  # type: ignore[attr-defined]


def _not_modified(etag: str) -> HttpResponse:
    response = HttpResponse(status=304)
    response["ETag"] = etag
    return response


def _finish(request: HttpRequest, response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


# --- change list ----------------------------------------------------------------------

@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    namespace = request.GET.get("namespace") or None
    if namespace is not None and not is_namespace_name(namespace):
        raise Http404("Not a namespace name.")
    models, _ = visible_models(_caller(request), namespace)
    query = hashlib.sha256(request.GET.urlencode().encode()).hexdigest()[:12]
    etag = f'"{kube.visible_version(models)}-{query}"'
    if _conditional(request, etag):
        return _not_modified(etag)
    changelist = ChangeList(request.GET, (ModelRow(m) for m in models), path=request.path)
    rights = Rights(_caller(request))
    context = {"cl": changelist, "namespace": namespace or "", "etag": etag,
               "can_add": rights.can_add(namespace),
               "rights": rights.for_namespaces({row.namespace for row in changelist.rows})}
    if request.htmx and request.htmx.target == "changelist-results":  # type: ignore[attr-defined]
        return _finish(request, render(request, "models_ui/model_list.html#results", context), etag)
    context["namespaces"] = _namespaces(request)
    return _finish(request, render(request, "models_ui/model_list.html", context), etag)


@require_POST
def delete_selected(request: HttpRequest) -> HttpResponse:
    """The admin's bulk action: a confirmation page listing every model, then delete them."""
    posted = sorted(set(request.POST.getlist("selected")))
    targets = [target for key in posted if (target := model_key(key)) is not None]
    keys = [f"{namespace}/{name}" for namespace, name in targets]
    back = local_url(request, request.POST.get("next", ""), reverse("models_ui:list"))
    if len(keys) != len(posted):  # never echoed: a key may carry any text
        messages.warning(request, f"{len(posted) - len(keys)} of the selected entries were not "
                                  "model names and were left out.")
    if not keys:
        messages.warning(request, "Select the models to delete first.")
        return HttpResponseRedirect(back)
    if request.POST.get("confirm") != "yes":
        return render(request, "models_ui/delete_selected.html",
                      {"targets": targets, "keys": keys, "next": back})
    deleted = 0
    for namespace, name in targets:
        try:
            kube.delete_model(_caller(request), namespace, name)
            wait_for_write(namespace, name, None)
            deleted += 1
        except kube.NotFound:
            messages.warning(request, f"“{namespace}/{name}” was already gone.")
        except kube.KubeError as exc:
            messages.error(request, f"“{namespace}/{name}” was not deleted: {exc.message}")
    if deleted:
        messages.success(request, f"Deleted {deleted} model{'s' if deleted != 1 else ''}.")
    return HttpResponseRedirect(back)


# --- detail -----------------------------------------------------------------------------

@require_GET
def model_detail(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    caller = _caller(request)
    try:
        model = kube.get_model(caller, namespace, name)
    except kube.NotFound:
        if request.htmx:  # type: ignore[attr-defined]
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("models_ui:list")
            messages.warning(request, f"The model “{name}” was deleted.")
            return response
        return _missing(request, namespace, name)
    try:
        events: list[Obj] | None = kube.list_model_events(caller, namespace, name, limit=20)
    except kube.Forbidden:
        events = None  # a viewer without rights on events still sees the model
    etag = '"' + hashlib.sha256(repr((model["metadata"]["resourceVersion"], [
        (e["metadata"].get("uid"), e["metadata"].get("resourceVersion")) for e in events or []
    ])).encode()).hexdigest()[:32] + '"'
    if _conditional(request, etag):
        return _not_modified(etag)
    rights = Rights(caller)
    context = {"row": ModelRow(model), "events": events, "fieldsets": detail_fieldsets(model),
               "etag": etag, "can_change": rights.can_change(namespace),
               "can_delete": rights.can_delete(namespace),
               "published": is_published(model, settings.KMM_PUBLISH_MODE,
                                         settings.KMM_PUBLISH_NAMESPACES),
               "publish_flag": (model["metadata"].get("annotations") or {}).get(
                   PUBLISH_ANNOTATION, ""),
               "listing_problems": validate_listing(model)}
    if request.htmx and request.htmx.target == "model-live":  # type: ignore[attr-defined]
        return _finish(request, render(request, "models_ui/model_detail.html#live", context), etag)
    return _finish(request, render(request, "models_ui/model_detail.html", context), etag)


def detail_fieldsets(model: Obj) -> list[tuple[str, list[tuple[str, str, Any]]]]:
    """The form's fieldsets with each field's current value, for the read-only page.

    Each item is (label, kind, value); kind tells the template how to show it:
    "empty", "bool", "tags" (a list of strings), "rows" (a list of dicts), "yaml" or "text".
    Spec fields kmm's schema does not know come last, as YAML, under "Other fields".
    """
    schema = cluster_model()
    form = ModelEditForm(base=model, model=schema)
    groups = []
    for fieldset in form.fieldsets:
        items = [(str(form.fields[name].label), *_display(form.initial.get(name)))
                 for name in fieldset.fields]
        items += [(form.row_kinds[prefix].title, *_display(form.initial_rows(prefix)))
                  for prefix in fieldset.rows]
        groups.append((fieldset.title, items))
    known = schema.child("spec").properties
    other = {k: v for k, v in (model.get("spec") or {}).items() if k not in known}
    if other:
        title = next(s.title for s in SECTIONS if s.slug == "other")
        groups.append((title, [(key, "yaml", to_yaml_value(value)) for key, value in other.items()]))
    return groups


def to_yaml_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, sort_keys=False, default_flow_style=False).strip()
    return str(value)


def _display(value: Any) -> tuple[str, Any]:
    if value is None or value == "" or value == []:
        return "empty", None
    if isinstance(value, bool):
        return "bool", value
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        rows = [{k: v for k, v in item.items() if v not in ("", None, False)} for item in value]
        return "rows", rows
    if isinstance(value, list):
        return "tags", value
    return "text", value


@require_GET
def model_yaml(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    try:
        model = kube.get_model(_caller(request), namespace, name)
    except kube.NotFound:
        return _missing(request, namespace, name)
    response = HttpResponse(to_yaml(model), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{namespace}-{name}.yaml"'
    return response


# --- add and change ----------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def model_add(request: HttpRequest) -> HttpResponse:
    namespace = request.GET.get("namespace", "")
    if not is_namespace_name(namespace):  # only a suggestion for the form: drop a bad one
        namespace = ""
    yaml_mode = request.GET.get("mode") == "yaml"
    data = request.POST if request.method == "POST" else None
    model = cluster_model()
    form: ModelEditForm | YamlForm = (YamlForm(data, namespace=namespace, model=model) if yaml_mode
                                      else ModelEditForm(data, namespace=namespace, model=model))
    if request.method == "POST" and form.is_valid():
        desired = form.cleaned_data["text"] if isinstance(form, YamlForm) else form.to_object()
        try:
            created = editing.create(_caller(request), desired)
        except kube.Invalid as exc:
            form.add_api_errors(exc.errors)
        except kube.AlreadyExists as exc:
            _already_exists(form, exc)
        else:
            return _saved(request, created, "added")
    return _render_form(request, form, status=400 if form.is_bound else 200)


def _already_exists(form: ModelEditForm | YamlForm, exc: kube.AlreadyExists) -> None:
    if isinstance(form, ModelEditForm):
        form.add_error("name", exc.message)
    else:
        form.add_api_errors([FieldError("metadata.name", exc.message)])


@require_http_methods(["GET", "POST"])
def model_change(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    caller = _caller(request)
    yaml_mode = request.GET.get("mode") == "yaml"
    if request.method == "GET":
        try:
            current = kube.get_model(caller, namespace, name)
        except kube.NotFound:
            return _missing(request, namespace, name)
        form: ModelEditForm | YamlForm = (YamlForm(base=current, model=cluster_model()) if yaml_mode
                                          else ModelEditForm(base=current, model=cluster_model()))
        return _render_form(request, form, original=current)

    original = editing.open_original(request.POST.get("original", ""))
    if original is None or original["metadata"].get("name") != name \
            or original["metadata"].get("namespace") != namespace:
        messages.error(request, "The form was damaged or expired; here is the model as it is now.")
        return redirect("models_ui:change", namespace, name)
    form = (YamlForm(request.POST, base=original, model=cluster_model()) if yaml_mode
            else ModelEditForm(request.POST, base=original, model=cluster_model()))
    if not form.is_valid():
        return _render_form(request, form, original=original, status=400)
    desired = form.cleaned_data["text"] if isinstance(form, YamlForm) else form.to_object()
    try:
        saved = editing.update(caller, original, desired)
    except kube.Conflict as exc:
        if exc.current is None:
            raise
        conflict = editing.conflict_view(original, desired, exc.current)
        return _render_form(request, form, original=original, conflict=conflict, status=409)
    except kube.NotFound:
        return _missing(request, namespace, name)
    except kube.Invalid as exc:
        form.add_api_errors(exc.errors)
        return _render_form(request, form, original=original, status=400)
    return _saved(request, saved, "changed")


@require_POST
def model_reapply(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """From the conflict page: apply the operator's change to the version they just reviewed."""
    try:
        saved = editing.reapply(_caller(request), request.POST.get("change", ""),
                                request.POST.get("resource_version", ""))
    except kube.Conflict:
        messages.error(request, "The model changed again while you were reviewing it. Your "
                                "change was not saved; edit the model again.")
        return redirect("models_ui:change", namespace, name)
    except kube.Invalid as exc:
        for error in exc.errors:
            messages.error(request, f"{error.path}: {error.message}" if error.path else error.message)
        return redirect("models_ui:change", namespace, name)
    return _saved(request, saved, "changed")


def _saved(request: HttpRequest, model: Obj, verb: str) -> HttpResponse:
    namespace, name = model["metadata"]["namespace"], model["metadata"]["name"]
    wait_for_write(namespace, name, model)
    messages.success(request, f"The model “{name}” in namespace “{namespace}” was {verb}.")
    if "_continue" in request.POST:
        return redirect("models_ui:change", namespace, name)
    if "_addanother" in request.POST:
        return HttpResponseRedirect(reverse("models_ui:add") + f"?namespace={namespace}")
    return HttpResponseRedirect(_detail_url(namespace, name))


def _render_form(request: HttpRequest, form: ModelEditForm | YamlForm, *, original: Obj | None = None,
                 conflict: editing.ConflictView | None = None, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "yaml_mode": isinstance(form, YamlForm),
        "fieldsets": form.fieldsets if isinstance(form, ModelEditForm) else FIELDSETS,
        "row_kinds": form.row_kinds if isinstance(form, ModelEditForm) else ROW_KINDS,
        "original": original,
        "original_token": editing.seal_original(original) if original else "",
        "conflict": conflict,
        "namespaces": _namespaces(request),
        "namespace_param": request.GET.get("namespace", ""),
    }
    return render(request, "models_ui/model_form.html", context, status=status)


@require_GET
def model_version(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """Polled by an open edit form: says so when the model changed elsewhere (204 otherwise)."""
    seen = request.GET.get("rv", "")
    try:
        current = kube.get_model(_caller(request), namespace, name)
    except kube.NotFound:
        return render(request, "models_ui/includes/changed_elsewhere.html", {"deleted": True})
    if current["metadata"]["resourceVersion"] == seen:
        return HttpResponse(status=204)
    return render(request, "models_ui/includes/changed_elsewhere.html", {"current": current})


@require_POST
def model_publish(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """Turn publication on the public endpoint on or off (the publish annotation)."""
    publish = request.POST.get("publish") == "true"
    patch = {"metadata": {"annotations": {PUBLISH_ANNOTATION: "true" if publish else "false"}}}
    try:
        saved = kube.patch_model(_caller(request), namespace, name, patch)
    except kube.NotFound:
        return _missing(request, namespace, name)
    wait_for_write(namespace, name, saved)
    listed = is_published(saved, settings.KMM_PUBLISH_MODE, settings.KMM_PUBLISH_NAMESPACES)
    state = "now published" if listed else "not published"
    messages.success(request, f"The model “{name}” is {state} on /public/api/models.")
    return HttpResponseRedirect(_detail_url(namespace, name))


# --- delete -----------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def model_delete(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    caller = _caller(request)
    try:
        model = kube.get_model(caller, namespace, name)
    except kube.NotFound:
        return _missing(request, namespace, name)
    if request.method == "POST":
        try:
            kube.delete_model(caller, namespace, name)
        except kube.NotFound:
            return _missing(request, namespace, name)
        wait_for_write(namespace, name, None)
        messages.success(request, f"The model “{name}” in namespace “{namespace}” was deleted.")
        return HttpResponseRedirect(reverse("models_ui:list") + f"?namespace={namespace}")
    return render(request, "models_ui/model_delete.html", {"row": ModelRow(model)})


# --- rows (htmx) ------------------------------------------------------------------------

@require_GET
def add_row(request: HttpRequest, prefix: str) -> HttpResponse:
    """One more blank row for a repeating fieldset, and TOTAL_FORMS bumped out of band."""
    kind = ROW_KINDS.get(prefix)
    if kind is None:
        raise Http404("No such row kind.")
    try:
        index = max(0, int(request.GET.get(f"{prefix}-TOTAL_FORMS", "0")))
    except ValueError:
        index = 0
    context = {"kind": kind, "index": index, "total": index + 1,
               "full": index >= kind.max_rows,
               "row": kind.form(prefix=f"{prefix}-{index}")}
    return render(request, "models_ui/includes/row_added.html", context)
