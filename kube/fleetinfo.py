"""What KubeAI's config and the nodes say about where a Model can run. Pure functions.

KubeAI turns `resourceProfile: <name>:<count>` into the pod's requests and limits
(the profile's, multiplied by the count), node selector, affinity and tolerations
(internal/modelcontroller/model_controller.go). A node can host one replica when its
labels match the selector, the pod tolerates its NoSchedule/NoExecute taints, it is
schedulable and Ready, and its allocatable resources cover the requests.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

Obj = dict[str, Any]

_SUFFIXES = {
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
    "P": Decimal("1e15"), "E": Decimal("1e18"),
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


def parse_quantity(value: Any) -> Decimal:
    """A Kubernetes quantity ("500m", "24Gi", 2) as a number; ValueError when malformed."""
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"not a quantity: {text!r}")
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2) or ""]
    except InvalidOperation:
        raise ValueError(f"not a quantity: {text!r}") from None


def format_quantity(resource: str, amount: Decimal) -> str:
    """How an operator reads an amount: "2 nvidia.com/gpu", "24Gi memory", "1.5 cpu"."""
    if resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-"):
        for suffix in ("Ti", "Gi", "Mi", "Ki"):
            unit = _SUFFIXES[suffix]
            if amount >= unit and amount % unit == 0:
                return f"{amount / unit:f}".rstrip("0").rstrip(".") + f"{suffix} {resource}"
        return f"{amount:f} bytes of {resource}"
    text = f"{amount.normalize():f}"
    return f"{text} {resource}"


@dataclass(frozen=True)
class Profile:
    name: str
    requests: dict[str, Decimal] = field(default_factory=dict)
    limits: dict[str, Decimal] = field(default_factory=dict)
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[Obj, ...] = ()
    has_affinity: bool = False

    def needs(self, count: int) -> dict[str, Decimal]:
        """What one replica requests: the requests (a limit alone is also the request, as
        Kubernetes defaults it), multiplied by the count."""
        merged = dict(self.limits)
        merged.update(self.requests)
        return {name: amount * count for name, amount in merged.items()}


@dataclass(frozen=True)
class SystemConfig:
    profiles: dict[str, Profile]
    cache_profiles: tuple[str, ...] = ()


def parse_system_config(text: str) -> SystemConfig:
    """KubeAI's system.yaml (internal/config/system.go); ValueError when it cannot be read."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"system.yaml is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("system.yaml is not a mapping")
    profiles = {}
    for name, raw in (data.get("resourceProfiles") or {}).items():
        raw = raw if isinstance(raw, dict) else {}
        profiles[str(name)] = Profile(
            name=str(name),
            requests=_quantities(raw.get("requests")),
            limits=_quantities(raw.get("limits")),
            node_selector={str(k): str(v) for k, v in (raw.get("nodeSelector") or {}).items()},
            tolerations=tuple(t for t in raw.get("tolerations") or [] if isinstance(t, dict)),
            has_affinity=bool(raw.get("affinity")),
        )
    return SystemConfig(profiles, tuple(sorted(str(k) for k in data.get("cacheProfiles") or {})))


def _quantities(raw: Any) -> dict[str, Decimal]:
    out = {}
    for name, value in (raw or {}).items():
        try:
            out[str(name)] = parse_quantity(value)
        except ValueError:
            continue
    return out


def split_profile(value: str) -> tuple[str, int]:
    """"nvidia-gpu-l4:2" → ("nvidia-gpu-l4", 2); a missing or bad count is 1."""
    name, _, count = value.partition(":")
    return name, int(count) if count.isdigit() and int(count) > 0 else 1


# --- nodes ----------------------------------------------------------------------------------

def tolerates(tolerations: tuple[Obj, ...], taint: Obj) -> bool:
    for toleration in tolerations:
        effect = toleration.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        key = toleration.get("key") or ""
        if toleration.get("operator") == "Exists":
            if not key or key == taint.get("key"):
                return True
        elif key == taint.get("key") and (toleration.get("value") or "") == (
                taint.get("value") or ""):
            return True
    return False


def _node_ready(node: Obj) -> bool:
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def pod_requests(pod: Obj) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        merged = dict(resources.get("limits") or {})
        merged.update(resources.get("requests") or {})
        for name, value in merged.items():
            try:
                total[name] = total.get(name, Decimal(0)) + parse_quantity(value)
            except ValueError:
                continue
    return total


@dataclass(frozen=True)
class NodeVerdict:
    node: str
    fits: bool  # by allocatable (an empty node of this shape could host one replica)
    has_room: bool  # and the model pods already placed there leave room now
    reason: str  # why not, in a few words ("" when it fits)
    missing: str = ""  # the resource amount that is missing, as "2 nvidia.com/gpu"


def judge_node(node: Obj, profile: Profile, count: int,
               placed: list[dict[str, Decimal]] | None = None) -> NodeVerdict:
    """Could this node host one replica of `profile:count`?"""
    name = str((node.get("metadata") or {}).get("name") or "")
    labels = (node.get("metadata") or {}).get("labels") or {}
    needs = profile.needs(count)
    for key, value in profile.node_selector.items():
        if labels.get(key) != value:
            return NodeVerdict(name, False, False, f"no label {key}={value}")
    if (node.get("spec") or {}).get("unschedulable"):
        return NodeVerdict(name, False, False, "cordoned")
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(
                profile.tolerations, taint):
            shown = taint.get("key", "") + (f"={taint['value']}" if taint.get("value") else "")
            return NodeVerdict(name, False, False, f"taint {shown}:{taint.get('effect')}")
    if not _node_ready(node):
        return NodeVerdict(name, False, False, "not Ready")
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    for resource, amount in sorted(needs.items(), key=lambda item: _rank(item[0])):
        try:
            available = parse_quantity(allocatable.get(resource, 0))
        except ValueError:
            available = Decimal(0)
        if available < amount:
            what = format_quantity(resource, amount)
            return NodeVerdict(name, False, False, f"has {format_quantity(resource, available)}"
                                                   f", needs {what}", missing=what)
    used: dict[str, Decimal] = {}
    for requests in placed or []:
        for resource, amount in requests.items():
            used[resource] = used.get(resource, Decimal(0)) + amount
    room = all(parse_quantity(allocatable.get(r, 0)) - used.get(r, Decimal(0)) >= amount
               for r, amount in needs.items())
    return NodeVerdict(name, True, room, "" if room else "full: model pods use its room")


def _rank(resource: str) -> tuple[int, str]:
    # Accelerators first: they are what an operator means by "a node with 2 GPUs".
    return (0 if "/" in resource else 1 if resource == "cpu" else 2, resource)


@dataclass(frozen=True)
class Fit:
    """How many nodes could host one replica of a profile."""

    known: bool
    text: str
    nodes: int = 0
    fitting: int = 0
    with_room: int = 0
    replicas_possible: int = 0  # across all fitting nodes, by allocatable
    requirement: str = ""
    verdicts: tuple[NodeVerdict, ...] = ()

    @property
    def ok(self) -> bool:
        return self.known and self.fitting > 0


def fit_check(profile_value: str, config: SystemConfig | None, nodes: list[Obj] | None,
              pods: list[Obj] | None = None, nodes_problem: str = "") -> Fit:
    """The fit of `<profile>:<count>` on these nodes, in one sentence.

    `nodes` None means they could not be read (`nodes_problem` says why, e.g. RBAC).
    """
    if not profile_value:
        return Fit(False, "no resource profile: KubeAI schedules it without requests")
    name, count = split_profile(profile_value)
    if config is None:
        return Fit(False, "unknown: KubeAI's system config cannot be read")
    profile = config.profiles.get(name)
    if profile is None:
        return Fit(False, f"unknown profile {name!r}: KubeAI's config defines "
                          f"{', '.join(sorted(config.profiles)) or 'none'}")
    if nodes is None:
        return Fit(False, f"unknown: {nodes_problem or 'the nodes cannot be read'}")
    placed: dict[str, list[dict[str, Decimal]]] = {}
    for pod in pods or []:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            placed.setdefault(node_name, []).append(pod_requests(pod))
    verdicts = tuple(judge_node(n, profile, count,
                                placed.get(str((n.get("metadata") or {}).get("name")), []))
                     for n in nodes)
    needs = profile.needs(count)
    requirement = _requirement(needs)
    fitting = [v for v in verdicts if v.fits]
    possible = sum(_replicas_on(n, needs) for n, v in zip(nodes, verdicts, strict=True) if v.fits)
    if fitting:
        text = f"fits on {len(fitting)} node{'s' if len(fitting) != 1 else ''}"
        room = sum(v.has_room for v in fitting)
        if room != len(fitting):
            text += f" ({room} with room now)"
    elif not nodes:
        text = "no nodes in the cluster"
    else:
        text = _no_node_sentence(nodes, verdicts, needs, requirement)
    return Fit(True, text, len(nodes), len(fitting), sum(v.has_room for v in fitting), possible,
               requirement, verdicts)


def _allocatable(node: Obj, resource: str) -> Decimal:
    try:
        return parse_quantity(((node.get("status") or {}).get("allocatable") or {})
                              .get(resource, 0))
    except ValueError:
        return Decimal(0)


def _replicas_on(node: Obj, needs: dict[str, Decimal]) -> int:
    counts = [int(_allocatable(node, resource) // amount)
              for resource, amount in needs.items() if amount > 0]
    return min(counts) if counts else 1


def _requirement(needs: dict[str, Decimal]) -> str:
    """The headline need: accelerators if any, else cpu and memory."""
    ordered = sorted(needs.items(), key=lambda item: _rank(item[0]))
    accelerators = [format_quantity(r, a) for r, a in ordered if "/" in r]
    if accelerators:
        return " and ".join(accelerators)
    return " and ".join(format_quantity(r, a) for r, a in ordered) or "no requests"


def _no_node_sentence(nodes: list[Obj], verdicts: tuple[NodeVerdict, ...],
                      needs: dict[str, Decimal], requirement: str) -> str:
    # An amount no node has at all says it best, even when some nodes are ruled out
    # sooner (by the profile's node selector or a taint): "no node has 2 nvidia.com/gpu".
    for resource, amount in sorted(needs.items(), key=lambda item: _rank(item[0])):
        if amount > 0 and all(_allocatable(n, resource) < amount for n in nodes):
            return f"no node has {format_quantity(resource, amount)}"
    missing = Counter(v.missing for v in verdicts if v.missing)
    if missing and sum(missing.values()) == len(verdicts):
        return f"no node has {missing.most_common(1)[0][0]}"
    reasons = Counter(v.reason.split(",")[0] for v in verdicts)
    top = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common(3))
    return f"no node fits {requirement} ({top})"
