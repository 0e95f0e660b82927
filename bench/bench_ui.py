"""Server time of the change list with 5,000 models in 50 namespaces, and of a detail page.

Starts its own local control plane, creates the models through the service layer,
waits until kmm's watch cache holds them all, then times requests through the
whole Django stack (middleware, access checks, filtering, sorting, rendering)
with Django's test client in this process. Prints:

    list_page_ms=<median>    first page of "All namespaces", sorted by name
    detail_page_ms=<median>  one model's page (read live from the API server)
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from bench import in_process_settings, serve_from

NAMESPACES = 50
PER_NAMESPACE = 100
ROUNDS = 30


def _timed(client: object, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)  # type: ignore[attr-defined]
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return elapsed


def main() -> None:
    in_process_settings()
    from devcluster import controlplane

    with controlplane.start() as plane:
        serve_from(plane)
        from django.test import Client

        import kube
        from kube.cache import model_cache

        admin = kube.default_cluster().as_app()
        started = time.perf_counter()
        namespaces = [f"bench-{index:02d}" for index in range(NAMESPACES)]
        for namespace in namespaces:
            kube.create_namespace(admin, namespace)

        def create(index: int) -> None:
            namespace = namespaces[index % NAMESPACES]
            kube.create_model(admin, {
                "metadata": {"name": f"model-{index:05d}", "namespace": namespace},
                "spec": {"url": f"hf://org/model-{index}", "engine": "VLLM",
                         "features": ["TextGeneration"], "resourceProfile": "cpu:1",
                         "minReplicas": 0}})

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(create, range(NAMESPACES * PER_NAMESPACE)))
        print(f"setup_models={NAMESPACES * PER_NAMESPACE} setup_seconds="
              f"{time.perf_counter() - started:.1f}", flush=True)

        cache = model_cache()
        if not cache.wait_until(lambda s: len(s.models) >= NAMESPACES * PER_NAMESPACE, 60):
            raise RuntimeError("the watch cache never held every model")

        client = Client()
        list_url, detail_url = "/?o=name", f"/models/{namespaces[7]}/model-00007/"
        for url in (list_url, detail_url):  # warm up templates and access answers
            _timed(client, url)
        list_times = [_timed(client, list_url) for _ in range(ROUNDS)]
        detail_times = [_timed(client, detail_url) for _ in range(ROUNDS)]
        filtered = [_timed(client, "/?q=model-0004&engine=VLLM&o=-age") for _ in range(ROUNDS)]
        cache.stop()

    print(f"list_page_ms={statistics.median(list_times):.1f}")
    print(f"list_page_p90_ms={statistics.quantiles(list_times, n=10)[-1]:.1f}")
    print(f"list_page_filtered_ms={statistics.median(filtered):.1f}")
    print(f"detail_page_ms={statistics.median(detail_times):.1f}")


if __name__ == "__main__":
    main()
