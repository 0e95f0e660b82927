"""API-server requests caused by one open detail page polling for 60 s (goal: 0).

Starts its own local control plane, creates a model that cannot be scheduled (a
Pending pod, a FailedScheduling event, nodes, KubeAI's config), opens its detail page
with Django's test client, then polls as the page's htmx does for POLL_SECONDS: the
live part every second and the why-not-ready panel every two, each with the ETag it was
last given. The API server's own counter (apiserver_request_total on its /metrics) is
read before and after, and the same window without polling is subtracted (the API
server's own background requests). Prints:

    detail_poll_apiserver_requests=<n>   requests caused by the polling, all kinds
    detail_poll_apiserver_reads=<n>      of which reads of models, pods, events, nodes,
                                         configmaps (the rest are access reviews)
    detail_poll_responses=<n> detail_poll_304=<n>
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

from bench import in_process_settings, serve_from

POLL_SECONDS = 60
READ_RESOURCES = {"models", "pods", "events", "nodes", "configmaps", "jobs",
                  "persistentvolumeclaims"}
_SAMPLE = re.compile(r'^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$')


def _requests(admin: Any) -> Counter[tuple[str, str]]:
    from tests.conftest import kubectl

    text = kubectl("get", "--raw", "/metrics")
    counts: Counter[tuple[str, str]] = Counter()
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(part.split("=", 1) for part in re.findall(r'[a-z_]+="[^"]*"',
                                                                  match["labels"]))
        labels = {k: v.strip('"') for k, v in labels.items()}
        counts[(labels.get("verb", ""), labels.get("resource", ""))] += int(float(match["value"]))
    return counts


def _window(admin: Any, seconds: float, action: Any = None) -> Counter[tuple[str, str]]:
    before = _requests(admin)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if action is not None:
            action()
        time.sleep(0.05)
    after = _requests(admin)
    after.subtract(before)
    return Counter({k: v for k, v in after.items() if v > 0})


def main() -> None:
    in_process_settings()
    from devcluster import controlplane

    with controlplane.start() as plane:
        serve_from(plane)
        from django.test import Client

        import kube
        from kube.cache import model_cache, reset_model_cache
        from kube.watches import reset_fleet
        from tests import conftest
        from tests.consolekit import (
            caught_up,
            install_cluster_objects,
            model_pod,
            unschedulable_status,
            warning_event,
        )

        conftest._started.append(plane)
        admin = kube.default_cluster().as_app()
        namespace = "bench-console"
        kube.create_namespace(admin, namespace)
        kube.create_model(admin, {"metadata": {"name": "llama-3.1-70b", "namespace": namespace},
                                  "spec": {"url": "hf://meta-llama/Llama-3.1-70B-Instruct",
                                           "engine": "VLLM", "features": ["TextGeneration"],
                                           "resourceProfile": "nvidia-gpu-h100:2",
                                           "replicas": 1, "minReplicas": 1}})
        assert model_cache().wait_until(lambda s: s.get(namespace, "llama-3.1-70b") is not None, 10)
        install_cluster_objects(admin)
        pod = model_pod(admin, namespace, "llama-3.1-70b", gpus=2,
                        status=unschedulable_status("0/4 nodes are available"))
        warning_event(admin, namespace, pod, "FailedScheduling", "0/4 nodes are available")
        caught_up(admin, namespace)

        client = Client()
        detail = f"/models/{namespace}/llama-3.1-70b/"
        panel = f"/console/models/{namespace}/llama-3.1-70b/panel/"
        page = client.get(detail)
        assert page.status_code == 200
        assert b"0 of 4 nodes fit" in page.content
        etags = {detail: "", panel: ""}
        statuses: Counter[int] = Counter()
        next_poll = {detail: 0.0, panel: 0.0}
        interval = {detail: 1.0, panel: 2.0}
        headers = {detail: {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "model-live"},
                   panel: {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "console-panel"}}
        for url in (detail, panel):  # the ETags the open page holds
            etags[url] = client.get(url, **headers[url])["ETag"]

        def poll() -> None:
            now = time.monotonic()
            for url in (detail, panel):
                if now >= next_poll[url]:
                    next_poll[url] = now + interval[url]
                    response = client.get(url, HTTP_IF_NONE_MATCH=etags[url], **headers[url])
                    statuses[response.status_code] += 1
                    etags[url] = response.get("ETag", etags[url])

        baseline = _window(admin, POLL_SECONDS)
        polling = _window(admin, POLL_SECONDS, poll)
        caused = polling.copy()
        caused.subtract(baseline)
        caused = Counter({k: v for k, v in caused.items() if v > 0})
        total = sum(caused.values())
        reads = sum(v for (verb, resource), v in caused.items() if resource in READ_RESOURCES)
        print(f"detail_poll_apiserver_requests={total} detail_poll_apiserver_reads={reads} "
              f"detail_poll_responses={sum(statuses.values())} "
              f"detail_poll_304={statuses[304]}", flush=True)
        print("# by verb/resource: " + ", ".join(f"{verb} {resource}={n}" for (verb, resource), n
                                                 in sorted(caused.items())), flush=True)
        print("# background subtracted: " + ", ".join(
            f"{verb} {resource}={n}" for (verb, resource), n in sorted(baseline.items())),
              flush=True)
        reset_fleet()
        reset_model_cache()


if __name__ == "__main__":
    main()
