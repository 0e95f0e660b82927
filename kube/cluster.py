"""Cluster configuration and per-caller API clients.

A `Cluster` is a loaded configuration (in-cluster service account, else a
kubeconfig) plus a bounded pool of API clients, one per identity, so every
caller reuses its connections. A `Caller` is "this identity on this cluster":
the app's own credentials, a user's bearer token, or the app impersonating a
user and groups. Every service-layer operation takes a Caller, so the cluster's
own RBAC decides what each user may do.

A Cluster also keeps its `Gate` (see kube.calls): the budget of concurrent calls
and whether the API server is answering. When its files change (a replaced API
server: new address and CA in the kubeconfig; a rotated service-account token or
CA in a pod), `reload_if_changed()` loads them again; kube.calls asks for that
whenever a call gets no answer or a 401.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import os
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException
from urllib3._collections import HTTPHeaderDict

from kube.errors import ConfigurationError, Unavailable

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 3.0
MAX_POOLED_CLIENTS = 256
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
IN_CLUSTER_TOKEN = SERVICE_ACCOUNT_DIR / "token"
IN_CLUSTER_CA = SERVICE_ACCOUNT_DIR / "ca.crt"
BUDGET_WAIT_SECONDS = 0.1  # how long a call may wait for a free slot of the budget
TOKEN_REREAD_SECONDS = 60.0  # client-go re-reads the service-account token this often


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


class Gate:
    """Admission of one process's calls to one API server: a budget and a breaker.

    - The budget: at most `budget` calls in flight at once (None: no limit); a call
      that finds no free slot within BUDGET_WAIT_SECONDS is refused with 503. Under
      gunicorn the budget is below the worker's thread count, so threads blocked on
      a slow API server never take them all: probes and cache-only pages still run.
    - The breaker: once a call got no answer (refused, reset, timed out), the server
      counts as down. While it is, one call at a time goes through as a trial; every
      other call is refused at once with 503 instead of waiting for its timeout. Any
      answer (even an error status) or a working watch ends the outage.
    Background calls (the watch cache's lists and probes) pass with `budgeted=False`:
    they neither take a slot nor wait for the breaker, but they report what they saw.
    """

    def __init__(self, server: Callable[[], str], budget: int | None = None):
        self._server = server
        self.budget = budget
        self._slots = threading.BoundedSemaphore(budget) if budget else None
        self._lock = threading.Lock()
        self.down_since = 0.0  # time.monotonic() of the first call without an answer; 0: up
        self._trial = False
        self.refused: Counter[str] = Counter()  # reason ("down", "busy") -> calls refused

    @property
    def down(self) -> bool:
        return bool(self.down_since)

    @contextlib.contextmanager
    def admit(self, budgeted: bool = True) -> Iterator[None]:
        trial = False
        if budgeted and self.down_since:
            with self._lock:
                if self.down_since:
                    if self._trial:
                        self._refuse("down", (
                            f"The Kubernetes API server at {self._server()} has not been "
                            f"answering for {time.monotonic() - self.down_since:.0f}s. "
                            "Retry in a moment."))
                    self._trial = trial = True
        acquired = False
        try:
            if budgeted and self._slots is not None:
                acquired = self._slots.acquire(timeout=BUDGET_WAIT_SECONDS)
                if not acquired:
                    self._refuse("busy", (
                        f"kmm is already waiting for {self.budget} answers from the Kubernetes "
                        f"API server at {self._server()}. Retry in a moment."))
            yield
        finally:
            if acquired and self._slots is not None:
                self._slots.release()
            if trial:
                with self._lock:
                    self._trial = False

    def _refuse(self, reason: str, message: str) -> None:
        self.refused[reason] += 1
        raise Unavailable(message, reason="Unavailable")

    def answered(self) -> None:
        if self.down_since:
            with self._lock:
                if self.down_since:
                    log.warning("Kubernetes API server at %s answers again (after %.1fs)",
                                self._server(), time.monotonic() - self.down_since)
                    self.down_since = 0.0

    def no_answer(self) -> None:
        if not self.down_since:
            with self._lock:
                if not self.down_since:
                    log.warning("Kubernetes API server at %s does not answer; refusing calls "
                                "at once until it does", self._server())
                    self.down_since = time.monotonic()


def _file_signature(*paths: Path) -> tuple[Any, ...]:
    """What changes when a file is replaced or rewritten (kubelet swaps a symlink)."""
    signature: list[Any] = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            signature.append(None)
        else:
            signature.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return tuple(signature)


class Cluster:
    """One Kubernetes API server, as configured for this process."""

    def __init__(self, configuration: client.Configuration, context: str, source: str,
                 read_timeout: float = 15.0, budget: int | None = None,
                 loader: Callable[[], client.Configuration] | None = None,
                 files: tuple[Path, ...] = ()):
        self.configuration = configuration
        self.context = context
        self.source = source
        self.timeout = (CONNECT_TIMEOUT_SECONDS, read_timeout)
        self.gate = Gate(lambda: self.server, budget)
        self.generation = 0  # grows each time the configuration is loaded again
        self._loader = loader
        self._files = files
        self._signature = _file_signature(*files)
        self._clients: OrderedDict[str, client.ApiClient] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_kubeconfig(cls, path: str | os.PathLike[str], context: str | None = None,
                        read_timeout: float = 15.0, budget: int | None = None) -> Cluster:
        def load() -> client.Configuration:
            return _kubeconfig(path, context)[0]

        configuration, name = _kubeconfig(path, context)
        return cls(configuration, name, f"kubeconfig {path}", read_timeout, budget, load,
                   (Path(path),))

    @classmethod
    def in_cluster(cls, read_timeout: float = 15.0, budget: int | None = None,
                   directory: Path = SERVICE_ACCOUNT_DIR,
                   environ: dict[str, str] | None = None) -> Cluster:
        """The pod's service account: its token is read again whenever the file changes
        (the kubelet rotates it) and at least every minute, as client-go does."""
        token, ca = directory / "token", directory / "ca.crt"

        def load() -> client.Configuration:
            return _in_cluster(token, ca, os.environ if environ is None else environ)

        return cls(load(), "in-cluster", "in-cluster service account", read_timeout, budget,
                   load, (token, ca))

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Cluster:
        """In-cluster service account first, else KUBECONFIG or ~/.kube/config.

        KMM_KUBE_CONTEXT picks a kubeconfig context; KMM_KUBE_TIMEOUT bounds each call;
        KMM_KUBE_CONCURRENCY (default: KMM_THREADS - 1) is the budget of calls in flight.
        """
        env = os.environ if environ is None else environ
        timeout = float(env.get("KMM_KUBE_TIMEOUT", "15"))
        budget = concurrency(env)
        if env.get("KUBERNETES_SERVICE_HOST") and IN_CLUSTER_TOKEN.exists():
            cluster = cls.in_cluster(timeout, budget, environ=dict(env))
        else:
            paths = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
            path = Path(paths[0]) if paths else Path.home() / ".kube" / "config"
            if not path.exists():
                raise ConfigurationError(
                    "No Kubernetes cluster is configured: not running in a cluster, and no "
                    f"kubeconfig at {path}. Set KUBECONFIG, or run `make run` to start a "
                    "local control plane."
                )
            cluster = cls.from_kubeconfig(path, env.get("KMM_KUBE_CONTEXT") or None, timeout,
                                          budget)
        log.info("Kubernetes: using %s, context %s, server %s",
                 cluster.source, cluster.context, cluster.configuration.host)
        return cluster

    @property
    def server(self) -> str:
        return str(self.configuration.host)

    def reload_if_changed(self) -> bool:
        """Load the configuration again if its files changed since it was loaded.

        A replaced API server (`make cluster` again: a new port and CA) or a rotated
        CA is found this way; the pooled clients are dropped, and `generation` grows
        so the watch cache lists again from the new server.
        """
        if self._loader is None or _file_signature(*self._files) == self._signature:
            return False
        with self._lock:
            signature = _file_signature(*self._files)
            if signature == self._signature:
                return False
            try:
                configuration = self._loader()
            except ConfigurationError as exc:
                log.warning("%s changed but cannot be loaded (%s); keeping the old one",
                            self.source, exc)
                self._signature = signature
                return False
            old = self.configuration.host
            self.configuration, self._signature = configuration, signature
            for api in self._clients.values():
                api.close()
            self._clients.clear()
            self.generation += 1
        log.warning("%s changed: now using server %s (was %s)", self.source,
                    configuration.host, old)
        self.gate.answered()
        return True

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


def concurrency(environ: Any) -> int | None:
    """KMM_KUBE_CONCURRENCY, else one less than gunicorn's KMM_THREADS (one thread stays
    free for probes and cache-only pages); 0 means no budget."""
    raw = str(environ.get("KMM_KUBE_CONCURRENCY", "")).strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigurationError(f"KMM_KUBE_CONCURRENCY must be a whole number, not {raw!r}.") \
                from None
        return value if value > 0 else None
    try:
        threads = int(str(environ.get("KMM_THREADS", "")).strip() or "4")
    except ValueError:
        threads = 4
    return max(1, threads - 1)


def _kubeconfig(path: str | os.PathLike[str],
                context: str | None) -> tuple[client.Configuration, str]:
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
    return _hardened(configuration), str(name)


def _in_cluster(token: Path, ca: Path, environ: Any) -> client.Configuration:
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise ConfigurationError("Cannot load in-cluster configuration: KUBERNETES_SERVICE_HOST "
                                 "and KUBERNETES_SERVICE_PORT must be set.")
    if not ca.is_file():
        raise ConfigurationError(f"Cannot load in-cluster configuration: no CA at {ca}.")
    configuration = client.Configuration()
    configuration.host = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    configuration.ssl_ca_cert = str(ca)
    reader = TokenFile(token)
    configuration.api_key["authorization"] = f"Bearer {reader.read()}"
    configuration.refresh_api_key_hook = reader.refresh  # type: ignore[assignment]
    return _hardened(configuration)


class TokenFile:
    """A mounted bearer token, read again when the file changes or a minute has passed.

    Set as a client configuration's `refresh_api_key_hook`, which the client calls
    before every request: the check is one stat() of the file.
    """

    def __init__(self, path: Path):
        self.path = path
        self.token = ""
        self._signature: tuple[Any, ...] = ()
        self._read_at = 0.0

    def read(self) -> str:
        try:
            token = self.path.read_text().strip()
        except OSError as exc:
            raise ConfigurationError(f"Cannot read the service-account token {self.path}: "
                                     f"{exc}") from exc
        if not token:
            raise ConfigurationError(f"The service-account token {self.path} is empty.")
        self.token, self._signature = token, _file_signature(self.path)
        self._read_at = time.monotonic()
        return token

    def refresh(self, configuration: client.Configuration) -> None:
        if (time.monotonic() - self._read_at > TOKEN_REREAD_SECONDS
                or _file_signature(self.path) != self._signature):
            with contextlib.suppress(ConfigurationError):  # keep the last good token
                self.read()
        configuration.api_key["authorization"] = f"Bearer {self.token}"


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


def swap_default_cluster(cluster: Cluster | None) -> Cluster | None:
    """Make `cluster` the process-wide one and return the previous one, left open
    (a test session with two control planes switches between them)."""
    global _default
    with _default_lock:
        previous, _default = _default, cluster
        return previous
