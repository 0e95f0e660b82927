"""The watch cache and the workers at scale: cost per event, visibility under churn, memory.

1. Cost of one watch event, with 1,000 and then 10,000 models in the cache (no API
   server: the watch thread's own code path, fed MODIFIED events as the API server
   sends them, one line of JSON each, as fast as it takes them, with the publisher
   thread running). Prints `watch_event_cost_us=<us> models=<n>`: the watch thread's
   CPU time per event (parse, apply to the indexes). The publisher's snapshot builds
   are printed beside it: their rate is bounded (see kube.cache), not their number
   per event.
2. Visibility under churn: a local control plane with 5,000 models (listing
   annotations, as the public benchmark), a watch cache in this process, and 20
   updates per second to random models for WATCH_SECONDS. For each update, the
   time from the API server's answer to the first snapshot showing that version
   or a newer one. Prints `watch_visible_{p50,p95,max}_ms=`.
3. Memory: kmm under gunicorn with the production settings (2 workers x 4
   threads) against those 5,000 models, loaded by wrk with GET /api/models/
   (every model, streamed) and /public/api/models for LOAD_SECONDS while the
   updates go on. Prints `worker_rss_mib=` (the largest worker's resident set
   after the load) and `worker_peak_rss_mib=` (its high-water mark).
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODELS = 5000
NAMESPACES = 5
UPDATES_PER_SECOND = 20
WATCH_SECONDS = 30
LOAD_SECONDS = 30
EVENTS = 20_000
COST_ROUNDS = 3


def sample_model(index: int, namespace: str) -> dict[str, Any]:
    from bench.bench_public_api import annotations

    return {
        "apiVersion": "kubeai.org/v1", "kind": "Model",
        "metadata": {"name": f"model-{index:05d}", "namespace": namespace,
                     "annotations": annotations(index)},
        "spec": {"url": f"hf://org/model-{index}", "engine": "VLLM",
                 "features": ["TextGeneration"], "resourceProfile": "nvidia-gpu-l4:1",
                 "minReplicas": 0, "maxReplicas": 3,
                 "args": ["--max-model-len=32768", "--gpu-memory-utilization=0.9"],
                 "env": {"VLLM_ATTENTION_BACKEND": "FLASHINFER"}},
    }


# --- 1. cost per event ---------------------------------------------------------------

def event_cost(models: int) -> tuple[float, float]:
    from kubernetes import client

    import kube
    from kube.cache import ModelCache

    cluster = kube.Cluster(client.Configuration(), "bench", "bench")  # never contacted
    cache = ModelCache(cluster.as_app())
    watcher = cache.models
    objects = []
    for index in range(models):
        obj = sample_model(index, f"ns-{index % NAMESPACES}")
        obj["metadata"].update(uid=f"uid-{index}", resourceVersion=str(index + 1),
                               creationTimestamp="2025-01-01T00:00:00Z")
        objects.append(obj)
    cache.publisher.start()
    cache._models_changed([((o["metadata"]["namespace"], o["metadata"]["name"]), o)
                           for o in objects])
    watcher.synced.set()
    cache.wait_until(lambda s: len(s.models) == models, 60)
    lines = []
    for number in range(EVENTS):
        obj = json.loads(json.dumps(random.choice(objects)))
        obj["metadata"]["resourceVersion"] = str(models + number + 1)
        lines.append(json.dumps({"type": "MODIFIED", "object": obj}).encode())
    builds, build_seconds = cache.builds, cache.build_seconds
    started = time.thread_time()
    for line in lines:
        watcher.handle(json.loads(line))
    spent = time.thread_time() - started  # this thread is the watch thread here
    cache.wait_until(lambda s: s.version >= models + EVENTS, 60)
    built = max(1, cache.builds - builds)
    build_ms = (cache.build_seconds - build_seconds) / built * 1000
    cache.stop()
    return spent / EVENTS * 1e6, build_ms


# --- 2. visibility under churn --------------------------------------------------------

def create_models(admin: Any) -> list[tuple[str, str]]:
    import kube

    namespaces = [f"scale-{i}" for i in range(NAMESPACES)]
    for namespace in namespaces:
        kube.create_namespace(admin, namespace)
    keys = [(namespaces[i % NAMESPACES], f"model-{i:05d}") for i in range(MODELS)]

    def create(index: int) -> None:
        kube.create_model(admin, sample_model(index, keys[index][0]))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(MODELS)))
    return keys


class Churn:
    """UPDATES_PER_SECOND merge patches to random models, each remembered with the time
    the API server answered and the version it gave."""

    def __init__(self, admin: Any, keys: list[tuple[str, str]]):
        self.admin, self.keys = admin, keys
        self.written: list[tuple[tuple[str, str], dict[str, Any], float]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import kube

        interval, number = 1.0 / UPDATES_PER_SECOND, 0
        next_at = time.monotonic()
        while not self.stopping.is_set():
            key = random.choice(self.keys)
            number += 1
            written = kube.patch_model(self.admin, *key, {"metadata": {"annotations": {
                "bench/update": str(number)}}})
            self.written.append((key, written, time.monotonic()))
            next_at += interval
            self.stopping.wait(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> Churn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(30)


def visibility(admin: Any, keys: list[tuple[str, str]]) -> list[float]:
    from kube.cache import ModelCache, shows_write

    cache = ModelCache(admin).start()
    if not cache.wait_until(lambda s: len(s.models) >= MODELS, 120):
        raise RuntimeError("the watch cache never held every model")
    seen: dict[int, float] = {}
    stopping = threading.Event()

    def observe(churn: Churn) -> None:
        version = 0
        while not stopping.is_set():
            cache.wait_until(lambda s, seen=version: s.version != seen, 0.5)
            snapshot, now = cache.snapshot(), time.monotonic()
            version = snapshot.version
            for index, (key, written, _) in enumerate(list(churn.written)):
                if index not in seen and shows_write(snapshot, *key, written):
                    seen[index] = now

    with Churn(admin, keys) as churn:
        observer = threading.Thread(target=observe, args=(churn,), daemon=True)
        observer.start()
        time.sleep(WATCH_SECONDS)
    time.sleep(2)
    stopping.set()
    observer.join(10)
    cache.stop()
    delays = [(seen.get(i, float("inf")) - at) * 1000 for i, (_, _, at) in enumerate(churn.written)]
    return [max(0.0, d) for d in delays]


# --- 3. memory --------------------------------------------------------------------------

def rss_mib(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if ":" in line)
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def memory(plane: Any, admin: Any, keys: list[tuple[str, str]], work: Path) -> tuple[float, float]:
    from bench.bench_public_api import ensure_wrk, free_port, gunicorn, stop, wait_for

    ensure_wrk()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KMM_", "KUBE"))}
    env.update(KUBECONFIG=str(plane.kubeconfig), KMM_SECRET_KEY="bench-only-not-secret-" + uuid.uuid4().hex,
               KMM_AUTH_MODE="none", KMM_LOG_LEVEL="warning", KMM_PUBLIC_RATE="off",
               KMM_PUBLISH_MODE="all", PYTHONPATH=str(ROOT),
               DJANGO_SETTINGS_MODULE="kmm.settings")
    port = free_port()
    server = gunicorn("kmm.wsgi:application", port, env, work / "kmm.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/readyz", times=8, timeout=180)
        workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(server.pid)],
                                                  capture_output=True, text=True,
                                                  check=False).stdout.split()]
        at_start = max(rss_mib(pid)[0] for pid in workers)
        print(f"worker_rss_mib_at_start={at_start:.0f}", flush=True)
        with Churn(admin, keys):
            loads = [subprocess.Popen(["wrk", "-t1", "-c4", f"-d{LOAD_SECONDS}s", "--timeout",
                                       "30s", f"{base}{path}"], stdout=subprocess.PIPE,
                                      text=True)
                     for path in ("/api/models/", "/public/api/models")]
            outputs = [load.communicate(timeout=LOAD_SECONDS + 120)[0] for load in loads]
        for path, output in zip(("/api/models/", "/public/api/models"), outputs, strict=True):
            rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
            bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
            print(f"# load on {path}: {rate.group(1) if rate else '?'} requests/s"
                  + (f", {bad.group(1)} not 2xx" if bad else ""), flush=True)
        figures = [rss_mib(pid) for pid in workers]
        print(f"gunicorn_master_rss_mib={rss_mib(server.pid)[0]:.0f}", flush=True)
        return max(f[0] for f in figures), max(f[1] for f in figures)
    finally:
        stop(server)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    # Alternating rounds, medians: a busy neighbour on the machine hits both sizes alike.
    rounds: dict[int, list[tuple[float, float]]] = {1000: [], 10_000: []}
    for _ in range(COST_ROUNDS):
        for models, figures in rounds.items():
            figures.append(event_cost(models))
    for models, figures in rounds.items():
        cost = statistics.median(f[0] for f in figures)
        build_ms = statistics.median(f[1] for f in figures)
        print(f"watch_event_cost_us={cost:.1f} models={models} "
              f"(publisher: a snapshot build takes {build_ms:.2f} ms CPU, at a bounded rate)",
              flush=True)

    import kube
    from devcluster import controlplane

    with controlplane.start() as plane, tempfile.TemporaryDirectory(prefix="kmm-bench-") as tmp:
        cluster = kube.Cluster.from_kubeconfig(plane.kubeconfig)
        admin = cluster.as_app()
        started = time.monotonic()
        keys = create_models(admin)
        print(f"setup_models={MODELS} setup_seconds={time.monotonic() - started:.1f}",
              flush=True)
        delays = visibility(admin, keys)
        missed = sum(d == float("inf") for d in delays)
        shown = [d for d in delays if d != float("inf")]
        print(f"# {len(delays)} updates at {UPDATES_PER_SECOND}/s over {MODELS} models; "
              f"{missed} never shown", flush=True)
        print(f"watch_visible_p50_ms={statistics.median(shown):.0f}", flush=True)
        print(f"watch_visible_p95_ms={percentile(delays, 0.95):.0f}", flush=True)
        print(f"watch_visible_max_ms={max(delays):.0f}", flush=True)
        rss, peak = memory(plane, admin, keys, Path(tmp))
        print(f"worker_rss_mib={rss:.0f} models={MODELS}", flush=True)
        print(f"worker_peak_rss_mib={peak:.0f}", flush=True)
        cluster.close()


if __name__ == "__main__":
    main()
