"""/public/api/models under gunicorn with 1,000 published models, next to a bare WSGI app.

Starts its own local control plane and creates 1,000 published models (with
listing annotations) in 4 namespaces, then serves kmm with the production
gunicorn settings (kmm/gunicorn.conf.py: 2 gthread workers x 4 threads, access
log on; only the bind address is changed to 127.0.0.1). wrk, on loopback, asks
for the list as OpenRouter's poller would (Accept: application/json,
Accept-Encoding: gzip). A bare WSGI app returning the very bytes and headers
kmm sent (bench/bare_wsgi.py) runs beside it under the same gunicorn settings;
the two take the same load in alternating rounds (so a busy neighbour on the
machine hits both alike). Reported: the median over rounds of each figure, the
median ratio of paired rounds, and the servers' own CPU time per request (from
/proc, steadier than requests/s on a shared machine). The throttle stays on,
at a rate the load cannot reach.

API-server requests made while serving the load are counted from the
kube-apiserver's own /metrics (apiserver_request_total for models, namespaces
and access reviews, the only things kmm asks for), before and after the load.

Prints public_api_{rps,p50_ms,p99_ms,server_cpu_us_per_request}, the same for bare_,
public_api_ratio (ours/bare requests per second) and public_api_apiserver_requests.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = 1000
NAMESPACES = 4
ROUNDS = 10  # alternating rounds of each app; medians are reported
ROUND_SECONDS = 5
WARMUP_SECONDS = 3
CONNECTIONS = 32
WRK_THREADS = 2
HEADERS = {"Accept": "application/json", "Accept-Encoding": "gzip"}
SKIPPED_HEADERS = {"date", "server", "content-length", "connection", "keep-alive",
                   "transfer-encoding"}
COUNTED = re.compile(r'group="kubeai\.org"|resource="(namespaces|selfsubjectaccessreviews|'
                     r'selfsubjectreviews)"')


def annotations(index: int) -> dict[str, str]:
    prefix = "openrouter.kmm.io/"
    return {
        prefix + "publish": "true",
        prefix + "display-name": f"Bench model {index}",
        prefix + "description": "A model created by the public API benchmark.",
        prefix + "context-length": "131072",
        prefix + "max-output-length": "8192",
        prefix + "quantization": "bf16",
        prefix + "pricing-prompt": "0.0000002",
        prefix + "pricing-completion": "0.0000006",
        prefix + "sampling-parameters": "temperature,top_p,top_k,stop,seed,max_tokens",
        prefix + "features": "tools,json_mode",
        prefix + "datacenters": "DE,FR",
    }


def create_models(kubeconfig: Path) -> None:
    import kube

    cluster = kube.Cluster.from_kubeconfig(kubeconfig)
    admin = cluster.as_app()
    namespaces = [f"public-{index}" for index in range(NAMESPACES)]
    for namespace in namespaces:
        kube.create_namespace(admin, namespace)

    def create(index: int) -> None:
        kube.create_model(admin, {
            "metadata": {"name": f"model-{index:04d}", "namespace": namespaces[index % NAMESPACES],
                         "annotations": annotations(index)},
            "spec": {"url": f"hf://org/model-{index}", "engine": "VLLM",
                     "features": ["TextGeneration"], "minReplicas": 0,
                     "env": {"SECRET": "never-listed"}}})

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(create, range(MODELS)))
    cluster.close()


def free_port() -> int:
    from devcluster.controlplane import free_port as pick

    return pick()


def gunicorn(app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", str(ROOT / "kmm" / "gunicorn.conf.py"),
               "--bind", f"127.0.0.1:{port}", app]
    with open(log, "ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()
    except OSError:
        return 0, {}, b""


def wait_for(url: str, times: int = 1, timeout: float = 60) -> None:
    """Until `url` answers 200 `times` in a row (each gunicorn worker has synced)."""
    deadline, streak = time.monotonic() + timeout, 0
    while streak < times:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} never answered 200")
        streak = streak + 1 if get(url)[0] == 200 else 0
        if streak == 0:
            time.sleep(0.2)


def wrk(url: str, seconds: int) -> dict[str, float]:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
               "--timeout", "10s"]
    for name, value in HEADERS.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True,
                            timeout=seconds + 60).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
               "requests": float(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
               "p50_ms": _ms(output, "50%"), "p99_ms": _ms(output, "99%")}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    figures["non_2xx"] = float(bad.group(1)) if bad else 0.0
    if errors:
        print(f"# wrk: {errors.group(0)}", flush=True)
    return figures


def _ms(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)\b", output).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def apiserver_requests(kubectl: Path, kubeconfig: Path) -> dict[str, float]:
    """kmm's kind of requests the API server has completed so far, per series (its own counter)."""
    metrics = subprocess.run([str(kubectl), f"--kubeconfig={kubeconfig}", "get", "--raw",
                              "/metrics"], capture_output=True, text=True, check=True,
                             timeout=60).stdout
    series: dict[str, float] = {}
    for line in metrics.splitlines():
        if line.startswith("apiserver_request_total{") and COUNTED.search(line):
            name, value = line.rsplit(" ", 1)
            series[name] = float(value)
    return series


def made_between(before: dict[str, float], after: dict[str, float]) -> int:
    changed = {name: after[name] - before.get(name, 0.0) for name in after
               if after[name] != before.get(name, 0.0)}
    for name, count in changed.items():
        print(f"# API-server requests during the load: {count:.0f} x {name}", flush=True)
    return int(sum(changed.values()))


def ensure_wrk() -> None:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is needed: `make bench` installs Debian's wrk (apt-get install wrk)")


def cpu_seconds(server: subprocess.Popen[bytes]) -> float:
    """CPU time used so far by a gunicorn master and its workers (from /proc)."""
    children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True,
                              check=False).stdout.split()
    total = 0
    for pid in [str(server.pid), *children]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / os.sysconf("SC_CLK_TCK")


def measured(url: str, server: subprocess.Popen[bytes]) -> dict[str, float]:
    cpu = cpu_seconds(server)
    figures = wrk(url, ROUND_SECONDS)
    figures["cpu_us"] = (cpu_seconds(server) - cpu) / max(figures["requests"], 1) * 1e6
    return figures


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    ensure_wrk()
    from devcluster import controlplane

    with controlplane.start() as plane, tempfile.TemporaryDirectory(prefix="kmm-bench-") as tmp:
        work = Path(tmp)
        started = time.monotonic()
        create_models(plane.kubeconfig)
        print(f"setup_public_models={MODELS} setup_seconds={time.monotonic() - started:.1f}",
              flush=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KMM_", "KUBE"))}
        env.update(KUBECONFIG=str(plane.kubeconfig), KMM_SECRET_KEY=secrets.token_urlsafe(50),
                   KMM_AUTH_MODE="none", KMM_LOG_LEVEL="warning", KMM_PUBLIC_RATE="100000000/min",
                   PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="kmm.settings")
        servers: list[subprocess.Popen[bytes]] = []
        try:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            ours_url = f"{base}/public/api/models"
            servers.append(gunicorn("kmm.wsgi:application", port, env, work / "kmm.log"))
            wait_for(f"{base}/readyz", times=8)
            status, headers, body = get(ours_url, HEADERS)
            if status != 200:
                raise RuntimeError(f"/public/api/models answered {status}")
            listed = json.loads(gzip.decompress(body))["data"]
            if len(listed) != MODELS:
                raise RuntimeError(f"listed {len(listed)} models, not {MODELS}")
            print(f"public_api_body_bytes={len(body)} (gzip; "
                  f"{len(json.dumps(listed))} as JSON)", flush=True)

            (work / "body").write_bytes(body)
            (work / "headers.json").write_text(json.dumps(
                {k: v for k, v in headers.items() if k.lower() not in SKIPPED_HEADERS}))
            env.update(BENCH_BODY_FILE=str(work / "body"),
                       BENCH_HEADERS_FILE=str(work / "headers.json"))
            port = free_port()
            bare_url = f"http://127.0.0.1:{port}/public/api/models"
            servers.append(gunicorn("bench.bare_wsgi:application", port, env, work / "bare.log"))
            wait_for(bare_url, times=4)

            for url in (ours_url, bare_url):
                wrk(url, WARMUP_SECONDS)
            kubectl = controlplane.build_binaries() / "kubectl"
            before = apiserver_requests(kubectl, plane.kubeconfig)
            rounds: dict[str, list[dict[str, float]]] = {"public_api": [], "bare": []}
            for _ in range(ROUNDS):
                rounds["public_api"].append(measured(ours_url, servers[0]))
                rounds["bare"].append(measured(bare_url, servers[1]))
            after = apiserver_requests(kubectl, plane.kubeconfig)
        finally:
            for server in servers:
                controlplane.stop_process(server, grace=30)

    print("# rounds, requests/s: " + "; ".join(
        f"{name} " + ", ".join(f"{r['rps']:.0f}" for r in runs) for name, runs in rounds.items()),
        flush=True)
    for name, runs in rounds.items():
        for figure in ("rps", "p50_ms", "p99_ms"):
            value = median([r[figure] for r in runs])
            print(f"{name}_{figure}={value:.0f}" if figure == "rps" else
                  f"{name}_{figure}={value:.2f}", flush=True)
        print(f"{name}_server_cpu_us_per_request={median([r['cpu_us'] for r in runs]):.0f}",
              flush=True)
        if any(r["non_2xx"] for r in runs):
            print(f"{name}_non_2xx={sum(r['non_2xx'] for r in runs):.0f}", flush=True)
    # Each round of ours is paired with the bare round right after it: a slow spell on the
    # machine hits both, and the median pair ratio shrugs off the odd spell.
    ratio = median([ours["rps"] / bare["rps"]
                    for ours, bare in zip(rounds["public_api"], rounds["bare"], strict=True)])
    print(f"public_api_ratio={ratio:.2f}", flush=True)
    print(f"public_api_apiserver_requests={made_between(before, after)}", flush=True)


if __name__ == "__main__":
    main()
