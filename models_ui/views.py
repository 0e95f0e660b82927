"""Admin-style pages for KubeAI Models. Every Kubernetes call goes through `kube`.

Each view has the admin's shape: read the object (a vanished one is a warning
and a redirect, not a 500), bind the form, validate, save, message, redirect.
Service-layer errors not handled here become error pages in kmm.middleware.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlencode

import yaml
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

import kube
from console.panel import polled_model, polled_workload_events
from kmm.security import local_url
from kube.cache import synced_snapshot, wait_for_write
from models_ui import editing, switching
from models_ui.bulk import apply_to_each, selected_models
from models_ui.changelist import ChangeList
from models_ui.cluster_schema import cluster_model
from models_ui.data import (
    CACHE_WAIT_SECONDS,
    Rights,
    creatable_namespaces,
    explain_not_ready,
    pods_fingerprint,
    visible_models,
    visible_namespaces,
)
from models_ui.forms import FIELDSETS, ROW_KINDS, ModelEditForm
from models_ui.presenters import ModelRow, to_yaml
from models_ui.yaml_form import YamlForm
from modelspec.errors import FieldError
from modelspec.listing import (
    PUBLISH_ANNOTATION,
    is_published,
    listing_entries,
    validate_listing,
)
from modelspec.names import is_namespace_name
from modelspec.schema import SECTIONS, node_at

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
    version = kube.visible_version(models)  # what this caller sees, nothing else (finding 8)
    # A not-fine row's reason comes from its pods, which can change while the models do not
    # (the scheduler gives up after KubeAI's last write): what the caller may see of them, in
    # the watch caches, joins the ETag.
    pods = pods_fingerprint(_caller(request), models)
    etag = f'"{version}-{query}-{pods}"' if pods else f'"{version}-{query}"'
    if _conditional(request, etag):
        return _not_modified(etag)
    changelist = ChangeList(request.GET, (ModelRow(m) for m in models), path=request.path)
    explain_not_ready(_caller(request), changelist.rows)
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
    targets = selected_models(request)
    keys = [f"{namespace}/{name}" for namespace, name in targets]
    back = local_url(request, request.POST.get("next", ""), reverse("models_ui:list"))
    if not keys:
        messages.warning(request, "Select the models to delete first.")
        return HttpResponseRedirect(back)
    if request.POST.get("confirm") != "yes":
        snapshot = synced_snapshot(CACHE_WAIT_SECONDS)
        published = [f"{ns}/{name}" for ns, name in targets
                     if (model := snapshot.get(ns, name)) and ModelRow(model).published]
        return render(request, "models_ui/delete_selected.html",
                      {"targets": targets, "keys": keys, "next": back, "published": published})
    caller = _caller(request)

    def delete(namespace: str, name: str) -> None:
        kube.delete_model(caller, namespace, name)
        wait_for_write(namespace, name, None)

    apply_to_each(request, targets, delete, "deleted", "Deleted {count} model{s}.")
    return HttpResponseRedirect(back)


# --- detail -----------------------------------------------------------------------------

@require_GET
def model_detail(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    caller = _caller(request)
    # The live part's poll reads kmm's watch caches (after the caller's access reviews):
    # an open page costs the API server no reads.
    poll = bool(request.htmx) and request.htmx.target == "model-live"  # type: ignore[attr-defined]
    try:
        model = polled_model(caller, namespace, name) if poll else kube.get_model(
            caller, namespace, name)
    except kube.NotFound:
        if request.htmx:  # type: ignore[attr-defined]
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("models_ui:list")
            messages.warning(request, f"The model “{name}” was deleted.")
            return response
        return _missing(request, namespace, name)
    try:
        events: list[Obj] | None = (polled_workload_events(caller, model) if poll else
                                    kube.list_workload_events(caller, model, limit=20))
    except kube.Forbidden:
        events = None  # a viewer without rights on events still sees the model
    etag = '"' + hashlib.sha256(repr((model["metadata"]["resourceVersion"], [
        (e["metadata"].get("uid"), e["metadata"].get("resourceVersion")) for e in events or []
    ], pods_fingerprint(caller, [model]))).encode()).hexdigest()[:32] + '"'
    if _conditional(request, etag):
        return _not_modified(etag)
    rights = Rights(caller)
    row = ModelRow(model)
    explain_not_ready(caller, [row])
    context = {"row": row, "events": events, "fieldsets": detail_fieldsets(model),
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
        items += [(form.row_kinds[prefix].title,
                   *_display_rows(prefix, form.initial_rows(prefix)))
                  for prefix in fieldset.rows]
        shown = [item for item in items if item[1] != "empty"]  # unset fields take defaults
        if shown:
            groups.append((fieldset.title, shown))
    known = schema.child("spec").properties
    other = {k: v for k, v in (model.get("spec") or {}).items() if k not in known}
    if other:
        title = next(s.title for s in SECTIONS if s.slug == "other")
        groups.append((title, [(key, "yaml", to_yaml_value(value)) for key, value in other.items()]))
    return groups


def _display_rows(prefix: str, rows: list[dict[str, Any]]) -> tuple[str, Any]:
    """Environment variables as KEY=value lines, arguments one a line, labels as chips."""
    if prefix == "env" and rows:
        return "lines", [f"{row['name']}={row['value']}" for row in rows]
    if prefix == "args" and rows:
        return "lines", [row["value"] for row in rows]
    if prefix == "labels" and rows:
        return "tags", [f"{row['key']}={row['value']}" for row in rows]
    return _display(rows)


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
    if request.method == "POST" and request.POST.get("_switch"):
        return _switch_tab(request, form, base=None, namespace=namespace)
    if request.method == "POST" and form.is_valid():
        desired = form.cleaned_data["text"] if isinstance(form, YamlForm) else form.to_object()
        try:
            created = editing.create(_caller(request), desired)
        except kube.Invalid as exc:
            form.add_api_errors(exc.errors)
        except kube.AlreadyExists as exc:
            _already_exists(form, exc)
        except (kube.NotFound, kube.Forbidden) as exc:
            _namespace_refused(form, exc, str(desired["metadata"].get("namespace", "")))
            # The form comes back with the error on the namespace; a refusal stays a 403.
            return _render_form(request, form, status=exc.status if isinstance(
                exc, kube.Forbidden) else 400)
        else:
            return _saved(request, created, "added")
    return _render_form(request, form, status=400 if form.is_bound else 200)


def _namespace_refused(form: ModelEditForm | YamlForm, exc: kube.KubeError,
                       namespace: str) -> None:
    """Creating in a namespace that does not exist (a typo) or that the caller may not
    write to is an error on the namespace, with the form kept."""
    if isinstance(exc, kube.NotFound):
        message = f"There is no namespace “{namespace}”."
    else:
        message = f"You may not create models in namespace “{namespace}” (or it does not exist)."
    if isinstance(form, ModelEditForm):
        form.add_error("namespace", message)
    else:
        form.add_api_errors([FieldError("metadata.namespace", message)])


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
    if request.POST.get("_switch"):
        return _switch_tab(request, form, base=original, namespace=namespace)
    if not form.is_valid():
        return _render_form(request, form, original=original, status=400)
    change = editing.change_of(form, original)
    if not change:
        messages.info(request, f"The model “{name}” in namespace “{namespace}” was not changed: "
                               "nothing was edited.")
        return _after_save(request, namespace, name)
    try:
        applied = editing.update(caller, original, change)
    except kube.Conflict as exc:
        if exc.current is None:
            raise
        conflict = editing.conflict_view(original, change, exc)
        return _render_form(request, form, original=original, conflict=conflict, status=409)
    except kube.NotFound:
        return _missing(request, namespace, name)
    except kube.Invalid as exc:
        form.add_api_errors(exc.errors)
        return _render_form(request, form, original=original, status=400)
    return _saved(request, applied.model, "changed", note=_rebased_note(applied))


def _rebased_note(applied: kube.Applied) -> str:
    if not applied.rebased:
        return ""
    elsewhere = ", ".join(applied.moved_on) if applied.moved_on else "its status only"
    return (f" It had also changed elsewhere since you opened it ({elsewhere}); your change "
            "was applied to that newer version.")


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


def _switch_tab(request: HttpRequest, form: ModelEditForm | YamlForm, *, base: Obj | None,
                namespace: str) -> HttpResponse:
    """The other tab, showing the unsaved values of this one (or this one, saying why not)."""
    wanted = request.POST.get("_switch")
    switched: ModelEditForm | YamlForm | None = form
    if wanted == "yaml" and isinstance(form, ModelEditForm):
        switched = switching.to_yaml_tab(form, base=base, namespace=namespace)
    elif wanted == "form" and isinstance(form, YamlForm):
        switched = switching.to_form_tab(form, base=base, namespace=namespace)
    if switched is None:
        return _render_form(request, form, original=base, status=400)
    return _render_form(request, switched, original=base)


def _saved(request: HttpRequest, model: Obj, verb: str, note: str = "") -> HttpResponse:
    namespace, name = model["metadata"]["namespace"], model["metadata"]["name"]
    wait_for_write(namespace, name, model)
    messages.success(request, f"The model “{name}” in namespace “{namespace}” was {verb}.{note}")
    return _after_save(request, namespace, name)


def _after_save(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    if "_continue" in request.POST:
        return redirect("models_ui:change", namespace, name)
    if "_addanother" in request.POST:
        return HttpResponseRedirect(reverse("models_ui:add") + f"?namespace={namespace}")
    return HttpResponseRedirect(_detail_url(namespace, name))


# Fieldsets most models leave empty: folded until opened, unless they hold a value or an error.
COLLAPSIBLE = frozenset({"load-balancing", "server", "adapters", "files", "listing"})

# What the schema's descriptions do not say, but an operator setting the field must know.
FIELD_NOTES = {
    "replicas": "KubeAI's autoscaler manages this number between min and max replicas: a value "
                "set here holds only until its next decision, unless autoscaling is disabled "
                "below.",
}


def _fieldset_views(form: ModelEditForm) -> list[tuple[Any, bool, bool]]:
    """(fieldset, collapsible, open) for the form template."""
    views = []
    for fieldset in form.fieldsets:
        collapsible = fieldset.slug in COLLAPSIBLE
        views.append((fieldset, collapsible, collapsible and _holds_something(form, fieldset)))
    return views


def _holds_something(form: ModelEditForm, fieldset: Any) -> bool:
    """Whether a fieldset holds an error, or a value other than the schema's default (the
    API server writes defaults into every model: they do not make a section worth opening)."""
    for name in fieldset.fields:
        field = form[name]
        if field.errors:
            return True
        value = field.value()
        if value not in (None, "", [], False) and str(value) != str(_default(name)):
            return True
    for prefix in fieldset.rows:
        rows = form.formsets[prefix]
        if form.row_errors.get(prefix):
            return True
        if rows.is_bound and (rows.total_error_count() or any(f.has_changed() for f in rows.forms)):
            return True
        if not rows.is_bound and rows.initial:
            return True
    return False


def _default(field: str) -> Any:
    path = field.replace("__", ".")
    try:
        return node_at(path).default
    except (KeyError, ValueError, AttributeError):
        return None


def _render_form(request: HttpRequest, form: ModelEditForm | YamlForm, *,
                 original: Obj | None = None,
                 conflict: editing.ConflictView | None = None, status: int = 200) -> HttpResponse:
    yaml_mode = isinstance(form, YamlForm)
    namespace_param = request.GET.get("namespace", "")
    # Explicit, as a tab switch renders the other mode at this mode's URL.
    action = "?" + urlencode({k: v for k, v in (("namespace", namespace_param),
                                                 ("mode", "yaml" if yaml_mode else "")) if v})
    context = {
        "form": form,
        "form_action": action,
        "yaml_mode": yaml_mode,
        "fieldsets": form.fieldsets if isinstance(form, ModelEditForm) else FIELDSETS,
        "fieldset_views": _fieldset_views(form) if isinstance(form, ModelEditForm) else [],
        "field_notes": FIELD_NOTES,
        "row_kinds": form.row_kinds if isinstance(form, ModelEditForm) else ROW_KINDS,
        "original": original,
        "original_token": editing.seal_original(original) if original else "",
        "conflict": conflict,
        "namespaces": _namespaces(request),
        "namespace_param": namespace_param,
    }
    if isinstance(form, ModelEditForm) and form.base is None:
        _offer_namespaces(form, creatable_namespaces(_caller(request)))
    return render(request, "models_ui/model_form.html", context, status=status)


def _offer_namespaces(form: ModelEditForm, choices: list[str] | None) -> None:
    """The namespace as a choice of those the caller may create in, when they can be listed;
    a value typed elsewhere (the YAML tab) stays selected so its error shows on it."""
    if not choices:
        return
    current = str(form["namespace"].value() or "")
    options = [("", "Choose a namespace"), *((ns, ns) for ns in choices)]
    if current and current not in choices:
        options.append((current, current))
    form.fields["namespace"].widget = forms.Select(choices=options)


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


@require_http_methods(["GET", "POST"])
def model_publish(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """Turn publication on the public endpoint on or off (the publish annotation).

    Publishing asks first, showing the entry anyone will be able to read; stopping
    does not (it only takes something public away)."""
    publish = request.POST.get("publish", "true") == "true"
    try:
        model = kube.get_model(_caller(request), namespace, name)
    except kube.NotFound:
        return _missing(request, namespace, name)
    if publish and (request.method == "GET" or request.POST.get("confirm") != "yes"):
        entries = listing_entries(model)
        pricing = entries[0]["pricing"]
        return render(request, "models_ui/publish_confirm.html", {
            "row": ModelRow(model), "entries_json": json.dumps(entries, indent=2),
            "free": all(str(pricing.get(k, "0")) in ("0", "0.0") for k in ("prompt", "completion")),
            "listing_problems": validate_listing(model)})
    if request.method == "GET":
        return HttpResponseRedirect(_detail_url(namespace, name))
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
    return render(request, "models_ui/model_delete.html", {"row": ModelRow(model)})  # row.published


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
