"""The local fleet: warm start to "all sample models reconciled", the memory of each fleet
process, and how long a new Model takes to be Ready in kmm's change list.

Starts the plane with its fleet (binaries cached: run `make build-cluster` first), seeds the
samples and waits until KubeAI has reconciled them (what `make cluster` waits for), then
creates a one-replica CPU model through kmm's form and polls the change list. Prints:

    fleet_warm_start_s=<s>       process start to every sample in `kubeai` reconciled
    fleet_rss_mib_<name>=<MiB>   resident memory of each process, after the samples settle
    create_to_ready_s=<s>        POST /add/ to the change list showing the model Ready
"""

from __future__ import annotations

import time
from pathlib import Path

from bench import in_process_settings, serve_from


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    in_process_settings()
    from devcluster import controlplane, fleet

    if fleet.unavailable_reason():
        print(f"# skipped: {fleet.unavailable_reason()}")
        return
    fleet.build()  # not part of the warm start
    controlplane.build_binaries()
    started = time.perf_counter()
    with controlplane.start(seed=True, fleet=True) as plane:
        print(f"fleet_warm_start_s={time.perf_counter() - started:.1f}", flush=True)
        time.sleep(3)
        for process in plane.processes:
            name = plane.fleet_names.get(process.pid, "kube-apiserver+etcd")
            print(f"fleet_rss_mib_{name}={_rss_mib(process.pid):.0f}")

        serve_from(plane)
        from django.test import Client
        from django.test.utils import setup_test_environment

        setup_test_environment()  # responses carry their template context

        client = Client()
        data = {"name": "bench-ready", "namespace": fleet.NAMESPACE, "url": "hf://org/model",
                "engine": "VLLM", "features": ["TextGeneration"], "resource_profile": "cpu",
                "resource_count": "1", "minReplicas": "1", "maxReplicas": "1"}
        for prefix in ("args", "env", "envFrom", "adapters", "files", "labels", "annotations"):
            data[f"{prefix}-TOTAL_FORMS"] = "0"
            data[f"{prefix}-INITIAL_FORMS"] = "0"
        created = time.perf_counter()
        response = client.post("/add/", data)
        if response.status_code != 302:
            raise RuntimeError(f"/add/ answered {response.status_code}")
        while True:
            rows = client.get("/", {"namespace": fleet.NAMESPACE, "q": "bench-ready"}).context[
                "cl"].rows
            if rows and rows[0].state == "ready":
                break
            if time.perf_counter() - created > 120:
                raise RuntimeError("the model never became Ready")
            time.sleep(0.05)
        print(f"create_to_ready_s={time.perf_counter() - created:.2f}", flush=True)
