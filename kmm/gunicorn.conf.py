"""gunicorn settings for production: `gunicorn -c kmm/gunicorn.conf.py kmm.wsgi`.

The container image runs exactly that command (see the Dockerfile), and so do the tests.
Everything comes from environment variables (README, "Configuration"):

- PORT (8000): listen on 0.0.0.0:PORT; KMM_METRICS_PORT (9100) too, for /metrics only.
- KMM_WORKERS (2) processes, each with KMM_THREADS (4) threads. Requests mostly wait on the
  Kubernetes API server, so threads are cheap; each worker starts its own watch cache right
  after the fork (post_worker_init), never in the master before it.
- KMM_REQUEST_TIMEOUT (60): seconds a worker may spend on one request before it is restarted;
  well above KMM_KUBE_TIMEOUT so the app's own 503 answers first.
- KMM_LOG_LEVEL (INFO): gunicorn's error log level; access and error logs go to stdout.
- KMM_DEBUG must stay false unless every bound address is loopback (on_starting refuses
  otherwise, whatever --bind says): debug pages and authentication-free mode are for one
  developer's machine.
- FORWARDED_ALLOW_IPS (gunicorn's own variable; 127.0.0.1,::1): the proxies whose
  X-Forwarded-Proto is trusted to mark a request as HTTPS. Nothing else is taken from them:
  kmm is served at the root, so no SCRIPT_NAME or PATH_INFO header is honoured.
"""

from __future__ import annotations

import os


def _positive(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a positive integer, not {raw!r}") from None
    if value < 1:
        raise SystemExit(f"{name} must be a positive integer, not {raw!r}")
    return value


def _metrics_port() -> int:
    raw = os.environ.get("KMM_METRICS_PORT", "").strip() or "9100"
    if not raw.isdigit() or int(raw) > 65535:
        raise SystemExit(f"KMM_METRICS_PORT must be a port number or 0, not {raw!r}")
    return int(raw)


port = _positive("PORT", 8000)
metrics_port = _metrics_port()
# The UI's port, and /metrics' own (kmm answers /metrics there only; see kmm.metrics).
bind = [f"0.0.0.0:{port}"] + ([f"0.0.0.0:{metrics_port}"] if metrics_port not in (0, port) else [])
workers = _positive("KMM_WORKERS", 2)
threads = _positive("KMM_THREADS", 4)
worker_class = "gthread"
timeout = _positive("KMM_REQUEST_TIMEOUT", 60)
graceful_timeout = 20  # below the chart's terminationGracePeriodSeconds (30)
keepalive = 5
# A worker's heartbeat file: /dev/shm is memory, so a slow disk never looks like a hung worker.
worker_tmp_dir = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # noqa: S108
forwarder_headers = ""
accesslog = "-"
errorlog = "-"
loglevel = (os.environ.get("KMM_LOG_LEVEL", "").strip() or "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
# No gunicornc control socket: its default lives under $HOME, which is read-only in the pod.
control_socket_disable = True


def _debug_requested() -> bool:
    raw = os.environ.get("KMM_DEBUG", "")
    if os.environ.get("KMM_DEBUG_FILE"):
        try:
            with open(os.environ["KMM_DEBUG_FILE"]) as file:
                raw = file.read()
        except OSError:
            return True  # settings will refuse the unreadable file; assume the worst here
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def on_starting(server):  # type: ignore[no-untyped-def]
    """Refuse debug mode on anything but loopback, with the addresses actually bound
    (this file's `bind`, or --bind / GUNICORN_CMD_ARGS overriding it)."""
    from kmm.addresses import is_loopback

    if not _debug_requested():
        return
    exposed = [str(address) for address in server.cfg.address
               if not (isinstance(address, tuple) and is_loopback(str(address[0])))]
    if exposed:
        raise SystemExit(f"KMM_DEBUG=true is refused: gunicorn would listen on {', '.join(exposed)}, "
                         "beyond loopback. Bind 127.0.0.1 (--bind 127.0.0.1:8000) or turn debug off.")


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """Start this worker's watch cache right after the fork, not on its first request, so
    a new worker is warm (and /readyz green) before traffic reaches it."""
    import kube
    from kube.cache import model_cache

    try:
        model_cache()
    except kube.KubeError as exc:  # no cluster configured: requests will say so
        worker.log.warning("watch cache not started: %s", exc)
