"""Issue 11's one-request DoS cases, bounded: time and a worker's memory growth per request.

Each case runs in a fresh interpreter (a worker), so its peak RSS growth is its own:
- yaml_bomb: ~600 bytes of nested YAML aliases (10**9 values once expanded) posted to the
  add form's YAML mode; refused at the first anchor.
- yaml_2000_errors: `args:` with 2,000 items of `- 1` (12 kB), every error located.
- json_nesting: `[` x 100,000 sent to the REST API's parser; a 400.
Prints yaml_bomb_ms=, yaml_bomb_rss_growth_kb=, ... (nothing is asserted).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = """
import io, json, resource, sys, time
import django
django.setup()
case, text = sys.argv[1], sys.stdin.read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
if case == "json_nesting":
    from rest_framework.exceptions import ParseError
    from models_api.parsers import BoundedJSONParser
    try:
        BoundedJSONParser().parse(io.BytesIO(text.encode()), "application/json", {})
        outcome = "accepted"
    except ParseError as exc:
        outcome = "400: " + str(exc.detail)
else:
    from models_ui.yaml_form import YamlForm
    form = YamlForm({"text": text})
    outcome = "valid" if form.is_valid() else f"refused, {len(form.problems)} located problems"
print(json.dumps({"ms": (time.perf_counter() - started) * 1000, "outcome": outcome,
                  "rss_growth_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before}))
"""


def yaml_bomb(levels: int = 9) -> str:
    """About 600 bytes that expand to 10**levels values through nested aliases."""
    lines = ["apiVersion: kubeai.org/v1", "kind: Model",
             "metadata: {name: bomb, namespace: default}", "spec:",
             "  url: hf://o/m", "  engine: VLLM", "  features: [TextGeneration]",
             "  env:", "    a0: &a0 x"]
    lines += [f"    a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    lines.append(f"  args: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def many_errors(count: int = 2000) -> str:
    return ("apiVersion: kubeai.org/v1\nkind: Model\nmetadata: {name: m, namespace: default}\n"
            "spec:\n  url: hf://o/m\n  engine: VLLM\n  features: [TextGeneration]\n  args:\n"
            + "  - 1\n" * count)


CASES = {"yaml_bomb": yaml_bomb(), "yaml_2000_errors": many_errors(),
         "json_nesting": "[" * 100_000}


def main() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMM_")}
    env.update(DJANGO_SETTINGS_MODULE="kmm.settings", KMM_DEBUG="true",
               KUBECONFIG="/nonexistent/kubeconfig")
    for case, text in CASES.items():
        result = subprocess.run([sys.executable, "-c", WORKER, case], input=text, cwd=ROOT,
                                env=env, capture_output=True, text=True, timeout=300, check=True)
        figures = json.loads(result.stdout)
        print(f"{case}_bytes={len(text)} {case}_ms={figures['ms']:.1f} "
              f"{case}_rss_growth_kb={figures['rss_growth_kb']} outcome: {figures['outcome']}",
              flush=True)


if __name__ == "__main__":
    main()
