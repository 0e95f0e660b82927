"""Production settings refuse unsafe configuration (each case in a fresh interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STRONG = "a-strong-test-key-" + "0123456789abcdef" * 3


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KMM_")}
    clean.update(env, DJANGO_SETTINGS_MODULE="kmm.settings")
    code = "import django; django.setup(); from django.conf import settings; " \
           "print(settings.DEBUG, settings.KMM_AUTH_MODE, settings.ALLOWED_HOSTS)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean,
                          capture_output=True, text=True, check=False)


def test_it_refuses_to_start_without_a_secret_key() -> None:
    result = load_settings()
    assert result.returncode != 0
    assert "KMM_SECRET_KEY" in result.stderr


def test_it_defaults_to_debug_off_and_token_auth() -> None:
    result = load_settings(KMM_SECRET_KEY=STRONG)
    assert result.stdout.split(maxsplit=2)[:2] == ["False", "token"]


def test_allowed_hosts_come_from_the_environment() -> None:
    result = load_settings(KMM_SECRET_KEY=STRONG, KMM_ALLOWED_HOSTS="kmm.example.com, other")
    assert "['kmm.example.com', 'other']" in result.stdout


def test_secrets_can_come_from_files(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(STRONG + "\n")
    result = load_settings(KMM_SECRET_KEY_FILE=str(key_file))
    assert result.returncode == 0, result.stderr


def test_bad_values_are_refused_with_the_name() -> None:
    result = load_settings(KMM_SECRET_KEY=STRONG, KMM_AUTH_MODE="maybe")
    assert result.returncode != 0
    assert "KMM_AUTH_MODE" in result.stderr


def test_it_refuses_a_weak_secret_key_and_says_how_to_make_one() -> None:
    for weak in ("x", "a" * 80, "short-but-random-0123"):
        result = load_settings(KMM_SECRET_KEY=weak)
        assert result.returncode != 0, weak
        assert "KMM_SECRET_KEY is too weak" in result.stderr
        assert "secrets.token_urlsafe(50)" in result.stderr


def test_debug_accepts_any_key() -> None:
    result = load_settings(KMM_SECRET_KEY="x", KMM_DEBUG="true")
    assert result.returncode == 0, result.stderr
