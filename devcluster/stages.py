"""KWOK Stages that make a Model's pods fail as a kubelet would report it: an image that
cannot be pulled, a container in a crash loop.

KWOK plays the kubelets of the fleet (devcluster/fleet.py); its default Stages make every
pod Ready. A Model opts in to a failure with an environment variable in its spec, which
KubeAI copies into its server container (the only Model field that reaches the pod as
written: KubeAI copies no labels and only its own annotations):

    spec:
      env:
        KMM_FLEET_FAULT: ImagePullBackOff   # or CrashLoopBackOff

Each Stage outweighs KWOK's pod-ready Stage for the pods it selects, and plays again while
the pod stays selected, as the kubelet retries: the pull backs off, the container restarts.
"""

from __future__ import annotations

from typing import Any

import yaml

FAULT_ENV = "KMM_FLEET_FAULT"
IMAGE_PULL = "ImagePullBackOff"
CRASH_LOOP = "CrashLoopBackOff"
RETRY = "10s"  # the kubelet's first back-off period

# KWOK's status templates are Go templates over the pod (sprig's functions included).
_NOT_READY = """\
{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: ContainersNotReady
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: ContainersNotReady
  type: ContainersReady
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
startTime: {{ or .status.startTime $now | Quote }}
"""


def _failing_containers(phase: str, restart_count: str, state: str) -> str:
    """A status template: every container of the pod not ready, in `state`."""
    return _NOT_READY + f"""\
phase: {phase}
containerStatuses:
{{{{ range .spec.containers }}}}
- image: {{{{ .image | Quote }}}}
  imageID: ""
  name: {{{{ .name | Quote }}}}
  ready: false
  restartCount: {restart_count}
  started: false
{state}
{{{{ end }}}}
"""


_PULL_STATUS = _failing_containers("Pending", "0", """\
  state:
    waiting:
      reason: ImagePullBackOff
      message: {{ printf "Back-off pulling image %q" .image | Quote }}""")

_CRASH_STATUS = "{{ $restarts := 0 }}{{ range .status.containerStatuses }}" \
    "{{ $restarts = .restartCount }}{{ end }}\n" + _failing_containers(
        "Running", "{{ add1 $restarts }}", """\
  lastState:
    terminated:
      exitCode: 1
      reason: Error
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
  state:
    waiting:
      reason: CrashLoopBackOff
      message: {{ printf "back-off %s restarting failed container=%s" "RETRY" .name | Quote }}\
""".replace("RETRY", RETRY))


def _stage(name: str, fault: str, phases: list[str], event: dict[str, str],
           status: str) -> dict[str, Any]:
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage", "metadata": {"name": name},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
            "selector": {"matchExpressions": [
                {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
                {"key": f'.spec.containers.[] | (.env // []) | .[] | select(.name == "{FAULT_ENV}")'
                        " | .value", "operator": "In", "values": [fault]},
                {"key": ".status.phase", "operator": "In", "values": phases},
            ]},
            # KWOK's pod-ready Stage has weight 0: for these pods this one is chosen.
            "weight": 10000,
            # At once, then once per back-off period while the pod stays selected.
            "delay": {"durationMilliseconds": 500, "durationFrom": {"expressionFrom": (
                f'if ((.status.containerStatuses // []) | length) > 0 then "{RETRY}" '
                'else "500ms" end')}},
            "next": {"event": {"type": "Warning", **event}, "statusTemplate": status},
        },
    }


def fault_stages() -> str:
    """The Stages as a YAML stream, to follow KWOK's own in its configuration file."""
    return yaml.safe_dump_all([
        _stage("kmm-pod-image-pull-back-off", IMAGE_PULL, ["Pending"],
               {"reason": "Failed", "message": "Error: ImagePullBackOff"}, _PULL_STATUS),
        _stage("kmm-pod-crash-loop-back-off", CRASH_LOOP, ["Pending", "Running"],
               {"reason": "BackOff", "message": "Back-off restarting failed container server"},
               _CRASH_STATUS),
    ], sort_keys=False)
