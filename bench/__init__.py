"""Benchmarks: each bench/bench_*.py has a main() that prints `name=value` figures."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def in_process_settings() -> None:
    """Run kmm inside the benchmark as the test suite does: the repository importable,
    tests.settings (unless set), quiet logs."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ["KMM_LOG_LEVEL"] = "WARNING"


def serve_from(plane: Any) -> None:
    """Set Django up with kmm pointed at a started local control plane."""
    os.environ["KUBECONFIG"] = str(plane.kubeconfig)
    import django

    django.setup()
    import kube

    kube.set_default_cluster(kube.Cluster.from_kubeconfig(plane.kubeconfig))
