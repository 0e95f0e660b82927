"""Saving an edit form: the operator's change, three-way against what happened meanwhile.

Against the real API server. A status write by another identity (the status
subresource, as KubeAI's controller writes it) and spec changes by someone else land
between loading the form and saving it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

import kube
from tests.conftest import kubectl, make_model, set_status
from tests.test_ui_views import form_data

pytestmark = pytest.mark.cluster

TEMPLATE = "{% for m in messages %}\n{{ m['content'] }}\n{% endfor %}\n"
NOTE = "first line\nsecond line"


def browser_data(page: Any) -> dict[str, Any]:
    """What a browser posts back for the form untouched: textareas' breaks as CRLF."""
    def crlf(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("\n", "\r\n")
        if isinstance(value, list):
            return [crlf(v) for v in value]
        return value
    return {key: crlf(value) for key, value in form_data(page).items()}


def change_url(namespace: str, name: str) -> str:
    return f"/models/{namespace}/{name}/change/"


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def kubeai_like(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    """A model as KubeAI's chart writes it: owner "", a chat template, a multi-line note."""
    body = make_model(namespace, name, owner="", minReplicas=1, maxReplicas=3, **spec,
                      files=[{"path": "/config/chat.jinja", "content": TEMPLATE}],
                      env={"VLLM_WORKER_MULTIPROC_METHOD": "spawn"}, args=["--enforce-eager"])
    body["metadata"]["annotations"] = {"example.com/note": NOTE}
    body["metadata"]["labels"] = {"team": "ml"}
    return body


def without(obj: dict[str, Any], *paths: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(obj))
    for path in paths:
        *parents, leaf = path.split(".")
        node = copy
        for part in parents:
            node = node[part]
        node.pop(leaf, None)
    return copy


def test_a_status_write_meanwhile_does_not_block_a_save(client: Client, admin: kube.Caller,
                                                        namespace: str) -> None:
    kube.create_model(admin, kubeai_like(namespace, "scaled"))
    data = browser_data(client.get(change_url(namespace, "scaled")))
    set_status(namespace, "scaled", {"replicas": {"all": 1, "ready": 1}})  # KubeAI, 3 s later
    data["maxReplicas"] = "4"
    response = client.post(change_url(namespace, "scaled"), data)

    assert response.status_code == 302, getattr(response, "context", {}) and \
        response.context.get("conflict")
    saved = kube.get_model(admin, namespace, "scaled")
    assert saved["spec"]["maxReplicas"] == 4
    assert saved["status"]["replicas"] == {"all": 1, "ready": 1}
    assert any("changed elsewhere" in m and "status only" in m for m in messages_of(response))


def test_a_field_changed_by_someone_else_is_kept(client: Client, admin: kube.Caller,
                                                 namespace: str) -> None:
    kube.create_model(admin, kubeai_like(namespace, "shared"))
    data = browser_data(client.get(change_url(namespace, "shared")))
    # KubeAI's autoscaler sets spec.replicas; a colleague adds a label.
    kubectl("patch", "models.kubeai.org", "shared", "-n", namespace, "--type=merge", "-p",
            json.dumps({"spec": {"replicas": 2}, "metadata": {"labels": {"added": "later"}}}))
    data["targetRequests"] = "9"
    response = client.post(change_url(namespace, "shared"), data)

    assert response.status_code == 302
    spec = kube.get_model(admin, namespace, "shared")["spec"]
    assert (spec["replicas"], spec["targetRequests"]) == (2, 9)
    labels = kube.get_model(admin, namespace, "shared")["metadata"]["labels"]
    assert labels == {"team": "ml", "added": "later"}
    assert any("metadata.labels.added, spec.replicas" in m for m in messages_of(response))


def test_the_same_field_changed_meanwhile_is_a_conflict(client: Client, admin: kube.Caller,
                                                        namespace: str) -> None:
    kube.create_model(admin, kubeai_like(namespace, "contested"))
    data = browser_data(client.get(change_url(namespace, "contested")))
    set_status(namespace, "contested", {"replicas": {"all": 1, "ready": 0}})
    kube.patch_model(admin, namespace, "contested", {"spec": {"maxReplicas": 5}})
    data["maxReplicas"] = "4"
    response = client.post(change_url(namespace, "contested"), data)

    assert response.status_code == 409
    conflict = response.context["conflict"]
    assert conflict.fields == ["spec.maxReplicas"]
    assert "spec.maxReplicas" in response.content.decode()
    assert kube.get_model(admin, namespace, "contested")["spec"]["maxReplicas"] == 5


def test_a_save_leaves_every_field_it_did_not_change_byte_identical(
        client: Client, admin: kube.Caller, namespace: str) -> None:
    kube.create_model(admin, kubeai_like(namespace, "exact", image="vllm/vllm-openai:v1"))
    set_status(namespace, "exact", {"replicas": {"all": 1, "ready": 1}})
    before = kube.get_model(admin, namespace, "exact")
    assert before["spec"]["owner"] == ""
    data = browser_data(client.get(change_url(namespace, "exact")))
    data["minReplicas"] = "2"
    assert client.post(change_url(namespace, "exact"), data).status_code == 302

    after = kube.get_model(admin, namespace, "exact")
    assert after["spec"]["minReplicas"] == 2
    assert after["spec"]["owner"] == ""
    assert json.dumps(without(after, "spec.minReplicas", "metadata.resourceVersion",
                              "metadata.generation", "metadata.managedFields")) == \
        json.dumps(without(before, "spec.minReplicas", "metadata.resourceVersion",
                           "metadata.generation", "metadata.managedFields"))


def test_an_unchanged_save_writes_nothing(client: Client, admin: kube.Caller,
                                          namespace: str) -> None:
    kube.create_model(admin, kubeai_like(namespace, "untouched"))
    before = kube.get_model(admin, namespace, "untouched")
    response = client.post(change_url(namespace, "untouched"),
                           browser_data(client.get(change_url(namespace, "untouched"))))
    assert response.status_code == 302
    assert kube.get_model(admin, namespace, "untouched") == before
    assert any("was not changed" in m for m in messages_of(response))


def test_an_edited_multiline_value_keeps_the_line_breaks_it_had(
        client: Client, admin: kube.Caller, namespace: str) -> None:
    kube.create_model(admin, kubeai_like(namespace, "edited"))
    data = browser_data(client.get(change_url(namespace, "edited")))
    data["files-0-content"] += "{# more #}\r\n"
    assert client.post(change_url(namespace, "edited"), data).status_code == 302
    content = kube.get_model(admin, namespace, "edited")["spec"]["files"][0]["content"]
    assert content == TEMPLATE + "{# more #}\n"


def test_an_unchanged_yaml_save_writes_nothing(client: Client, admin: kube.Caller,
                                               namespace: str) -> None:
    kube.create_model(admin, kubeai_like(namespace, "yamled"))
    before = kube.get_model(admin, namespace, "yamled")
    page = client.get(change_url(namespace, "yamled") + "?mode=yaml")
    text = page.context["form"].initial["text"].replace("\n", "\r\n")
    response = client.post(change_url(namespace, "yamled") + "?mode=yaml",
                           {"text": text, "original": page.context["original_token"]})
    assert response.status_code == 302
    assert kube.get_model(admin, namespace, "yamled") == before


def test_a_url_of_a_megabyte_is_refused_on_its_field(client: Client, admin: kube.Caller,
                                                     namespace: str) -> None:
    kube.create_model(admin, kubeai_like(namespace, "bounded"))
    data = browser_data(client.get(change_url(namespace, "bounded")))
    data["url"] = "hf://org/" + "m" * 1024 * 1024
    response = client.post(change_url(namespace, "bounded"), data)
    assert response.status_code == 400
    assert response.context["form"].errors["url"] == ["url must be at most 2048 characters."]
    assert kube.get_model(admin, namespace, "bounded")["spec"]["url"] == "hf://org/model"
