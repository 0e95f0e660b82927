"""Every UI view through Django's test client, against the real API server."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from django.test import Client

import kube
from models_ui.editing import seal_original
from models_ui.forms import ROW_KINDS
from tests.conftest import create_event, kubectl, make_model, set_status, wait_for_cache

pytestmark = pytest.mark.cluster

HTMX = {"HX-Request": "true"}


def form_data(response: Any) -> dict[str, Any]:
    """What the browser would post back for an unchanged form (initial values)."""
    form = response.context["form"]
    data: dict[str, Any] = {"original": response.context["original_token"]}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form.initial.get(name)
        if value is None or value is False:
            continue
        data[name] = value
    for prefix, formset in form.formsets.items():
        data[f"{prefix}-TOTAL_FORMS"] = len(formset.initial or [])
        data[f"{prefix}-INITIAL_FORMS"] = 0
        for index, row in enumerate(formset.initial or []):
            for key, value in row.items():
                if value not in (None, False, ""):
                    data[f"{prefix}-{index}-{key}"] = value
    return data


def new_model_data(namespace: str, name: str = "made", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name, "namespace": namespace, "url": "hf://org/model", "engine": "VLLM",
        "features": ["TextGeneration"], "resource_profile": "cpu", "resource_count": "2",
        "minReplicas": "0", "maxReplicas": "2",
    }
    for prefix in ROW_KINDS:
        data[f"{prefix}-TOTAL_FORMS"] = 0
        data[f"{prefix}-INITIAL_FORMS"] = 0
    data.update(extra)
    return data


def install_owner_policy(namespace: str) -> None:
    """A ValidatingAdmissionPolicy: a rule only the API server knows, for this namespace."""
    selector = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": f"owner-{namespace}"},
        "spec": {"failurePolicy": "Fail", "matchConstraints": {
            "namespaceSelector": selector,
            "resourceRules": [{"apiGroups": ["kubeai.org"], "apiVersions": ["v1"],
                               "operations": ["CREATE", "UPDATE"], "resources": ["models"]}]},
            "validations": [{"expression": "!has(object.spec.owner) || "
                                           "object.spec.owner != 'reserved'",
                             "message": "owner 'reserved' is kept for the platform team"}]},
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": f"owner-{namespace}"},
        "spec": {"policyName": f"owner-{namespace}", "validationActions": ["Deny"]},
    }
    kubectl("create", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                   "items": [policy, binding]}))
    # The policy is enforced once the API server's informers have seen it.
    deadline = time.monotonic() + 10
    probe = make_model(namespace, "probe", owner="reserved")
    while time.monotonic() < deadline:
        try:
            kube.create_model(kube.default_cluster().as_app(), probe, dry_run=True)
        except kube.Invalid:
            return
        time.sleep(0.2)
    raise AssertionError("the admission policy never took effect")


class TestChangeList:
    def test_it_lists_models_of_one_namespace(self, client: Client, admin: kube.Caller,
                                              namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "alpha"))
        wait_for_cache(admin, namespace)
        response = client.get("/", {"namespace": namespace})
        assert response.status_code == 200
        assert [r.name for r in response.context["cl"].rows] == ["alpha"]

    def test_it_shows_an_inviting_empty_state(self, client: Client, namespace: str) -> None:
        response = client.get("/", {"namespace": namespace})
        assert b"Add the first model" in response.content

    def test_it_searches_name_and_url(self, client: Client, admin: kube.Caller,
                                      namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "by-name"))
        kube.create_model(admin, make_model(namespace, "other", url="hf://acme/by-url"))
        kube.create_model(admin, make_model(namespace, "nothing"))
        wait_for_cache(admin, namespace)
        found = client.get("/", {"namespace": namespace, "q": "BY-"}).context["cl"].rows
        assert sorted(r.name for r in found) == ["by-name", "other"]

    @pytest.mark.parametrize(("param", "value", "expected"), [
        ("engine", "OLlama", ["small"]),
        ("feature", "TextEmbedding", ["embed"]),
        ("profile", "nvidia-gpu-l4", ["gpu"]),
        ("state", "ready", ["gpu"]),
        ("state", "scaled-to-zero", ["embed", "small"]),
    ])
    def test_it_filters(self, client: Client, admin: kube.Caller, namespace: str, param: str,
                        value: str, expected: list[str]) -> None:
        kube.create_model(admin, make_model(namespace, "small", engine="OLlama", url="ollama://m",
                                            resourceProfile="cpu:1"))
        kube.create_model(admin, make_model(namespace, "embed", features=["TextEmbedding"]))
        kube.create_model(admin, make_model(namespace, "gpu", resourceProfile="nvidia-gpu-l4:1",
                                            replicas=1))
        set_status(namespace, "gpu", {"replicas": {"all": 1, "ready": 1}})
        wait_for_cache(admin, namespace)
        rows = client.get("/", {"namespace": namespace, param: value}).context["cl"].rows
        assert sorted(r.name for r in rows) == expected

    def test_it_sorts_both_ways(self, client: Client, admin: kube.Caller, namespace: str) -> None:
        for name in ("b", "a", "c"):
            kube.create_model(admin, make_model(namespace, name))
        wait_for_cache(admin, namespace)
        ascending = client.get("/", {"namespace": namespace, "o": "name"}).context["cl"].rows
        descending = client.get("/", {"namespace": namespace, "o": "-name"}).context["cl"].rows
        assert [r.name for r in ascending] == ["a", "b", "c"]
        assert [r.name for r in descending] == ["c", "b", "a"]

    def test_it_pages_and_keeps_filters_in_links(self, client: Client, admin: kube.Caller,
                                                 namespace: str) -> None:
        for index in range(53):
            kube.create_model(admin, make_model(namespace, f"m{index:02d}"))
        wait_for_cache(admin, namespace)
        page = client.get("/", {"namespace": namespace, "q": "m", "p": "2"})
        assert [r.name for r in page.context["cl"].rows] == ["m50", "m51", "m52"]
        assert f"namespace={namespace}" in page.context["cl"].previous_url
        assert "q=m" in page.context["cl"].previous_url

    def test_htmx_polls_get_only_the_results(self, client: Client, admin: kube.Caller,
                                             namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "polled"))
        wait_for_cache(admin, namespace)
        response = client.get("/", {"namespace": namespace},
                              headers={**HTMX, "HX-Target": "changelist-results"})
        assert response.status_code == 200
        assert response.content.lstrip().startswith(b'<div id="changelist-results"')
        assert b"<html" not in response.content

    def test_an_unchanged_list_answers_304_to_a_poll(self, client: Client, admin: kube.Caller,
                                                     namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "stable"))
        wait_for_cache(admin, namespace)
        etag = client.get("/", {"namespace": namespace})["ETag"]
        headers = {**HTMX, "HX-Target": "changelist-results", "If-None-Match": etag}
        assert client.get("/", {"namespace": namespace}, headers=headers).status_code == 304
        kube.patch_model(admin, namespace, "stable", {"spec": {"owner": "changed"}})
        wait_for_cache(admin, namespace)
        assert client.get("/", {"namespace": namespace}, headers=headers).status_code == 200


class TestDetail:
    def test_it_shows_spec_status_and_events(self, client: Client, admin: kube.Caller,
                                             namespace: str) -> None:
        model = kube.create_model(admin, make_model(namespace, "seen", owner="team-x",
                                                    cacheProfile="fast"))
        set_status(namespace, "seen", {"replicas": {"all": 2, "ready": 1},
                                       "cache": {"loaded": True}})
        create_event(model, "Scaled", "2026-01-01T00:00:00Z")
        response = client.get(f"/models/{namespace}/seen/")
        content = response.content.decode()
        assert response.status_code == 200
        assert "team-x" in content
        assert "fast" in content
        assert re.search(r'data-testid="replicas">\s*1 / 2', content)
        assert "Scaled happened" in content
        assert "kind: Model" in content  # the YAML section

    def test_a_vanished_model_redirects_with_a_warning(self, client: Client,
                                                       namespace: str) -> None:
        response = client.get(f"/models/{namespace}/gone/", follow=True)
        assert response.redirect_chain[-1][0] == "/"
        assert "does not exist" in response.content.decode()

    def test_htmx_polls_get_the_live_part_or_304(self, client: Client, admin: kube.Caller,
                                                 namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "live"))
        headers = {**HTMX, "HX-Target": "model-live"}
        first = client.get(f"/models/{namespace}/live/", headers=headers)
        assert first.content.lstrip().startswith(b'<div id="model-live"')
        again = client.get(f"/models/{namespace}/live/",
                           headers={**headers, "If-None-Match": first["ETag"]})
        assert again.status_code == 304

    def test_it_downloads_the_yaml(self, client: Client, admin: kube.Caller,
                                   namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "dl"))
        response = client.get(f"/models/{namespace}/dl/yaml/")
        assert response["Content-Disposition"] == f'attachment; filename="{namespace}-dl.yaml"'
        assert b"name: dl" in response.content
        assert b"managedFields" not in response.content


class TestAdd:
    def test_it_creates_a_model(self, client: Client, admin: kube.Caller, namespace: str) -> None:
        response = client.post("/add/", new_model_data(namespace, **{
            "env-TOTAL_FORMS": 1, "env-0-name": "A", "env-0-value": "1",
            "labels-TOTAL_FORMS": 1, "labels-0-key": "team", "labels-0-value": "ml"}))
        assert response.status_code == 302
        assert response["Location"] == f"/models/{namespace}/made/"
        model = kube.get_model(admin, namespace, "made")
        assert model["spec"]["resourceProfile"] == "cpu:2"
        assert model["spec"]["env"] == {"A": "1"}
        assert model["metadata"]["labels"] == {"team": "ml"}

    def test_field_errors_keep_what_was_typed_and_save_nothing(self, client: Client,
                                                               admin: kube.Caller,
                                                               namespace: str) -> None:
        data = new_model_data(namespace, minReplicas="3", maxReplicas="1", owner="keep-me",
                              **{"args-TOTAL_FORMS": 1, "args-0-value": "--typed"})
        response = client.post("/add/", data)
        form = response.context["form"]
        assert response.status_code == 400
        assert form.errors["minReplicas"] == [
            "minReplicas should be less than or equal to maxReplicas."]
        assert b'value="keep-me"' in response.content
        assert b'value="--typed"' in response.content
        assert kube.list_models(admin, namespace) == []

    @pytest.mark.parametrize(("extra", "where"), [
        ({"url": "gs://bucket/m"}, "url"),
        ({"engine": "OLlama", "url": "ollama://m", "adapters-TOTAL_FORMS": 1,
          "adapters-0-name": "a", "adapters-0-url": "hf://o/a"}, "adapters"),
        ({"name": "n" * 41}, "name"),
    ])
    def test_schema_rules_land_on_their_field(self, client: Client, namespace: str,
                                              extra: dict[str, Any], where: str) -> None:
        response = client.post("/add/", new_model_data(namespace, **extra))
        form = response.context["form"]
        assert response.status_code == 400
        assert form.errors.get(where) or form.row_errors.get(where)

    def test_duplicate_files_are_refused_on_the_files_rows(self, client: Client,
                                                           namespace: str) -> None:
        response = client.post("/add/", new_model_data(namespace, **{
            "files-TOTAL_FORMS": 2, "files-0-path": "/a", "files-0-content": "1",
            "files-1-path": "/a", "files-1-content": "2"}))
        assert response.context["form"].row_errors["files"] == ["All file paths must be unique."]

    def test_an_existing_name_is_an_error_on_the_name(self, client: Client, admin: kube.Caller,
                                                      namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "taken"))
        response = client.post("/add/", new_model_data(namespace, "taken"))
        assert "already exists" in response.context["form"].errors["name"][0]

    def test_an_admission_policy_verdict_is_shown_and_nothing_saved(
            self, client: Client, admin: kube.Caller, namespace: str) -> None:
        install_owner_policy(namespace)
        response = client.post("/add/", new_model_data(namespace, owner="reserved"))
        assert response.status_code == 400
        assert any("owner 'reserved' is kept for the platform team" in error
                   for error in response.context["form"].non_field_errors())
        assert kube.list_models(admin, namespace) == []

    def test_it_creates_from_yaml(self, client: Client, admin: kube.Caller,
                                  namespace: str) -> None:
        text = (f"metadata:\n  name: from-yaml\n  namespace: {namespace}\n"
                "spec:\n  url: hf://org/m\n  engine: VLLM\n  features: [TextGeneration]\n")
        response = client.post("/add/?mode=yaml", {"text": text})
        assert response.status_code == 302
        assert kube.get_model(admin, namespace, "from-yaml")["spec"]["url"] == "hf://org/m"

    def test_yaml_errors_point_at_the_line(self, client: Client, namespace: str) -> None:
        syntax = client.post("/add/?mode=yaml", {"text": "metadata:\n  name: [unclosed\n"})
        assert "Line 3" in syntax.context["form"].errors["text"][0]
        text = (f"metadata:\n  name: bad\n  namespace: {namespace}\n"
                "spec:\n  url: hf://org/m\n  engine: Nope\n  features: [TextGeneration]\n")
        problems = client.post("/add/?mode=yaml", {"text": text}).context["form"].problems
        assert [(line, e.path) for line, e in problems] == [(6, "spec.engine")]


class TestChange:
    def test_it_changes_one_field_and_keeps_everything_else(self, client: Client,
                                                            admin: kube.Caller,
                                                            namespace: str) -> None:
        body = make_model(namespace, "edit", env={"A": "1"}, args=["--x"],
                          files=[{"path": "/f", "content": "c"}], cacheProfile="fast")
        body["metadata"].update(labels={"l": "1"}, annotations={"a": "1"},
                                finalizers=["example.com/keep"])
        kube.create_model(admin, body)
        set_status(namespace, "edit", {"replicas": {"all": 1, "ready": 1}})
        before = kube.get_model(admin, namespace, "edit")
        data = form_data(client.get(f"/models/{namespace}/edit/change/"))
        data["owner"] = "new-owner"
        response = client.post(f"/models/{namespace}/edit/change/", data)
        assert response.status_code == 302, response.context["form"].errors
        after = kube.get_model(admin, namespace, "edit")
        assert after["spec"].pop("owner") == "new-owner"
        assert after["spec"] == before["spec"]
        assert after["status"] == before["status"]
        for key in ("labels", "annotations", "finalizers"):
            assert after["metadata"][key] == before["metadata"][key]
        kube.patch_model(admin, namespace, "edit", {"metadata": {"finalizers": None}})

    def test_immutable_fields_are_read_only_with_the_reason(self, client: Client,
                                                            admin: kube.Caller,
                                                            namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "locked", cacheProfile="fast"))
        page = client.get(f"/models/{namespace}/locked/change/")
        form = page.context["form"]
        assert form.fields["cacheProfile"].disabled
        assert form.fields["url"].disabled
        assert "cannot change while a cache profile is set" in page.content.decode()
        data = form_data(page)
        data.update(cacheProfile="slow", url="hf://other/m")
        client.post(f"/models/{namespace}/locked/change/", data)
        spec = kube.get_model(admin, namespace, "locked")["spec"]
        assert (spec["cacheProfile"], spec["url"]) == ("fast", "hf://org/model")

    def test_a_stale_edit_is_refused_with_a_diff(self, client: Client, admin: kube.Caller,
                                                 namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "raced", owner="first"))
        data = form_data(client.get(f"/models/{namespace}/raced/change/"))
        kube.patch_model(admin, namespace, "raced",
                         {"spec": {"image": "theirs:1", "targetRequests": 50}})
        data["targetRequests"] = "9"
        response = client.post(f"/models/{namespace}/raced/change/", data)
        conflict = response.context["conflict"]
        assert response.status_code == 409
        assert conflict.fields == ["spec.targetRequests"]
        assert "+  image: theirs:1" in conflict.theirs_diff
        assert "-  targetRequests: 50" in conflict.result_diff
        assert "+  targetRequests: 9" in conflict.result_diff
        assert kube.get_model(admin, namespace, "raced")["spec"]["targetRequests"] == 50

    def test_my_change_can_be_reapplied_to_the_current_version(self, client: Client,
                                                               admin: kube.Caller,
                                                               namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "again"))
        data = form_data(client.get(f"/models/{namespace}/again/change/"))
        kube.patch_model(admin, namespace, "again",
                         {"spec": {"image": "theirs:1", "targetRequests": 50}})
        data["targetRequests"] = "9"
        conflict = client.post(f"/models/{namespace}/again/change/", data).context["conflict"]
        response = client.post(f"/models/{namespace}/again/reapply/", {
            "change": conflict.reapply_token,
            "resource_version": conflict.current_resource_version})
        assert response.status_code == 302
        spec = kube.get_model(admin, namespace, "again")["spec"]
        assert (spec["image"], spec["targetRequests"]) == ("theirs:1", 9)

    def test_a_forged_original_is_refused(self, client: Client, admin: kube.Caller,
                                          namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "forged"))
        data = form_data(client.get(f"/models/{namespace}/forged/change/"))
        data["original"] = data["original"][:-3] + "xxx"
        response = client.post(f"/models/{namespace}/forged/change/", data, follow=True)
        assert "damaged or expired" in response.content.decode()

    def test_it_edits_in_yaml_mode(self, client: Client, admin: kube.Caller,
                                   namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "yamled"))
        page = client.get(f"/models/{namespace}/yamled/change/?mode=yaml")
        text = page.context["form"].initial["text"].replace("engine: VLLM",
                                                            "engine: VLLM\n  owner: via-yaml")
        response = client.post(f"/models/{namespace}/yamled/change/?mode=yaml",
                               {"text": text, "original": page.context["original_token"]})
        assert response.status_code == 302
        assert kube.get_model(admin, namespace, "yamled")["spec"]["owner"] == "via-yaml"

    def test_an_edit_form_notices_changes_made_elsewhere(self, client: Client,
                                                         admin: kube.Caller,
                                                         namespace: str) -> None:
        model = kube.create_model(admin, make_model(namespace, "watched"))
        url = f"/models/{namespace}/watched/version/"
        rv = model["metadata"]["resourceVersion"]
        assert client.get(url, {"rv": rv}, headers=HTMX).status_code == 204
        kube.patch_model(admin, namespace, "watched", {"spec": {"owner": "else"}})
        assert b"Someone changed this model" in client.get(url, {"rv": rv}, headers=HTMX).content

    def test_the_original_token_is_signed(self, admin: kube.Caller, namespace: str) -> None:
        token = seal_original(kube.create_model(admin, make_model(namespace, "sealed")))
        assert "sealed" not in token  # compressed and signed, not a readable copy


class TestDelete:
    def test_it_asks_first(self, client: Client, admin: kube.Caller, namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "doomed"))
        response = client.get(f"/models/{namespace}/doomed/delete/")
        assert b"Are you sure" in response.content
        assert kube.get_model(admin, namespace, "doomed")

    def test_it_deletes_on_post_with_a_message(self, client: Client, admin: kube.Caller,
                                               namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "doomed"))
        response = client.post(f"/models/{namespace}/doomed/delete/", follow=True)
        assert "was deleted" in response.content.decode()
        with pytest.raises(kube.NotFound):
            kube.get_model(admin, namespace, "doomed")

    def test_it_refuses_other_methods(self, client: Client, namespace: str) -> None:
        assert client.put(f"/models/{namespace}/x/delete/").status_code == 405

    def test_bulk_delete_confirms_every_model_then_deletes(self, client: Client,
                                                           admin: kube.Caller,
                                                           namespace: str) -> None:
        for name in ("one", "two", "keep"):
            kube.create_model(admin, make_model(namespace, name))
        selected = [f"{namespace}/one", f"{namespace}/two"]
        confirm = client.post("/delete-selected/", {"selected": selected})
        assert [name for _, name in confirm.context["targets"]] == ["one", "two"]
        assert len(kube.list_models(admin, namespace)) == 3
        done = client.post("/delete-selected/", {"selected": selected, "confirm": "yes"},
                           follow=True)
        assert "Deleted 2 models." in done.content.decode()
        assert [m["metadata"]["name"] for m in kube.list_models(admin, namespace)] == ["keep"]


class TestRows:
    def test_it_renders_the_next_row_and_bumps_the_count(self, client: Client,
                                                         control_plane) -> None:
        response = client.get("/rows/env/", {"env-TOTAL_FORMS": "2"}, headers=HTMX)
        content = response.content.decode()
        assert 'name="env-2-name"' in content
        assert 'name="env-TOTAL_FORMS" value="3"' in content
        assert 'hx-swap-oob="true"' in content

    def test_it_stops_at_the_schema_limit(self, client: Client, control_plane) -> None:
        response = client.get("/rows/files/", {"files-TOTAL_FORMS": "10"}, headers=HTMX)
        assert b"At most 10 rows." in response.content

    def test_an_unknown_kind_is_404(self, client: Client, control_plane) -> None:
        assert client.get("/rows/nope/").status_code == 404


def test_htmx_responses_carry_pending_messages_as_toasts(client: Client, admin: kube.Caller,
                                                         namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "toasted"))
    client.post(f"/models/{namespace}/toasted/delete/")
    wait_for_cache(admin, namespace)
    response = client.get("/", {"namespace": namespace},
                          headers={**HTMX, "HX-Target": "changelist-results"})
    content = response.content.decode()
    assert 'id="toasts"' in content
    assert 'hx-swap-oob="true"' in content
    assert "was deleted" in content


class TestListing:
    def test_the_form_writes_listing_annotations(self, client: Client, admin: kube.Caller,
                                                 namespace: str) -> None:
        response = client.post("/add/", new_model_data(
            namespace, "listed", listing_display_name="Listed 8B",
            listing_pricing_prompt="0.50", listing_sampling_parameters=["top_p", "seed"],
            listing_publish="true"))
        assert response.status_code == 302
        annotations = kube.get_model(admin, namespace, "listed")["metadata"]["annotations"]
        assert annotations == {
            "openrouter.kmm.io/publish": "true",
            "openrouter.kmm.io/display-name": "Listed 8B",
            "openrouter.kmm.io/pricing-prompt": "0.0000005",
            "openrouter.kmm.io/sampling-parameters": "top_p,seed",
        }  # the form takes prices per 1M tokens; the annotation holds them per token
        edit = client.get(f"/models/{namespace}/listed/change/")
        assert edit.context["form"]["listing_pricing_prompt"].value() == "0.5"

    def test_a_bad_listing_value_is_refused_on_its_field(self, client: Client,
                                                         namespace: str) -> None:
        response = client.post("/add/", new_model_data(namespace, listing_context_length="8k"))
        assert response.status_code == 400
        assert "whole number" in response.context["form"].errors["listing_context_length"][0]

    def test_the_detail_page_toggles_publication(self, client: Client, admin: kube.Caller,
                                                 namespace: str) -> None:
        kube.create_model(admin, make_model(namespace, "toggled"))
        assert client.get(f"/models/{namespace}/toggled/").context["published"] is False
        asked = client.post(f"/models/{namespace}/toggled/publish/", {"publish": "true"})
        assert b"anyone who can reach kmm may read" in asked.content
        assert b"consumers will see this model as free" in asked.content
        assert "annotations" not in kube.get_model(admin, namespace, "toggled")["metadata"]
        response = client.post(f"/models/{namespace}/toggled/publish/",
                               {"publish": "true", "confirm": "yes"}, follow=True)
        assert response.context["published"] is True
        assert "is now published" in response.content.decode()
        annotations = kube.get_model(admin, namespace, "toggled")["metadata"]["annotations"]
        assert annotations == {"openrouter.kmm.io/publish": "true"}

    def test_the_detail_page_warns_about_bad_listing_annotations(self, client: Client,
                                                                 admin: kube.Caller,
                                                                 namespace: str) -> None:
        body = make_model(namespace, "odd")
        body["metadata"]["annotations"] = {"openrouter.kmm.io/context-length": "lots"}
        kube.create_model(admin, body)
        response = client.get(f"/models/{namespace}/odd/")
        assert b"not valid; the public entry leaves them out" in response.content
        assert [e.path for e in response.context["listing_problems"]] == [
            "metadata.annotations[openrouter.kmm.io/context-length]"]
