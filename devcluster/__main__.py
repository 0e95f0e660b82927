"""Command line of the local control plane.

    python -m devcluster build                  build (or find) the cached binaries (the fleet's
                                                too, unless KMM_FLEET=off)
    python -m devcluster build-helm             build (or find) helm for the chart tests
    python -m devcluster cluster [--seed]       run it in the foreground (make cluster)
    python -m devcluster serve [--port 8000]    run kmm against the configured cluster, or
                                                against a fresh local one (make run)
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from devcluster import controlplane, fleet

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KUBECONFIG = ROOT / ".kmm" / "kubeconfig"


def cluster_configured() -> bool:
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    if os.environ.get("KUBECONFIG"):
        return True
    return (Path.home() / ".kube" / "config").exists()


def wait_for_signal() -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()


def run_cluster(args: argparse.Namespace) -> int:
    with controlplane.start(Path(args.kubeconfig), seed=args.seed, fleet=fleet.enabled()) as plane:
        print(f"kubeconfig: {plane.kubeconfig}  (contexts kmm-admin, kmm-alice, kmm-bob, "
              "kmm-eve)", flush=True)
        print(f"kubectl: {controlplane.build_binaries() / 'kubectl'}", flush=True)
        if plane.fleet is not None:
            print(f"KubeAI OpenAI API: {plane.fleet.openai_url}", flush=True)
        print(f"kmm devcluster ready: {plane.server} ({plane.version}){_fleet_note(plane)} "
              f"in {plane.started_in:.1f}s", flush=True)
        wait_for_signal()
        print("devcluster: stopping", file=sys.stderr, flush=True)
    return 0


def _fleet_note(plane: controlplane.ControlPlane) -> str:
    if plane.fleet is None:
        return ""
    return f" with {len(fleet.NODES)} KWOK nodes and KubeAI"


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def serve(args: argparse.Namespace) -> int:
    manage = [sys.executable, str(ROOT / "manage.py")]
    address = f"127.0.0.1:{args.port}"
    env = dict(os.environ)
    if cluster_configured():
        # Serve what the image serves: collected, hashed static files (the manifest storage
        # of a non-debug kmm answers 500 without them). CSS edits need a restart here.
        collected = subprocess.call([*manage, "collectstatic", "--noinput", "-v0"], env=env)
        if collected != 0:
            return collected
        return subprocess.call([*manage, "runserver", address], env=env)
    controlplane.log("no cluster configured: starting a local control plane with sample models")
    with controlplane.start(Path(args.kubeconfig), seed=True, fleet=fleet.enabled()) as plane:
        env.update(KUBECONFIG=str(plane.kubeconfig), KMM_AUTH_MODE="none", KMM_DEBUG="true")
        if plane.fleet is not None:
            env.setdefault("KMM_CACHE_PROFILES", fleet.CACHE_PROFILE)
            env.setdefault("KMM_RESOURCE_PROFILES", "cpu,nvidia-gpu-l4")
        print(f"kmm devcluster ready: {plane.server} ({plane.version}){_fleet_note(plane)}; "
              f"serving kmm at http://{address}/", flush=True)
        server = subprocess.Popen([*manage, "runserver", "--noreload", address], env=env)
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            return server.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            controlplane.stop_process(server, grace=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devcluster")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build or locate the cached binaries")
    sub.add_parser("build-helm", help="build or locate helm for the chart tests")
    cluster = sub.add_parser("cluster", help="run the control plane in the foreground")
    cluster.add_argument("--kubeconfig", default=str(DEFAULT_KUBECONFIG))
    cluster.add_argument("--seed", action="store_true", help="create the sample models")
    serve_parser = sub.add_parser("serve", help="run kmm (make run)")
    serve_parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
    serve_parser.add_argument("--kubeconfig", default=str(DEFAULT_KUBECONFIG))
    args = parser.parse_args(argv)
    if args.command == "build":
        if fleet.enabled() and fleet.unavailable_reason() is None:
            for path in fleet.build().values():
                controlplane.log(f"fleet binary: {path}")
        print(controlplane.build_binaries())  # the folder with kubectl, as the README uses it
        return 0
    if args.command == "build-helm":
        from devcluster import helmtool

        print(helmtool.helm_binary())
        return 0
    if args.command == "cluster":
        return run_cluster(args)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
