"""The local control plane itself: a real server version, the CRD, a clean stop."""

from __future__ import annotations

import json
import os
import time

import pytest

import kube
from devcluster import controlplane
from kube.crds import crd_established
from tests.conftest import kubectl, make_model

pytestmark = pytest.mark.cluster

own_plane_only = pytest.mark.skipif(
    bool(os.environ.get("KMM_TEST_KUBECONFIG")),
    reason="starts and stops its own control plane",
)


def test_kubectl_sees_a_real_server_version(control_plane: controlplane.ControlPlane) -> None:
    version = json.loads(kubectl("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"].startswith("v1.3")
    assert version["serverVersion"]["gitVersion"] == control_plane.version


def test_the_crd_is_established(admin: kube.Caller) -> None:
    assert crd_established(admin, "models.kubeai.org")
    assert "models.kubeai.org" in kubectl("get", "crd", "models.kubeai.org", "-o", "name")


@own_plane_only
def test_stop_leaves_no_process_and_no_files() -> None:
    plane = controlplane.start(seed=True)
    workdir, pids = plane.workdir, [p.pid for p in plane.processes]
    assert workdir is not None
    assert workdir.exists()
    cluster = kube.Cluster.from_kubeconfig(plane.kubeconfig)
    engines = {m["spec"]["engine"] for m in kube.list_models(cluster.as_app())}
    features = {f for m in kube.list_models(cluster.as_app()) for f in m["spec"]["features"]}
    cluster.close()

    plane.stop()

    assert engines == {"OLlama", "VLLM", "FasterWhisper", "Infinity"}
    assert features == {"TextGeneration", "TextEmbedding", "Reranking", "SpeechToText"}
    assert not workdir.exists()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@own_plane_only
def test_calls_fail_fast_with_503_while_the_api_server_is_down_and_recover() -> None:
    plane = controlplane.start()
    cluster = kube.Cluster.from_kubeconfig(plane.kubeconfig, read_timeout=5)
    caller = cluster.as_app()
    try:
        kube.create_namespace(caller, "outage")
        kube.create_model(caller, make_model("outage", "survivor"))
        plane.halt()

        started = time.monotonic()
        with pytest.raises(kube.Unavailable) as caught:
            kube.list_models(caller, "outage")
        assert time.monotonic() - started < 5
        assert caught.value.status == 503
        assert "cannot be reached" in caught.value.message
        assert plane.server in caught.value.message

        plane.resume()
        names = [m["metadata"]["name"] for m in kube.list_models(caller, "outage")]
        assert names == ["survivor"]
    finally:
        cluster.close()
        plane.stop()
