"""The operator console: why not ready, scaling, catalog, test prompt, clone, export, import.

Every read of a single object and every write is made with the caller's identity; the
polled panel reads kmm's watch caches and shows each user only what their RBAC lets
them list (access reviews, remembered briefly).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

import kube
from console import prompt, transfer
from console.catalog import CatalogError, find_preset, load_catalog
from console.diagnosis import CACHE_WAIT_SECONDS, caller_fit
from console.panel import panel_context, panel_etag, polled_model
from kmm.security import local_url
from kube.cache import model_cache, synced_snapshot, wait_for_write
from kube.scaling import set_replicas
from kube.watches import fleet
from models_ui import views as model_views
from models_ui.bulk import apply_to_each, selected_models
from models_ui.cluster_schema import cluster_model
from models_ui.data import visible_namespaces
from models_ui.forms import ModelEditForm
from models_ui.presenters import ModelRow

Obj = dict[str, Any]


def _caller(request: HttpRequest) -> kube.Caller:
    return request.kube  # type: ignore[attr-defined,no-any-return]


def _back(request: HttpRequest, default: str) -> str:
    return local_url(request, request.POST.get("next") or request.GET.get("next") or "", default)


# --- 1. why not ready -------------------------------------------------------------------

@require_GET
def panel(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """The why-not-ready panel, polled by the detail page (304 while nothing changed)."""
    caller = _caller(request)
    try:
        model = polled_model(caller, namespace, name)
    except kube.NotFound:
        return HttpResponse(status=204)
    etag = panel_etag(caller, model)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = render(request, "console/includes/panel.html",
                          panel_context(request, model, etag))
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response


# --- 2. scaling ---------------------------------------------------------------------------

def _target(op: str, current: int, requested: str, minimum: int) -> int | None:
    if op == "zero":
        return 0
    if op == "up":
        return current + 1
    if op == "down":
        return max(0, current - 1)
    if op in ("wake", "set"):
        try:
            return max(0, min(1000, int(requested)))
        except ValueError:
            return max(1, minimum) if op == "wake" else None
    return None


def _wait_for_replicas(namespace: str, name: str, replicas: int) -> None:
    def seen(snapshot: Any) -> bool:
        model = snapshot.get(namespace, name)
        return model is not None and (model.get("spec") or {}).get("replicas") == replicas
    model_cache().wait_until(seen, 1.0)


@require_POST
def scale(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """Scale through the Model's scale subresource: zero, wake, +1, -1, or a number."""
    caller = _caller(request)
    back = _back(request, reverse("models_ui:detail", args=[namespace, name]))
    model = kube.get_model(caller, namespace, name)
    replicas = int((model.get("spec") or {}).get("replicas") or 0)
    minimum = int((model.get("spec") or {}).get("minReplicas") or 0)
    op = request.POST.get("op") or request.GET.get("op", "")
    target = _target(op, replicas, request.POST.get("replicas", ""),
                     minimum)
    if target is None:
        messages.error(request, "Give the number of replicas as a whole number.")
        return HttpResponseRedirect(back)
    set_replicas(caller, model, target)
    _wait_for_replicas(namespace, name, target)
    note = ""
    if target != replicas and _autoscaled(model):
        note = " KubeAI's autoscaler may change it again (autoscaling is on)."
    messages.success(request, f"“{name}” scaled from {replicas} to {target} "
                              f"replica{'s' if target != 1 else ''}.{note}")
    return HttpResponseRedirect(back)


def _autoscaled(model: Obj) -> bool:
    spec = model.get("spec") or {}
    return not spec.get("autoscalingDisabled")


@require_POST
def pin(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """Instead of a replica count the autoscaler overrides: pin minReplicas/maxReplicas."""
    caller = _caller(request)
    back = _back(request, reverse("models_ui:detail", args=[namespace, name]))
    try:
        replicas = max(0, min(1000, int(request.POST.get("replicas", ""))))
    except ValueError:
        messages.error(request, "Give the number of replicas as a whole number.")
        return HttpResponseRedirect(back)
    model = kube.get_model(caller, namespace, name)
    spec: Obj = {"minReplicas": replicas, "replicas": replicas}
    if replicas > 0:
        spec["maxReplicas"] = replicas
    saved = kube.patch_model(caller, namespace, name, {"spec": spec},
                             resource_version=model["metadata"]["resourceVersion"])
    wait_for_write(namespace, name, saved)
    what = f"min and max replicas pinned to {replicas}" if replicas else "minReplicas set to 0"
    messages.success(request, f"“{name}”: {what}.")
    return HttpResponseRedirect(back)


@require_POST
def scale_selected_to_zero(request: HttpRequest) -> HttpResponse:
    """The change list's bulk action "Scale selected to zero"."""
    caller = _caller(request)
    back = _back(request, reverse("models_ui:list"))
    targets = selected_models(request)
    if not targets:
        messages.warning(request, "Select the models to scale to zero first.")
        return HttpResponseRedirect(back)

    def scale_to_zero(namespace: str, name: str) -> None:
        set_replicas(caller, kube.get_model(caller, namespace, name), 0)
        _wait_for_replicas(namespace, name, 0)

    apply_to_each(request, targets, scale_to_zero, "scaled", "Scaled {count} model{s} to zero.")
    return HttpResponseRedirect(back)


# --- 3. catalog ---------------------------------------------------------------------------

@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    caller = _caller(request)
    query = request.GET.get("q", "").strip()
    namespaces = visible_namespaces(caller)
    namespace = request.GET.get("namespace") or (namespaces[0] if namespaces else "")
    if namespace and namespace not in namespaces:  # not known yet; the add form checks rights
        namespaces = sorted([*namespaces, namespace])
    try:
        presets = load_catalog()
        problem = ""
    except CatalogError as exc:
        presets, problem = [], str(exc)
    shown = [p for p in presets if p.matches(query)] if query else presets
    source = fleet()
    source.wait_synced(CACHE_WAIT_SECONDS)  # a process's first page: the watches are starting
    rows = [(p, caller_fit(caller, p.resource_profile, source)) for p in shown]
    return render(request, "console/catalog.html", {
        "rows": rows, "query": query, "namespace": namespace, "namespaces": namespaces,
        "problem": problem, "total": len(presets),
        "can_add": kube.allowed(caller, "create", namespace or None)})


@require_http_methods(["GET", "POST"])
def deploy(request: HttpRequest, preset: str) -> HttpResponse:
    """The add form prefilled from a preset; its POST is the add form's."""
    if request.method == "POST":
        return model_views.model_add(request)
    found = find_preset(preset)
    if found is None:
        messages.warning(request, f"The catalog has no preset “{preset}”.")
        return redirect("console:catalog")
    namespace = request.GET.get("namespace", "")
    form = ModelEditForm(namespace=namespace, start=found.to_model(namespace),
                         model=cluster_model())
    return model_views._render_form(request, form)


@require_GET
def form_fit(request: HttpRequest) -> HttpResponse:
    """The fit check beside the form's resource profile (htmx)."""
    profile = request.GET.get("resource_profile", "").strip()
    count = request.GET.get("resource_count", "").strip() or "1"
    value = f"{profile}:{count}" if profile else ""
    fit = caller_fit(_caller(request), value) if profile else None
    return render(request, "console/includes/fit.html", {"fit": fit})


# --- 4. test prompt ----------------------------------------------------------------------

def _prompt_model(request: HttpRequest, namespace: str, name: str) -> tuple[Obj, str]:
    caller = _caller(request)
    if not kube.allowed(caller, "update", namespace):
        raise kube.Forbidden(f"Forbidden: the test prompt needs update on models.kubeai.org "
                             f"in namespace {namespace!r} (an inference call costs GPU "
                             "time).", verb="update", resource="models.kubeai.org",
                             namespace=namespace)
    model = kube.get_model(caller, namespace, name)
    kind = prompt.prompt_kind(ModelRow(model).features)
    if kind is None:
        raise kube.BadRequest("The test prompt serves TextGeneration, TextEmbedding and "
                              "Reranking models.")
    return model, kind


@require_POST
def send_prompt(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    model, kind = _prompt_model(request, namespace, name)
    text = request.POST.get("prompt", "").strip()
    if not text:
        return render(request, "console/includes/prompt_result.html",
                      {"error": "Type a prompt first."}, status=400)
    if len(text) > prompt.MAX_PROMPT_CHARS:
        return render(request, "console/includes/prompt_result.html",
                      {"error": f"At most {prompt.MAX_PROMPT_CHARS} characters."}, status=400)
    documents = [d.strip() for d in request.POST.get("documents", "").splitlines() if d.strip()]
    row = ModelRow(model)
    if row.ready_replicas > 0:
        answer = prompt.send(kind, name, text, documents[:20])
        return render(request, "console/includes/prompt_result.html", {"answer": answer})
    job = prompt.start(kind, name, text, documents[:20])
    return render(request, "console/includes/prompt_result.html",
                  _waking(request, namespace, name, job, text, documents))


def _waking(request: HttpRequest, namespace: str, name: str, job: str, text: str,
            documents: list[str]) -> dict[str, Any]:
    model = synced_snapshot().get(namespace, name) or {}
    row = ModelRow(model)
    pods = fleet().pods.lookup(namespace, name)
    phases = [str((p.get("status") or {}).get("phase") or "Pending") for p in pods]
    return {"waking": True, "job": job, "prompt": text, "documents": "\n".join(documents),
            "namespace": namespace, "name": name, "row": row, "pod_phases": phases}


@require_POST
def prompt_progress(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """Polled while a model wakes up: progress from the caches, then the answer."""
    model, kind = _prompt_model(request, namespace, name)
    job = request.POST.get("job", "")
    known, answer = prompt.result(job)
    if answer is not None:
        return render(request, "console/includes/prompt_result.html", {"answer": answer})
    text = request.POST.get("prompt", "")[: prompt.MAX_PROMPT_CHARS]
    documents = [d for d in request.POST.get("documents", "").splitlines() if d.strip()]
    if not known and ModelRow(synced_snapshot().get(namespace, name) or model).ready_replicas:
        # The request ran in another worker: the model is up now, so ask again here.
        answer = prompt.send(kind, name, text, documents[:20])
        return render(request, "console/includes/prompt_result.html", {"answer": answer})
    return render(request, "console/includes/prompt_result.html",
                  _waking(request, namespace, name, job, text, documents))


# --- 5. clone, export, import -----------------------------------------------------------

@require_http_methods(["GET", "POST"])
def clone(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """"Save as new": the add form prefilled with this model; its POST is the add form's."""
    if request.method == "POST":
        return model_views.model_add(request)
    model = transfer.clean(kube.get_model(_caller(request), namespace, name))
    target = request.GET.get("namespace") or namespace
    model["metadata"].update(name=f"{name}-copy", namespace=target)
    form = ModelEditForm(namespace=target, start=model, model=cluster_model())
    return model_views._render_form(request, form)


def _yaml_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def export_one(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    model = kube.get_model(_caller(request), namespace, name)
    return _yaml_response(transfer.export_yaml([model]), f"{namespace}-{name}.yaml")


@require_POST
def export_selected(request: HttpRequest) -> HttpResponse:
    caller = _caller(request)
    keys = sorted(set(request.POST.getlist("selected")))
    if not keys:
        messages.warning(request, "Select the models to export first.")
        return HttpResponseRedirect(_back(request, reverse("models_ui:list")))
    models = []
    for key in keys:
        namespace, _, name = key.partition("/")
        try:
            models.append(kube.get_model(caller, namespace, name))
        except kube.NotFound:
            continue
    return _yaml_response(transfer.export_yaml(models), f"models-{len(models)}.yaml")


MAX_IMPORT_BYTES = 1024 * 1024


@require_http_methods(["GET", "POST"])
def import_models(request: HttpRequest) -> HttpResponse:
    caller = _caller(request)
    namespaces = visible_namespaces(caller)
    context: dict[str, Any] = {"namespaces": namespaces,
                               "namespace": request.POST.get("namespace", "")}
    if request.method == "GET":
        return render(request, "console/import.html", context)
    if request.POST.get("apply"):
        plan = transfer.open_plan(request.POST.get("plan", ""))
        if plan is None:
            messages.error(request, "The preview expired or was damaged; preview again.")
            return redirect("console:import")
        results = transfer.apply_plan(caller, plan)
        for key, outcome, message in results:
            if outcome in ("created", "updated"):
                messages.success(request, f"“{key}” {outcome}.")
            else:
                messages.error(request, f"“{key}”: {outcome}: {message}")
        return redirect("models_ui:list")
    upload = request.FILES.get("file")
    text = request.POST.get("text", "")
    if upload is not None:
        if upload.size and upload.size > MAX_IMPORT_BYTES:
            context["error"] = f"The file is larger than {MAX_IMPORT_BYTES // 1024} KiB."
            return render(request, "console/import.html", context, status=400)
        text = upload.read(MAX_IMPORT_BYTES + 1).decode("utf-8", "replace")
    context["text"] = text
    if not text.strip():
        context["error"] = "Paste YAML or choose a file."
        return render(request, "console/import.html", context, status=400)
    items = transfer.preview(caller, text, context["namespace"])
    context.update(items=items, plan=transfer.seal_plan(items),
                   applicable=any(i.action in ("create", "update") for i in items))
    return render(request, "console/import.html", context)

