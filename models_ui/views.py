"""Admin-style pages for KubeAI Models. Every Kubernetes call goes through `kube`."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

import kube
from models_ui.presenters import ModelRow


def _caller(request: HttpRequest) -> kube.Caller:
    return request.kube  # type: ignore[attr-defined,no-any-return]


@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    namespace = request.GET.get("namespace") or None
    models = kube.list_models(_caller(request), namespace)
    rows = sorted((ModelRow(m) for m in models), key=lambda r: (r.namespace, r.name))
    return render(request, "models_ui/model_list.html", {"rows": rows, "namespace": namespace})


@require_GET
def model_detail(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    model = kube.get_model(_caller(request), namespace, name)
    return render(request, "models_ui/model_detail.html", {"row": ModelRow(model)})
