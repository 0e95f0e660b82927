"""Why a pod of a Model is not ready, in the cluster's own words: the one place that reads
it from a pod (the change list's reason line, the detail page and the console's panel).

Pure functions of the pod objects (and their Warning events): no Kubernetes calls.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
PULL_ERRORS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
START_ERRORS = ("CreateContainerConfigError", "CreateContainerError", "RunContainerError")
# The problems a pod can have, worst first: what a Model's reason names when pods differ.
PROBLEMS = ("pull", "crash", "start", "unschedulable")


def pod_ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def pod_restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount") or 0) for s in statuses)


def pod_reason(pod: Obj, warnings: tuple[Obj, ...] = ()) -> tuple[str, str]:
    """(reason, problem) of one pod; problem is "pull", "crash", "start", "unschedulable"
    or "". The reason is "" for a ready pod with nothing to say."""
    status = pod.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    statuses = status.get("containerStatuses") or []
    restarts = pod_restarts(pod)
    reason, problem, waiting_reason = "", "", ""
    for container in statuses:
        waiting = (container.get("state") or {}).get("waiting") or {}
        why = str(waiting.get("reason") or "")
        if why in PULL_ERRORS:
            reason, problem = f"{why}: {waiting.get('message') or container.get('image', '')}", "pull"
        elif why == "CrashLoopBackOff":
            last = ((container.get("lastState") or {}).get("terminated") or {})
            detail = str(last.get("reason") or "exited")
            if last.get("exitCode") is not None:
                detail += f", exit code {last['exitCode']}"
            counted = f"{restarts} restart{'s' if restarts != 1 else ''}"
            reason, problem = f"CrashLoopBackOff ({detail}; {counted})", "crash"
        elif why in START_ERRORS:
            reason, problem = f"{why}: {waiting.get('message', '')}", "start"
        elif why and not waiting_reason:  # e.g. ContainerCreating: said when nothing is worse
            waiting_reason = why + (f": {waiting['message']}" if waiting.get("message") else "")
        if problem:
            break
    scheduled = conditions.get("PodScheduled") or {}
    if not problem and scheduled.get("status") == "False":
        reason = f"{scheduled.get('reason') or 'Unschedulable'}: {scheduled.get('message', '')}"
        problem = "unschedulable"
    latest = latest_event(warnings)
    if not reason and latest is not None:
        reason = f"{latest.get('reason')}: {latest.get('message', '')}"
        if latest.get("reason") == "FailedScheduling":
            problem = "unschedulable"
    ready = (conditions.get("Ready") or {}).get("status") == "True"
    if not reason and not ready:
        reason = waiting_reason or str(status.get("reason") or (
            "Waiting to start" if status.get("phase") == "Pending" else ""))
    return reason.strip().rstrip(":"), problem


def pod_problem(pods: list[Obj] | tuple[Obj, ...],
                warnings: dict[str, tuple[Obj, ...]] | None = None) -> str | None:
    """Why a Model's pods are not ready: the worst problem any of them has (see PROBLEMS),
    else the first not-ready pod's reason; None when the pods say nothing. `warnings` maps
    a pod's name to its Warning events, when the caller may see them."""
    found: list[tuple[int, str]] = []
    for pod in pods:
        name = str((pod.get("metadata") or {}).get("name", ""))
        reason, problem = pod_reason(pod, (warnings or {}).get(name, ()))
        if reason and (problem or not pod_ready(pod)):
            found.append((PROBLEMS.index(problem) if problem else len(PROBLEMS), reason))
    return min(found, key=lambda f: f[0])[1] if found else None


def warnings_of(events: tuple[Obj, ...]) -> tuple[Obj, ...]:
    return tuple(e for e in events if e.get("type") == "Warning")


def latest_event(events: tuple[Obj, ...]) -> Obj | None:
    return max(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or
                                          (e.get("metadata") or {}).get("creationTimestamp")
                                          or ""), default=None)
