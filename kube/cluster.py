"""Cluster configuration and per-caller API clients.

A `Cluster` is a loaded configuration (in-cluster service account, else a
kubeconfig) plus a bounded pool of API clients, one per identity, so every
caller reuses its connections. A `Caller` is "this identity on this cluster":
the app's own credentials, a user's bearer token, or the app impersonating a
user and groups. Every service-layer operation takes a Caller, so the cluster's
own RBAC decides what each user may do.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException
from urllib3._collections import HTTPHeaderDict

from kube.errors import ConfigurationError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 3.0
MAX_POOLED_CLIENTS = 256
IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


@dataclass(frozen=True)
class Identity:
    """Who a request acts as. `kind` is "app", "token" or "impersonate"."""

    kind: str = "app"
    token: str = ""
    user: str = ""
    groups: tuple[str, ...] = ()

    @property
    def pool_key(self) -> str:
        # Tokens are hashed so they never sit in plain text as dictionary keys.
        secret = hashlib.sha256(self.token.encode()).hexdigest() if self.token else ""
        return f"{self.kind}|{secret}|{self.user}|{','.join(self.groups)}"

    def __repr__(self) -> str:  # never print a token
        return f"Identity(kind={self.kind!r}, user={self.user!r}, groups={self.groups!r})"


class _ImpersonatingPool:
    """Adds Impersonate-User and one Impersonate-Group header per group to each request.

    The generated client keeps headers in a plain dict, which cannot hold the
    repeated Impersonate-Group header Kubernetes expects.
    """

    def __init__(self, inner: urllib3.PoolManager, user: str, groups: tuple[str, ...]):
        self._inner = inner
        self._user = user
        self._groups = groups

    def request(self, method: str, url: str, headers: Any = None, **kwargs: Any) -> Any:
        merged = HTTPHeaderDict(headers or {})
        merged["Impersonate-User"] = self._user
        for group in self._groups:
            merged.add("Impersonate-Group", group)
        return self._inner.request(method, url, headers=merged, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class Cluster:
    """One Kubernetes API server, as configured for this process."""

    def __init__(self, configuration: client.Configuration, context: str, source: str,
                 read_timeout: float = 15.0):
        self.configuration = configuration
        self.context = context
        self.source = source
        self.timeout = (CONNECT_TIMEOUT_SECONDS, read_timeout)
        self._clients: OrderedDict[str, client.ApiClient] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_kubeconfig(cls, path: str | os.PathLike[str], context: str | None = None,
                        read_timeout: float = 15.0) -> Cluster:
        configuration = client.Configuration()
        try:
            contexts, active = config.list_kube_config_contexts(config_file=str(path))
            config.load_kube_config(config_file=str(path), context=context,
                                    client_configuration=configuration, persist_config=False)
        except (ConfigException, OSError, TypeError) as exc:
            raise ConfigurationError(f"Cannot load kubeconfig {path}: {exc}") from exc
        name = context or (active or {}).get("name", "default")
        if context and context not in {c["name"] for c in contexts}:
            raise ConfigurationError(f"Context {context!r} is not in kubeconfig {path}.")
        return cls(_hardened(configuration), name, f"kubeconfig {path}", read_timeout)

    @classmethod
    def in_cluster(cls, read_timeout: float = 15.0) -> Cluster:
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise ConfigurationError(f"Cannot load in-cluster configuration: {exc}") from exc
        return cls(_hardened(configuration), "in-cluster", "in-cluster service account",
                   read_timeout)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Cluster:
        """In-cluster service account first, else KUBECONFIG or ~/.kube/config.

        KMM_KUBE_CONTEXT picks a kubeconfig context; KMM_KUBE_TIMEOUT bounds each call.
        """
        env = os.environ if environ is None else environ
        timeout = float(env.get("KMM_KUBE_TIMEOUT", "15"))
        if env.get("KUBERNETES_SERVICE_HOST") and IN_CLUSTER_TOKEN.exists():
            cluster = cls.in_cluster(timeout)
        else:
            paths = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
            path = Path(paths[0]) if paths else Path.home() / ".kube" / "config"
            if not path.exists():
                raise ConfigurationError(
                    "No Kubernetes cluster is configured: not running in a cluster, and no "
                    f"kubeconfig at {path}. Set KUBECONFIG, or run `make run` to start a "
                    "local control plane."
                )
            cluster = cls.from_kubeconfig(path, env.get("KMM_KUBE_CONTEXT") or None, timeout)
        log.info("Kubernetes: using %s, context %s, server %s",
                 cluster.source, cluster.context, cluster.configuration.host)
        return cluster

    @property
    def server(self) -> str:
        return str(self.configuration.host)

    def as_app(self) -> Caller:
        return Caller(self, Identity("app"))

    def as_token(self, token: str) -> Caller:
        return Caller(self, Identity("token", token=token))

    def impersonating(self, user: str, groups: tuple[str, ...] | list[str] = ()) -> Caller:
        return Caller(self, Identity("impersonate", user=user, groups=tuple(groups)))

    def api_client(self, identity: Identity) -> client.ApiClient:
        key = identity.pool_key
        with self._lock:
            api = self._clients.get(key)
            if api is not None:
                self._clients.move_to_end(key)
                return api
            api = self._build_client(identity)
            self._clients[key] = api
            if len(self._clients) > MAX_POOLED_CLIENTS:
                # Dropped, not closed: another thread may be mid-call with it; its
                # connections close when the last user lets go of it.
                self._clients.popitem(last=False)
            return api

    @contextmanager
    def unpooled(self, identity: Identity) -> Iterator[client.ApiClient]:
        """A client for one use (an unverified token), never pooled, closed afterwards."""
        api = self._build_client(identity)
        try:
            yield api
        finally:
            api.close()

    def _build_client(self, identity: Identity) -> client.ApiClient:
        configuration = copy.copy(self.configuration)
        configuration.api_key = dict(self.configuration.api_key)
        configuration.api_key_prefix = dict(self.configuration.api_key_prefix)
        if identity.kind == "token":
            # A user's token replaces the app's credentials entirely.
            configuration.cert_file = None
            configuration.key_file = None
            configuration.refresh_api_key_hook = None
            configuration.username = ""
            configuration.password = ""
            configuration.api_key = {"authorization": f"Bearer {identity.token}"}
            configuration.api_key_prefix = {}
        api = client.ApiClient(configuration)
        api.user_agent = "kmm"
        if identity.kind == "impersonate":
            rest = api.rest_client
            rest.pool_manager = _ImpersonatingPool(  # type: ignore[assignment]  # duck-typed wrapper
                rest.pool_manager, identity.user, identity.groups)
        return api

    def close(self) -> None:
        with self._lock:
            for api in self._clients.values():
                api.close()
            self._clients.clear()


def _hardened(configuration: client.Configuration) -> client.Configuration:
    # Fail fast: no silent retries stacking up behind a dead API server; the
    # caller sees 503 within the timeout instead.
    configuration.retries = urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0)
    # TCP keepalive with client-go's timings: a watch whose peer vanished (a dropped
    # NAT entry, a partitioned node) fails within about 3 minutes instead of hanging.
    configuration.keep_alive = True
    return configuration


@dataclass(frozen=True)
class Caller:
    """An identity on a cluster: what every service-layer operation takes."""

    cluster: Cluster
    identity: Identity

    @property
    def api(self) -> client.ApiClient:
        return self.cluster.api_client(self.identity)


_default: Cluster | None = None
_default_lock = threading.Lock()


def default_cluster() -> Cluster:
    """The process-wide cluster, loaded lazily from the environment on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Cluster.from_environment()
        return _default


def set_default_cluster(cluster: Cluster | None) -> None:
    global _default
    with _default_lock:
        if _default is not None and _default is not cluster:
            _default.close()
        _default = cluster
