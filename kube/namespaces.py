"""Namespaces and the API server's identity."""

from __future__ import annotations

from kubernetes import client

from kube import errors
from kube.calls import call
from kube.cluster import Caller


def list_namespaces(caller: Caller) -> list[str]:
    body = call(caller, client.CoreV1Api(caller.api).list_namespace, verb="list",
                resource="namespaces", raw=True)
    return sorted(item["metadata"]["name"] for item in body.get("items", []))


def create_namespace(caller: Caller, name: str, exist_ok: bool = False) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    try:
        call(caller, client.CoreV1Api(caller.api).create_namespace, body, verb="create",
             resource="namespaces", name=name, raw=True)
    except errors.AlreadyExists:
        if not exist_ok:
            raise


def delete_namespace(caller: Caller, name: str) -> None:
    call(caller, client.CoreV1Api(caller.api).delete_namespace, name, verb="delete",
         resource="namespaces", name=name, raw=True)


def server_version(caller: Caller) -> str:
    body = call(caller, client.VersionApi(caller.api).get_code, verb="get", resource="version",
                raw=True)
    return str(body.get("gitVersion", "unknown"))
