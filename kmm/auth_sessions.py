"""Token-mode sessions: how long they last, and how sign-out ends them on every replica.

- Each sign-in gets a random session id. Sign-out records a hash of it in the revocation
  ConfigMap (kube.revocations, written with kmm's own identity); every replica re-reads
  that record at most every REVOCATIONS_REFRESH_SECONDS, so a copied cookie replayed after
  sign-out is refused everywhere within seconds (at once on the replica that signed out).
- Idle sessions end after KMM_SESSION_SECONDS (1 h); each use renews that (sliding, at
  most once a minute), and none lasts beyond KMM_SESSION_MAX_SECONDS (12 h).
- The token is re-checked with the API server every TOKEN_RECHECK_SECONDS; a 401 there, or
  on any call (kube.access.token_rejected), ends the session at once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

import kube
from kube import revocations

log = logging.getLogger(__name__)

SESSION_ID = "kmm_sid"
ISSUED = "kmm_issued"
CHECKED = "kmm_checked"
RENEWED = "kmm_renewed"
TOKEN_RECHECK_SECONDS = 300
RENEW_EVERY_SECONDS = 60
REVOCATIONS_REFRESH_SECONDS = 2.0
# Browsers keep cookies up to 4096 bytes of name and value; leave room for the attributes.
MAX_COOKIE_BYTES = 4000


class CookieTooLarge(Exception):
    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


def start(session: SessionBase) -> None:
    now = time.time()
    session[SESSION_ID] = secrets.token_urlsafe(16)
    session[ISSUED] = session[CHECKED] = session[RENEWED] = int(now)


def cookie_bytes(session: SessionBase) -> int:
    """The size of the session cookie's name and value as the browser will store it."""
    value = session._get_session_key()  # type: ignore[attr-defined]  # signed_cookies backend
    return len(settings.SESSION_COOKIE_NAME) + 1 + len(value)


def check_size(session: SessionBase) -> None:
    size = cookie_bytes(session)
    if size > MAX_COOKIE_BYTES:
        raise CookieTooLarge(size)


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()[:40]


class Revocations:
    """This process's copy of the revocation record, refreshed every few seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, float] = {}
        self._loaded = 0.0

    def _where(self) -> tuple[str, str]:
        return settings.KMM_REVOCATION_NAMESPACE, settings.KMM_REVOCATION_CONFIGMAP

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._loaded < REVOCATIONS_REFRESH_SECONDS:
            return
        try:
            entries, _ = revocations.read(kube.default_cluster().as_app(), *self._where())
        except kube.KubeError as exc:  # keep the last copy; retry on the next request
            log.warning("cannot read the session revocation record: %s", exc)
            entries = self._entries
        with self._lock:
            self._entries, self._loaded = entries, now

    def is_revoked(self, session_id: str) -> bool:
        self._refresh()
        with self._lock:
            return _key(session_id) in self._entries

    def revoke(self, session_id: str) -> None:
        expires = time.time() + settings.SESSION_COOKIE_AGE
        with self._lock:
            self._entries[_key(session_id)] = expires
        revocations.add(kube.default_cluster().as_app(), *self._where(), _key(session_id),
                        expires)

    def forget_local(self) -> None:
        """Drop this process's copy (tests: as a replica that never saw the sign-out)."""
        with self._lock:
            self._entries, self._loaded = {}, 0.0


revoked = Revocations()


def still_valid(session: SessionBase, token: str, identity: kube.Identity) -> bool:
    """Whether the session may go on; renews it (sliding) when it does."""
    now = time.time()
    session_id = session.get(SESSION_ID)
    if not session_id or revoked.is_revoked(session_id):
        return False
    if now - session.get(ISSUED, 0) > settings.KMM_SESSION_MAX_SECONDS:
        return False
    if kube.token_rejected(identity):
        return False
    if now - session.get(CHECKED, 0) > TOKEN_RECHECK_SECONDS:
        try:
            kube.review_token(kube.default_cluster(), token)
        except kube.Unauthorized:
            return False
        except kube.KubeError:
            pass  # the API server is away: nothing it could refuse meanwhile; re-check later
        else:
            session[CHECKED] = int(now)
    if now - session.get(RENEWED, 0) > RENEW_EVERY_SECONDS:
        session[RENEWED] = int(now)  # a changed session is sent again: a new idle deadline
    return True
