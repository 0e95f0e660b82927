"""The management API's index at /api/: DRF's root view, linking every endpoint."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView


class ApiRoot(APIView):
    """KubeAI Models in the namespaces your Kubernetes identity may use; every call acts
    as you, so the cluster's RBAC decides. The documentation is at /api/docs/."""

    authentication_classes: list[Any] = []  # kmm.middleware has already identified the caller
    permission_classes: list[Any] = []

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        def link(name: str, **kwargs: str) -> str:
            return reverse(f"models_api:{name}", kwargs=kwargs or None, request=request)

        return Response({
            "models": link("models"),
            "namespaces": link("namespaces"),
            "namespace_models": link("namespace_models", namespace="NAMESPACE").replace(
                "NAMESPACE", "{namespace}"),
            "docs": link("docs"),
            "schema": link("schema"),
            "public_models": request.build_absolute_uri("/public/api/models"),
        })
