"""Watch caches of what KubeAI runs for the Models (pods, nodes, events, KubeAI's config),
and of RBAC (RbacWatch: tells kube.access when remembered access answers may be wrong).

They reuse the Model cache's list+watch machinery (kube.cache.Watcher: list, watch
with bookmarks, relist on 410, reconnect with backoff) and run with kmm's own
identity, so a page that polls costs the API server nothing. Callers decide, with
access reviews of the *user*, what each user may see of them (see console.diagnosis).

The process-wide set starts lazily on first use in each process, like the Model cache.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from kubernetes import client

from kube.cache import Change, Watcher
from kube.cluster import Caller, Cluster, default_cluster
from kube.errors import ConfigurationError

Obj = dict[str, Any]
Key = tuple[str, ...]
Indexer = Callable[[Obj], Key | None]

MODEL_LABEL = "model"  # KubeAI labels every pod it runs for a Model with model=<name>


class ResourceCache:
    """One list+watch of one resource, with an optional index, read as immutable snapshots."""

    def __init__(self, caller: Caller, resource: str, list_fn: Callable[[Caller], Any],
                 args: tuple[Any, ...] = (), index: Indexer | None = None):
        self.caller = caller
        self.resource = resource
        self.stopping = threading.Event()
        self.guard = threading.Condition(threading.RLock())
        self.index_fn = index
        self.version = 0
        self.changed_at = 0.0  # time.monotonic() of the last change after the first list
        self._items: tuple[Obj, ...] = ()
        self._index: Mapping[Key, tuple[Obj, ...]] = MappingProxyType({})
        self.watcher = Watcher(caller, resource, list_fn, args, self._changed, self.stopping)
        self.started = False

    def start(self) -> ResourceCache:
        if not self.started:
            self.started = True
            self.watcher.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.watcher.interrupt()
        if self.watcher.thread.is_alive():
            self.watcher.thread.join(timeout)

    def _changed(self, changes: list[Change]) -> None:
        """From the watch thread: build the new snapshot of items and index."""
        with self.guard:
            items = tuple(self.watcher.items.values())
            index: dict[Key, list[Obj]] = {}
            if self.index_fn is not None:
                for obj in items:
                    key = self.index_fn(obj)
                    if key is not None:
                        index.setdefault(key, []).append(obj)
            self._items = items
            self._index = MappingProxyType({k: tuple(v) for k, v in index.items()})
            self.version += 1
            if changes and self.watcher.synced.is_set():
                self.changed_at = time.monotonic()
            self.guard.notify_all()

    @property
    def synced(self) -> bool:
        return self.watcher.synced.is_set()

    @property
    def problem(self) -> str:
        """Why the cache is not synced (the last error), or ""."""
        return "" if self.synced else (self.watcher.stats.last_error or "not loaded yet")

    def wait_synced(self, timeout: float) -> bool:
        """Wait for the first list, unless it has already failed (say, RBAC forbids it):
        then a page says so at once instead of waiting on every request."""
        if self.watcher.stats.last_error:
            return self.synced
        return self.watcher.synced.wait(timeout)

    def items(self) -> tuple[Obj, ...]:
        return self._items

    def lookup(self, *key: str) -> tuple[Obj, ...]:
        return self._index.get(tuple(key), ())

    def wait_until(self, predicate: Callable[[ResourceCache], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.guard:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stopping.is_set():
                    return False
                self.guard.wait(remaining)
        return True


def _pod_model(pod: Obj) -> Key | None:
    metadata = pod.get("metadata") or {}
    model = (metadata.get("labels") or {}).get(MODEL_LABEL)
    return (str(metadata.get("namespace") or ""), str(model)) if model else None


def _event_target(event: Obj) -> Key | None:
    target = event.get("involvedObject") or {}
    return (str(target.get("namespace") or (event.get("metadata") or {}).get("namespace") or ""),
            str(target.get("kind") or ""), str(target.get("name") or ""))


def _list_fn(method: str, api: Callable[[Any], Any] = client.CoreV1Api,
             **selectors: str) -> Callable[[Caller], Any]:
    def bind(caller: Caller) -> Any:
        return functools.partial(getattr(api(caller.api), method), **selectors)
    return bind


def kubeai_config_ref(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """KMM_KUBEAI_CONFIG=namespace/name of KubeAI's system ConfigMap (default
    kubeai/kubeai-config, what KubeAI's chart makes for a release named kubeai); "" turns
    the fit checks off."""
    env = os.environ if environ is None else environ
    raw = env.get("KMM_KUBEAI_CONFIG", "kubeai/kubeai-config").strip()
    namespace, _, name = raw.partition("/")
    return (namespace, name) if namespace and name else None


# The kinds whose events the console shows: the Model's own, and those of what KubeAI runs
# for it (pods, the cache loader and evictor Jobs, the cache PVC). One watch per kind, as a
# field selector cannot say "one of".
EVENT_KINDS = ("Model", "Pod", "Job", "PersistentVolumeClaim")


@dataclass
class Fleet:
    """The watch caches the operator console reads."""

    pods: ResourceCache
    nodes: ResourceCache
    events: dict[str, ResourceCache]  # by involvedObject.kind
    config: ResourceCache | None
    config_ref: tuple[str, str] | None

    @property
    def caches(self) -> list[ResourceCache]:
        return [self.pods, self.nodes, *self.events.values(),
                *([self.config] if self.config is not None else [])]

    def events_of(self, namespace: str, kind: str, name: str) -> tuple[Obj, ...]:
        return self.events[kind].lookup(namespace, kind, name)

    def start(self) -> Fleet:
        for cache in self.caches:
            cache.start()
        return self

    def stop(self) -> None:
        for cache in self.caches:
            cache.stopping.set()
            cache.watcher.interrupt()
        for cache in self.caches:
            cache.stop()

    def wait_synced(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(c.wait_synced(max(0.0, deadline - time.monotonic())) for c in self.caches)

    def config_text(self) -> str | None:
        """system.yaml of KubeAI's ConfigMap, None when it is not there (or not loaded)."""
        if self.config is None or not self.config.synced:
            return None
        for item in self.config.items():
            text = (item.get("data") or {}).get("system.yaml")
            if text is not None:
                return str(text)
        return None


def new_fleet(caller: Caller, config_ref: tuple[str, str] | None) -> Fleet:
    config = None
    if config_ref is not None:
        namespace, name = config_ref
        # A list+watch narrowed to one name, so RBAC can grant this one ConfigMap
        # (resourceNames) and nothing else.
        config = ResourceCache(caller, f"configmap {namespace}/{name}",
                               _list_fn("list_namespaced_config_map",
                                        field_selector=f"metadata.name={name}"), (namespace,))
    events = {kind: ResourceCache(caller, f"{kind} events",
                                  _list_fn("list_event_for_all_namespaces",
                                           field_selector=f"involvedObject.kind={kind}"),
                                  index=_event_target)
              for kind in EVENT_KINDS}
    return Fleet(
        pods=ResourceCache(caller, "pods", _list_fn("list_pod_for_all_namespaces",
                                                     label_selector=MODEL_LABEL),
                           index=_pod_model),
        nodes=ResourceCache(caller, "nodes", _list_fn("list_node")),
        events=events, config=config, config_ref=config_ref,
    )


_process_fleet: Fleet | None = None
_process_pid = 0
_process_lock = threading.Lock()


def fleet() -> Fleet:
    """The process-wide watch caches, started on first use in this process (after any fork)."""
    global _process_fleet, _process_pid
    current = _process_fleet
    if current is not None and _process_pid == os.getpid():
        return current
    with _process_lock:
        if _process_fleet is None or _process_pid != os.getpid():
            _process_fleet = new_fleet(default_cluster().as_app(), kubeai_config_ref()).start()
            _process_pid = os.getpid()
        return _process_fleet


def reset_fleet() -> None:
    """Stop the process-wide caches, the RBAC watch too; the next fleet() or rbac_watch()
    starts fresh ones (tests, reconfiguring)."""
    global _process_fleet, _process_rbac
    with _process_lock:
        current, _process_fleet = _process_fleet, None
        rbac, _process_rbac = _process_rbac, None
    if current is not None and _process_pid == os.getpid():
        current.stop()
    if rbac is not None and _rbac_pid == os.getpid():
        rbac.stop()


# --- RBAC -------------------------------------------------------------------------------

# The kinds the RBAC authorizer decides from, and the client's list function of each.
RBAC_KINDS = (("roles", "list_role_for_all_namespaces"),
              ("rolebindings", "list_role_binding_for_all_namespaces"),
              ("clusterroles", "list_cluster_role"),
              ("clusterrolebindings", "list_cluster_role_binding"))
# kmm's identity may lack the right to watch RBAC (a hand-made kubeconfig): then kube.access
# falls back to its short memo, and the watch asks again only this often.
RBAC_FORBIDDEN_PAUSE_SECONDS = 60.0
RBAC_FIRST_SYNC_SECONDS = 2.0


# Metadata only (PartialObjectMetadata): whether an RBAC object changed is all kmm needs;
# its rules stay the API server's business and out of each worker's memory.
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
METADATA_WATCH = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"


def _metadata_list_fn(method: str, api: Callable[[Any], Any]) -> Callable[[Caller], Any]:
    def bind(caller: Caller) -> Any:
        fn = getattr(api(caller.api), method)

        def list_or_watch(*args: Any, **kwargs: Any) -> Any:
            accept = METADATA_WATCH if kwargs.get("watch") else METADATA_LIST
            return fn(*args, _headers={"Accept": accept}, **kwargs)
        return list_or_watch
    return bind


class RbacWatch:
    """kmm's own list+watch of Roles, RoleBindings, ClusterRoles and ClusterRoleBindings
    (their metadata).

    kube.access remembers access answers while `generation` stays the same: it grows with
    every change of any of them (and every relist, which may hide changes). `healthy` says
    whether the watch has seen everything up to now: listed once, threads alive, connected
    (a dropped watch may miss changes until it resumes), the API server answering.
    """

    def __init__(self, caller: Caller):
        self.caller = caller
        self.caches = [ResourceCache(caller, f"{resource}.rbac.authorization.k8s.io",
                                     _metadata_list_fn(method, client.RbacAuthorizationV1Api))
                       for resource, method in RBAC_KINDS]
        for cache in self.caches:
            cache.watcher.forbidden_pause = RBAC_FORBIDDEN_PAUSE_SECONDS

    def start(self) -> RbacWatch:
        for cache in self.caches:
            cache.start()
        return self

    def stop(self, wait: bool = True) -> None:
        for cache in self.caches:
            cache.stopping.set()
            cache.watcher.interrupt()
        if wait:
            for cache in self.caches:
                cache.stop()

    @property
    def generation(self) -> int:
        return sum(cache.version for cache in self.caches)

    @property
    def changed_at(self) -> float:
        """time.monotonic() of the last change of any RBAC object since the first list
        (0.0: none yet)."""
        return max(cache.changed_at for cache in self.caches)

    @property
    def healthy(self) -> bool:
        return not self.caller.cluster.gate.down and all(
            cache.synced and cache.watcher.alive and cache.watcher.stats.connected
            for cache in self.caches)

    def wait_listed(self, timeout: float) -> bool:
        """Wait until every kind is listed, or one failed (then False at once)."""
        deadline = time.monotonic() + timeout
        while not all(cache.synced for cache in self.caches):
            if time.monotonic() > deadline or any(cache.watcher.stats.last_error
                                                  for cache in self.caches):
                return False
            time.sleep(0.02)
        return True

    @property
    def problem(self) -> str:
        """Why the watch is not healthy, or ""."""
        if self.healthy:
            return ""
        return next((cache.watcher.stats.last_error for cache in self.caches
                     if cache.watcher.stats.last_error), "not loaded yet")


_process_rbac: RbacWatch | None = None
_rbac_pid = 0


def running_rbac_watch() -> RbacWatch | None:
    """The process-wide RBAC watch if it has started in this process, without starting it."""
    current = _process_rbac
    return current if current is not None and _rbac_pid == os.getpid() else None


def rbac_watch(cluster: Cluster) -> RbacWatch | None:
    """The process-wide RBAC watch (kmm's identity) when `cluster` is the process's
    cluster, started on first use in this process (after any fork); None for any other
    cluster: nothing watches its RBAC."""
    global _process_rbac, _rbac_pid
    current = _process_rbac
    if current is not None and _rbac_pid == os.getpid() and current.caller.cluster is cluster:
        return current
    with _process_lock:
        try:
            if cluster is not default_cluster():
                return None
        except ConfigurationError:
            return None
        current = _process_rbac if _rbac_pid == os.getpid() else None
        if current is not None and current.caller.cluster is cluster:
            return current
        if current is not None:  # the process moved to another cluster
            current.stop(wait=False)
        started = _process_rbac = RbacWatch(cluster.as_app()).start()
        _rbac_pid = os.getpid()
    # The process's first pages wait a moment for the first list, so their answers are
    # remembered long at once (not when the list fails: kmm may not list RBAC, say).
    started.wait_listed(RBAC_FIRST_SYNC_SECONDS)
    return started
