"""Why a Model is (not) ready: its pods, their reasons, the fit of its profile, one verdict.

Read from the watch caches (kube.watches, kmm's identity) so polling pages cost the API
server nothing; what each *user* may see is decided by access reviews of the user
(remembered briefly): a user who may not list pods, events or nodes gets a note instead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import kube
from kube.cacheload import cache_load_job_name, get_job, get_pvc
from kube.fleetinfo import Fit, SystemConfig, fit_check, parse_system_config, split_profile
from kube.podreason import pod_ready, pod_reason, pod_restarts, warnings_of
from kube.watches import Fleet, fleet
from kube.workloads import cache_pvc_name
from models_ui.data import may_list as may
from models_ui.presenters import NOT_READY, READY, SCALED_TO_ZERO, ModelRow

Obj = dict[str, Any]
CACHE_WAIT_SECONDS = 5.0  # only a process's first pages wait: the watches are starting


@dataclass(frozen=True)
class PodRow:
    name: str
    phase: str
    ready: bool
    node: str
    restarts: int
    reason: str
    problem: str = ""  # "pull", "crash", "unschedulable", "start" or ""


@dataclass
class Diagnosis:
    level: str  # "ok", "info", "warning"
    verdict: str
    pods: list[PodRow] | None  # None: the caller may not list pods
    pods_note: str = ""
    contradictions: list[str] = field(default_factory=list)
    fit: Fit | None = None
    workloads: list[tuple[str, str, str]] = field(default_factory=list)  # kind, name, state
    workloads_note: str = ""


# --- reading the caches, as the caller ---------------------------------------------------

_config_memo: tuple[str, SystemConfig | None, str] = ("", None, "")
_config_lock = threading.Lock()


def system_config(source: Fleet | None = None,
                  wait: float = CACHE_WAIT_SECONDS) -> tuple[SystemConfig | None, str]:
    """KubeAI's system config from its ConfigMap, and why not when it cannot be had."""
    global _config_memo
    source = source or fleet()
    if source.config is None:
        return None, "KMM_KUBEAI_CONFIG is empty"
    if not source.config.wait_synced(wait):
        return None, f"cannot read {'/'.join(source.config_ref or ())}: {source.config.problem}"
    text = source.config_text()
    if text is None:
        return None, (f"ConfigMap {'/'.join(source.config_ref or ())} with key system.yaml "
                      "is not there")
    with _config_lock:
        if _config_memo[0] == text:
            return _config_memo[1], _config_memo[2]
        try:
            parsed, problem = parse_system_config(text), ""
        except ValueError as exc:
            parsed, problem = None, str(exc)
        _config_memo = (text, parsed, problem)
    return parsed, problem


def profile_names() -> list[str] | None:
    """The resource profiles the cluster defines, None when unknown (no config)."""
    config, _ = system_config()
    return sorted(config.profiles) if config is not None else None


def visible_nodes(caller: kube.Caller, source: Fleet) -> tuple[list[Obj] | None, str]:
    if not may(caller, "nodes"):
        return None, "you may not list nodes"
    if not source.nodes.wait_synced(CACHE_WAIT_SECONDS):
        return None, f"kmm cannot read the nodes ({source.nodes.problem})"
    return list(source.nodes.items()), ""


def caller_fit(caller: kube.Caller, profile: str, source: Fleet | None = None) -> Fit:
    source = source or fleet()
    config, problem = system_config(source)
    if config is None and profile:
        return Fit(False, f"unknown: {problem}")
    nodes, nodes_problem = visible_nodes(caller, source)
    pods = list(source.pods.items()) if nodes is not None else None
    return fit_check(profile, config, nodes, pods, nodes_problem)


# --- pods ---------------------------------------------------------------------------------

def pod_row(pod: Obj, warnings: tuple[Obj, ...]) -> PodRow:
    metadata, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    reason, problem = pod_reason(pod, warnings)
    return PodRow(str(metadata.get("name", "")), str(status.get("phase") or "Unknown"),
                  pod_ready(pod), str(spec.get("nodeName") or ""), pod_restarts(pod), reason,
                  problem)


# --- the verdict --------------------------------------------------------------------------

def diagnose(caller: kube.Caller, model: Obj, source: Fleet | None = None,
             read_workloads: bool = True) -> Diagnosis:
    """The panel for one model. `read_workloads` False skips the on-demand reads of the
    cache loader Job and PVC (the change list's badge)."""
    source = source or fleet()
    row = ModelRow(model)
    namespace, name = row.namespace, row.name
    pods: list[PodRow] | None = None
    pods_note = ""
    if not may(caller, "pods", namespace):
        pods_note = f"You are not allowed to list pods in {namespace}: the pods are not shown."
    elif not source.pods.wait_synced(CACHE_WAIT_SECONDS):
        pods_note = f"kmm cannot watch pods ({source.pods.problem}): the pods are not shown."
    else:
        show_events = may(caller, "events", namespace)
        pods = [pod_row(p, warnings_of(source.events_of(namespace, "Pod", p["metadata"]["name"]))
                        if show_events else ())
                for p in sorted(source.pods.lookup(namespace, name),
                                key=lambda p: p["metadata"]["name"])]
        if not show_events:
            pods_note = f"You are not allowed to list events in {namespace}: reasons from " \
                        "events are not shown."
    fit = caller_fit(caller, row.resource_profile, source) if row.resource_profile else None
    contradictions = _contradictions(row, fit)
    level, verdict = _verdict(row, pods, fit)
    diagnosis = Diagnosis(level, verdict, pods, pods_note, contradictions, fit)
    cache_profile = str(row.spec.get("cacheProfile") or "")
    if cache_profile and read_workloads:
        _add_cache_workloads(caller, diagnosis, namespace, name, cache_profile,
                             loaded=row.cache_loaded is True)
    return diagnosis


def _contradictions(row: ModelRow, fit: Fit | None) -> list[str]:
    found = []
    if fit is not None and fit.text.startswith("unknown profile"):
        found.append(f"Resource profile {row.profile_name!r} is not defined in KubeAI's config: "
                     + fit.text.split(": ", 1)[1] + ".")
    if fit is not None and fit.known and row.min_replicas and row.min_replicas > fit.replicas_possible:
        found.append(f"minReplicas is {row.min_replicas}, but the nodes can hold only "
                     f"{fit.replicas_possible} replica{'s' if fit.replicas_possible != 1 else ''}"
                     f" of {row.resource_profile} ({fit.requirement} each).")
    if row.min_replicas is not None and row.max_replicas is not None \
            and row.min_replicas > row.max_replicas:
        found.append(f"minReplicas ({row.min_replicas}) is more than maxReplicas "
                     f"({row.max_replicas}).")
    return found


def _verdict(row: ModelRow, pods: list[PodRow] | None, fit: Fit | None) -> tuple[str, str]:
    state = row.state
    if state == READY:
        return "ok", f"Ready: {row.ready_replicas} of {row.all_replicas} " \
                     f"replica{'s' if row.all_replicas != 1 else ''} ready."
    if state == SCALED_TO_ZERO:
        if not row.spec.get("autoscalingDisabled"):
            return "info", "Scaled to zero: KubeAI starts it on the first request."
        return "info", "Scaled to zero (autoscaling is disabled: scale it up to serve)."
    if fit is not None and fit.text.startswith("unknown profile"):
        return "warning", f"Cannot run: resource profile {row.profile_name!r} is not defined " \
                          "in KubeAI's config."
    waiting = [p for p in pods or [] if not p.ready]
    for problem, sentence in (("pull", "Cannot pull the image"), ("crash", "Crash loop"),
                              ("start", "Cannot start the container")):
        hit = next((p for p in waiting if p.problem == problem), None)
        if hit is not None:
            return "warning", f"{sentence} (pod {hit.name}): {hit.reason}"
    unscheduled = [p for p in waiting if p.problem == "unschedulable" or
                   (p.phase == "Pending" and not p.node)]
    prefix = ""
    if state != NOT_READY:
        prefix = f"{row.ready_replicas} of {row.desired_replicas or row.all_replicas} ready; "
    if unscheduled or (pods is None and state == NOT_READY):
        if fit is not None and fit.known and fit.fitting == 0:
            return "warning", f"{prefix}Waiting for a node with {fit.requirement}: 0 of " \
                              f"{fit.nodes} node{'s' if fit.nodes != 1 else ''} fit"
        if fit is not None and fit.known and fit.with_room == 0:
            return "warning", f"{prefix}Waiting for room: the {fit.fitting} node" \
                              f"{'s' if fit.fitting != 1 else ''} that fit {fit.requirement} " \
                              "are full"
        if unscheduled:
            return "warning", f"{prefix}Waiting to be scheduled: {unscheduled[0].reason}"
    if pods is not None and not pods:
        if fit is not None and fit.known and fit.fitting == 0:
            return "warning", f"Waiting for a node with {fit.requirement}: 0 of {fit.nodes} " \
                              f"node{'s' if fit.nodes != 1 else ''} fit"
        return "info", f"{prefix}Waiting for KubeAI to create the pods."
    if waiting:
        running = sum(p.phase == "Running" for p in waiting)
        return "info", f"{prefix}Starting: {running} of {len(waiting)} pod" \
                       f"{'s' if len(waiting) != 1 else ''} running, not ready yet."
    if pods is None:
        return "info", f"{prefix}Not ready; the pods are not visible to you."
    return "info", f"{prefix}{row.state_label}."


def _add_cache_workloads(caller: kube.Caller, diagnosis: Diagnosis, namespace: str, name: str,
                         cache_profile: str, loaded: bool = False) -> None:
    job_name = cache_load_job_name(name)
    pvc_name = cache_pvc_name({"spec": {"cacheProfile": cache_profile}}) or ""
    try:
        job = get_job(caller, namespace, job_name)
        diagnosis.workloads.append(("Job", job_name, _job_state(job, loaded)))
    except kube.Forbidden:
        diagnosis.workloads_note = f"You are not allowed to read jobs in {namespace}."
    try:
        pvc = get_pvc(caller, namespace, pvc_name)
        phase = "not created" if pvc is None else str((pvc.get("status") or {}).get("phase"))
        diagnosis.workloads.append(("PersistentVolumeClaim", pvc_name, phase))
    except kube.Forbidden:
        diagnosis.workloads_note = (diagnosis.workloads_note + " " if diagnosis.workloads_note
                                    else "") + f"You are not allowed to read PVCs in {namespace}."


def _job_state(job: Obj | None, loaded: bool = False) -> str:
    if job is None and loaded:
        return "done: the cache is loaded (KubeAI removed the finished Job)"
    if job is None:
        return "not running (done and removed, or not started)"
    status = job.get("status") or {}
    if status.get("succeeded"):
        return "succeeded"
    if status.get("failed"):
        return f"failed {status['failed']} time(s)"
    return "running" if status.get("active") else "pending"


def profile_of(model: Obj) -> tuple[str, int]:
    return split_profile(str((model.get("spec") or {}).get("resourceProfile") or ""))
