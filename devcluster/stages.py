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

FAULT_ENV = "KMM_FLEET_FAULT"
IMAGE_PULL = "ImagePullBackOff"
CRASH_LOOP = "CrashLoopBackOff"
RETRY = "10s"  # the kubelet's first back-off period

_SELECTED = f"""\
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.spec.containers.[] | (.env // []) | .[] | select(.name == "{FAULT_ENV}") | .value'
      operator: 'In'
      values: ['{{fault}}']"""

# First play at once, then once per back-off period.
_DELAY = f"""\
  delay:
    durationMilliseconds: 500
    durationFrom:
      expressionFrom: 'if ((.status.containerStatuses // []) | length) > 0 then "{RETRY}" else "500ms" end'"""

_IMAGE_PULL = f"""\
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: kmm-pod-image-pull-back-off
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
{_SELECTED.format(fault=IMAGE_PULL)}
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
  weight: 10000
{_DELAY}
  next:
    event:
      type: Warning
      reason: Failed
      message: 'Error: ImagePullBackOff'
    statusTemplate: |
      {{{{ $now := Now }}}}
      conditions:
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "False"
        reason: ContainersNotReady
        type: Ready
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "False"
        reason: ContainersNotReady
        type: ContainersReady
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        imageID: ""
        name: {{{{ .name | Quote }}}}
        ready: false
        restartCount: 0
        started: false
        state:
          waiting:
            reason: {IMAGE_PULL}
            message: {{{{ printf "Back-off pulling image %q" .image | Quote }}}}
      {{{{ end }}}}
      hostIP: {{{{ NodeIPWith .spec.nodeName | Quote }}}}
      phase: Pending
      startTime: {{{{ or .status.startTime $now | Quote }}}}
"""

_CRASH_LOOP = f"""\
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: kmm-pod-crash-loop-back-off
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
{_SELECTED.format(fault=CRASH_LOOP)}
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending', 'Running']
  weight: 10000
{_DELAY}
  next:
    event:
      type: Warning
      reason: BackOff
      message: 'Back-off restarting failed container server'
    statusTemplate: |
      {{{{ $now := Now }}}}
      {{{{ $restarts := 0 }}}}
      {{{{ range .status.containerStatuses }}}}{{{{ $restarts = .restartCount }}}}{{{{ end }}}}
      conditions:
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "False"
        reason: ContainersNotReady
        type: Ready
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "False"
        reason: ContainersNotReady
        type: ContainersReady
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        imageID: ""
        name: {{{{ .name | Quote }}}}
        ready: false
        restartCount: {{{{ add1 $restarts }}}}
        started: false
        lastState:
          terminated:
            exitCode: 1
            reason: Error
            startedAt: {{{{ $now | Quote }}}}
            finishedAt: {{{{ $now | Quote }}}}
        state:
          waiting:
            reason: {CRASH_LOOP}
            message: {{{{ printf "back-off %s restarting failed container=%s" "{RETRY}" .name | Quote }}}}
      {{{{ end }}}}
      hostIP: {{{{ NodeIPWith .spec.nodeName | Quote }}}}
      phase: Running
      startTime: {{{{ or .status.startTime $now | Quote }}}}
"""


def fault_stages() -> str:
    """The Stages as a YAML stream, to follow KWOK's own in its configuration file."""
    return "---\n".join((_IMAGE_PULL, _CRASH_LOOP))
