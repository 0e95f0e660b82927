"""Least privilege, proven: the chart's ServiceAccount and RBAC, created in the real control
plane, with a token from the TokenRequest API, running the service layer's operations.

Everything kmm does with its own identity succeeds; everything else is forbidden.
"""

from __future__ import annotations

import time
import urllib.error
import uuid
from pathlib import Path
from typing import Any

import pytest

import kube
from kube import revocations
from kube.cache import ModelCache, watch_namespaces
from kube.crds import InstalledCRD
from kube.watches import RBAC_KINDS, RbacWatch
from modelspec.schema import RESOURCE
from tests.chartkit import (
    as_stream,
    env_of,
    install_rbac,
    kubectl_run,
    render,
    token_kubeconfig,
    watch_models,
)
from tests.conftest import create_event, eventually, kubectl, make_model

pytestmark = pytest.mark.cluster


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def account(namespace: str) -> str:
    return f"system:serviceaccount:{namespace}:kmm"


def assert_the_watch_cache_runs(app: kube.Caller, admin: kube.Caller, namespace: str) -> None:
    """kmm's own list+watch cache (Models and namespaces), as the chart's account."""
    cache = ModelCache(app).start()
    try:
        assert cache.wait_synced(15), cache.stats()
        assert cache.wait_until(lambda s: namespace in s.namespaces, 15), cache.stats()
        kube.create_model(admin, make_model(namespace, "watched"))
        # Arrives through the watch, not a new list.
        assert cache.wait_until(lambda s: s.get(namespace, "watched") is not None, 15)
        assert cache.stats()["models"].lists == 1
        assert not cache.stats()["models"].last_error
        assert not cache.stats()["namespaces"].last_error
    finally:
        cache.stop()


def assert_cannot_write_other_kinds(cluster: kube.Cluster, token: str, namespace: str,
                                    tmp_path: Path) -> None:
    caller = cluster.as_token(token)
    with pytest.raises(kube.Forbidden):
        kube.create_namespace(caller, unique("sneaky"))
    for verb in ("create", "get", "list"):
        assert not kube.can_i(caller, verb, "secrets", namespace=namespace)
    assert not kube.can_i(caller, "create", "pods", namespace=namespace)
    assert not kube.can_i(caller, "update", "models/status", "kubeai.org", namespace=namespace)
    secret = kubectl_run("create", "secret", "generic", "stolen", "-n", namespace,
                         "--from-literal=a=b",
                         kubeconfig=token_kubeconfig(token, tmp_path / "secret.kubeconfig"))
    assert secret.returncode != 0
    assert "forbidden" in secret.stderr.lower()


def assert_the_crd_is_read_by_name_only(app: kube.Caller) -> None:
    """kmm follows the installed models.kubeai.org CRD (list+watch by name), no other CRD."""
    watcher = InstalledCRD(app, RESOURCE).start()
    try:
        assert watcher.read.wait(10)
        assert watcher.crd is not None
        assert not watcher.failed
    finally:
        watcher.stop()
    assert not kube.can_i(app, "list", "customresourcedefinitions", "apiextensions.k8s.io")


def assert_the_rbac_watch_runs_and_writes_no_rbac(app: kube.Caller, namespace: str) -> None:
    """kmm's watch of RBAC (kube.access remembers answers until RBAC changes), as the
    chart's account: it lists and watches the four kinds, and may write none of them."""
    watch = RbacWatch(app).start()
    try:
        assert watch.wait_listed(15), watch.problem
        assert eventually(lambda: watch.healthy, 5), watch.problem
        before = watch.generation
        kubectl("create", "role", "watched", "-n", namespace, "--verb=get", "--resource=pods")
        assert eventually(lambda: watch.generation > before, 5)  # through the watch
        kept = [obj for cache in watch.caches for obj in cache.items()]
        assert kept
        assert not [obj for obj in kept if {"rules", "subjects", "roleRef"} & obj.keys()]
    finally:
        watch.stop()
    for resource, _ in RBAC_KINDS:
        for verb in ("create", "update", "patch", "delete", "bind", "escalate", "get"):
            assert not kube.can_i(app, verb, resource, "rbac.authorization.k8s.io",
                                  namespace=namespace), (verb, resource)


def test_token_mode_the_account_reads_everything_kmm_reads_and_writes_nothing(
        cluster: kube.Cluster, admin: kube.Caller, tmp_path: Path) -> None:
    namespace = unique("kmm")
    kube.create_namespace(admin, namespace)
    created = kube.create_model(admin, make_model(namespace, "published"))
    create_event(created, "Scheduled", "2026-01-01T00:00:00Z")
    token = install_rbac(namespace)
    app = cluster.as_token(token)

    assert kube.who_am_i(app).user == account(namespace)
    assert [m["metadata"]["name"] for m in kube.list_models(app, namespace)] == ["published"]
    assert namespace in {m["metadata"]["namespace"] for m in kube.list_models(app)}
    assert kube.get_model(app, namespace, "published")["spec"]["url"] == "hf://org/model"
    assert namespace in kube.list_namespaces(app)
    assert [e["reason"] for e in kube.list_model_events(app, namespace, "published")] == [
        "Scheduled"]
    assert kube.can_i(app, "watch", "models", "kubeai.org", namespace=namespace)
    assert kube.can_i(app, "watch", "events", namespace=namespace)
    assert [e["type"] for e in watch_models(app, namespace, token)] == ["ADDED"]
    assert_the_watch_cache_runs(app, admin, namespace)
    assert_the_crd_is_read_by_name_only(app)
    assert_the_rbac_watch_runs_and_writes_no_rbac(app, namespace)
    # Writes are made with the signed-in user's token, never with kmm's.
    assert not kube.can_i(app, "create", "models", "kubeai.org", namespace=namespace)
    with pytest.raises(kube.Forbidden):
        kube.create_model(app, make_model(namespace, "nope"))
    with pytest.raises(kube.Forbidden):
        kube.delete_model(app, namespace, "published")
    with pytest.raises(kube.Forbidden):
        kube.who_am_i(kube.Cluster.from_kubeconfig(token_kubeconfig(
            token, tmp_path / "imp.kubeconfig")).impersonating("alice"))
    assert_cannot_write_other_kinds(cluster, token, namespace, tmp_path)


def test_none_mode_the_account_does_everything_kmm_does(cluster: kube.Cluster,
                                                         admin: kube.Caller,
                                                         tmp_path: Path) -> None:
    namespace = unique("kmm")
    kube.create_namespace(admin, namespace)
    token = install_rbac(namespace, {"auth": {"mode": "none"}})
    app = cluster.as_token(token)

    created = kube.create_model(app, make_model(namespace, "m1"))
    assert kube.create_model(app, make_model(namespace, "dry"), dry_run=True)
    create_event(created, "Loaded", "2026-01-01T00:00:00Z")
    base = kube.get_model(app, namespace, "m1")
    desired = {**base, "spec": {**base["spec"], "minReplicas": 1}}
    updated = kube.update_model(app, base, desired)
    patched = kube.patch_model(app, namespace, "m1", {"spec": {"maxReplicas": 3}})
    replaced = kube.replace_model(app, {**patched, "spec": {**patched["spec"], "owner": "ml"}})
    events = kube.list_model_events(app, namespace, "m1")
    listed = kube.list_models(app)
    watched = watch_models(app, namespace, token)
    kube.delete_model(app, namespace, "m1")
    assert_the_watch_cache_runs(app, admin, namespace)

    assert updated["spec"]["minReplicas"] == 1
    assert replaced["spec"]["maxReplicas"] == 3
    assert replaced["spec"]["owner"] == "ml"
    assert [e["reason"] for e in events] == ["Loaded"]
    assert ("m1", namespace) in {(m["metadata"]["name"], m["metadata"]["namespace"])
                                 for m in listed}
    assert [e["object"]["metadata"]["name"] for e in watched] == ["m1"]
    assert namespace in kube.list_namespaces(app)
    assert kube.who_am_i(app).user == account(namespace)
    assert kube.can_i(app, "delete", "models", "kubeai.org", namespace=namespace)
    with pytest.raises(kube.NotFound):
        kube.get_model(app, namespace, "m1")
    assert_cannot_write_other_kinds(cluster, token, namespace, tmp_path)


def test_namespaced_rbac_works_in_listed_namespaces_and_nowhere_else(
        cluster: kube.Cluster, admin: kube.Caller, tmp_path: Path) -> None:
    home, team, elsewhere = unique("kmm"), unique("team"), unique("other")
    for name in (home, team, elsewhere):
        kube.create_namespace(admin, name)
    kube.create_model(admin, make_model(elsewhere, "secret-model"))
    token = install_rbac(home, {"auth": {"mode": "none"}, "rbac": {"namespaces": [team]}})
    app = cluster.as_token(token)

    created = kube.create_model(app, make_model(team, "m1"))
    kube.update_model(app, created, {**created, "spec": {**created["spec"], "minReplicas": 1}})
    assert [m["metadata"]["name"] for m in kube.list_models(app, team)] == ["m1"]
    assert kube.list_model_events(app, team, "m1") == []
    assert [e["type"] for e in watch_models(app, team, token)] == ["ADDED"]
    kube.delete_model(app, team, "m1")
    assert kube.who_am_i(app).user == account(home)
    assert kube.can_i(app, "create", "models", "kubeai.org", namespace=team)

    with pytest.raises(kube.Forbidden):
        kube.create_model(app, make_model(elsewhere, "m2"))
    with pytest.raises(kube.Forbidden):
        kube.list_models(app, elsewhere)
    with pytest.raises(kube.Forbidden):
        kube.get_model(app, elsewhere, "secret-model")
    with pytest.raises(kube.Forbidden):
        kube.list_models(app)  # all namespaces
    with pytest.raises(kube.Forbidden):
        kube.list_namespaces(app)
    with pytest.raises(urllib.error.HTTPError, match="403"):
        watch_models(app, elsewhere, token)
    assert_the_rbac_watch_runs_and_writes_no_rbac(app, team)
    assert_cannot_write_other_kinds(cluster, token, team, tmp_path)


def proxy_values(groups: list[str] | None = None) -> dict[str, Any]:
    return {"auth": {"mode": "proxy", "proxy": {"trustedCIDRs": ["127.0.0.1/32"],
                                                "impersonableGroups": groups or []}}}


def grant_group_edit(namespace: str, group: str) -> None:
    kubectl("create", "role", "model-editor", "-n", namespace, "--verb=get,list,watch,create",
            "--resource=models.kubeai.org")
    kubectl("create", "rolebinding", "model-editors", "-n", namespace, "--role=model-editor",
            f"--group={group}")


def test_proxy_mode_the_account_impersonates_and_the_users_rbac_decides(
        cluster: kube.Cluster, admin: kube.Caller, tmp_path: Path) -> None:
    namespace, group = unique("kmm"), unique("ml-team")
    kube.create_namespace(admin, namespace)
    token = install_rbac(namespace, proxy_values([group]))
    app = kube.Cluster.from_kubeconfig(token_kubeconfig(token, tmp_path / "sa.kubeconfig"))
    try:
        carol = app.impersonating("carol", (group,))
        dave = app.impersonating("dave")

        assert kube.who_am_i(carol).user == "carol"
        assert group in kube.who_am_i(carol).groups
        with pytest.raises(kube.Forbidden):
            kube.list_models(carol, namespace)
        grant_group_edit(namespace, group)
        kube.create_model(carol, make_model(namespace, "by-carol"))
        assert [m["metadata"]["name"] for m in kube.list_models(carol, namespace)] == ["by-carol"]
        with pytest.raises(kube.Forbidden):
            kube.delete_model(carol, namespace, "by-carol")  # the Role has no delete
        with pytest.raises(kube.Forbidden):
            kube.list_models(dave, namespace)  # not in the group
        # kmm itself still only reads.
        with pytest.raises(kube.Forbidden):
            kube.create_model(app.as_app(), make_model(namespace, "by-kmm"))
        assert len(kube.list_models(app.as_app(), namespace)) == 1
    finally:
        app.close()
    assert_cannot_write_other_kinds(cluster, token, namespace, tmp_path)


def test_proxy_mode_impersonable_groups_keep_out_system_masters(admin: kube.Caller,
                                                                tmp_path: Path) -> None:
    namespace = unique("kmm")
    kube.create_namespace(admin, namespace)
    token = install_rbac(namespace, proxy_values(["ml-team"]))
    app = kube.Cluster.from_kubeconfig(token_kubeconfig(token, tmp_path / "sa.kubeconfig"))
    try:
        assert kube.who_am_i(app.impersonating("carol", ("ml-team",))).groups[0] == "ml-team"
        with pytest.raises(kube.Forbidden):
            kube.who_am_i(app.impersonating("carol", ("system:masters",)))
        with pytest.raises(kube.Forbidden):
            kube.create_namespace(app.impersonating("mallory", ("system:masters",)), "pwned")
    finally:
        app.close()


def test_namespaced_rbac_runs_the_watch_cache(cluster: kube.Cluster, admin: kube.Caller) -> None:
    home, team = unique("kmm"), unique("team")
    for name in (home, team):
        kube.create_namespace(admin, name)
    values = {"rbac": {"namespaces": [team]}}
    environment = env_of(render(home, values))
    assert environment["KMM_WATCH_NAMESPACES"] == team
    app = cluster.as_token(install_rbac(home, values))
    kube.create_model(admin, {"metadata": {"name": "seen", "namespace": team},
                              "spec": {"url": "hf://o/m", "engine": "VLLM",
                                       "features": ["TextGeneration"]}})
    cache = ModelCache(app, watch_namespaces(environment)).start()
    try:
        assert cache.wait_synced(5), cache.stats()
        assert cache.wait_until(lambda s: s.get(team, "seen") is not None, 5)
        assert cache.snapshot().namespaces == (team,)
    finally:
        cache.stop()


def test_the_console_reads_kubeais_config_by_name_and_watches_pods_and_nodes_only(
        cluster: kube.Cluster, admin: kube.Caller) -> None:
    """The operator console's watches (kube.watches) run as the chart's account: pods with
    KubeAI's `model` label, nodes, Warning and Model events, and KubeAI's one ConfigMap."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from kube.watches import new_fleet
    from tests.consolekit import SYSTEM_YAML

    namespace, kubeai_namespace = unique("kmm"), unique("kubeai")
    for name in (namespace, kubeai_namespace):
        kube.create_namespace(admin, name)
    core = client.CoreV1Api(admin.api)
    for name in ("kubeai-config", "kubeai-autoscaler-state"):
        core.create_namespaced_config_map(kubeai_namespace, {
            "metadata": {"name": name}, "data": {"system.yaml": SYSTEM_YAML}})
    token = install_rbac(namespace, {"kubeai": {"config": f"{kubeai_namespace}/kubeai-config"}})
    app = cluster.as_token(token)

    fleet = new_fleet(app, (kubeai_namespace, "kubeai-config")).start()
    try:
        assert fleet.wait_synced(15), [c.problem for c in fleet.caches]
        assert "resourceProfiles" in (fleet.config_text() or "")
        assert [c.problem for c in fleet.caches] == [""] * len(fleet.caches)
    finally:
        fleet.stop()
    as_app = client.CoreV1Api(app.api)
    assert as_app.read_namespaced_config_map("kubeai-config", kubeai_namespace).data
    for forbidden in (
            lambda: as_app.read_namespaced_config_map("kubeai-autoscaler-state",
                                                      kubeai_namespace),
            lambda: as_app.list_namespaced_config_map(kubeai_namespace),
            lambda: as_app.list_namespaced_config_map(namespace),
            lambda: as_app.read_namespaced_pod_log("any", namespace),
            lambda: as_app.create_namespaced_pod(namespace, {
                "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c",
                                                                    "image": "x"}]}}),
            lambda: as_app.patch_node("kmm-cpu-1", {"metadata": {"labels": {"x": "y"}}})):
        with pytest.raises(ApiException) as refused:
            forbidden()
        assert refused.value.status == 403
    assert not kube.can_i(app, "patch", "models", "kubeai.org", namespace=namespace,
                          subresource="scale")


def test_proxy_mode_impersonates_no_group_unless_listed(admin: kube.Caller, tmp_path: Path) -> None:
    namespace = unique("kmm")
    kube.create_namespace(admin, namespace)
    token = install_rbac(namespace, proxy_values())
    app = kube.Cluster.from_kubeconfig(token_kubeconfig(token, tmp_path / "sa.kubeconfig"))
    try:
        assert kube.who_am_i(app.impersonating("carol")).user == "carol"
        for group in ("ml-team", "system:masters"):
            with pytest.raises(kube.Forbidden):
                kube.who_am_i(app.impersonating("carol", (group,)))
    finally:
        app.close()


def test_token_mode_records_sign_outs_in_its_own_configmap_only(admin: kube.Caller,
                                                                tmp_path: Path) -> None:
    namespace = unique("kmm")
    kube.create_namespace(admin, namespace)
    objects = render(namespace)
    record = next(o for o in objects if o["kind"] == "ConfigMap")
    kubectl("apply", "-f", "-", stdin=as_stream([record]))
    app = kube.Cluster.from_kubeconfig(token_kubeconfig(install_rbac(namespace),
                                                        tmp_path / "sa.kubeconfig")).as_app()
    name = record["metadata"]["name"]
    revocations.add(app, namespace, name, "a" * 40, time.time() + 60)
    assert "a" * 40 in revocations.read(app, namespace, name)[0]
    with pytest.raises(kube.Forbidden):  # no other ConfigMap, not even a new one
        revocations.add(app, namespace, "another-record", "b" * 40, time.time() + 60)
