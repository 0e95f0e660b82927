"""Small strict readers for settings that come from environment variables.

Each NAME also accepts NAME_FILE (the path of a file holding the value), so
secrets can come from mounted Kubernetes Secrets.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def string(name: str, default: str = "") -> str:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def boolean(name: str, default: bool = False) -> bool:
    value = string(name, "true" if default else "false").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def integer(name: str, default: int) -> int:
    value = string(name, str(default)).strip()
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}.") from None


def choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = string(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return value


def strings(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in string(name, default).split(",") if item.strip()]


def rate(name: str, default: str) -> str:
    """A request rate like 120/min (per second, minute, hour or day), or "off"."""
    value = string(name, default).strip().lower()
    if value == "off" or re.fullmatch(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        return value
    raise ImproperlyConfigured(f"{name} must be a rate like 120/min, or off, not {value!r}.")


def cidrs(name: str, default: str = "") -> list[str]:
    """Comma-separated networks (10.0.0.0/8, 127.0.0.1), each checked."""
    import ipaddress

    networks = strings(name, default)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {network!r} is not an IP network.") from None
    return networks
