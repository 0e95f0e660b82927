"""`manage.py runserver`, refusing KMM_DEBUG=true on an address beyond loopback.

Debug mode shows Django's debug pages and (by default) turns authentication off, so it
may only listen where nobody else can connect.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as StaticRunserver
from django.core.management.base import CommandError

from kmm.addresses import is_loopback


class Command(StaticRunserver):
    def run(self, **options: Any) -> None:
        if settings.DEBUG and not is_loopback(self.addr):
            raise CommandError(
                f"KMM_DEBUG=true may only listen on loopback (127.0.0.1, ::1), not {self.addr}: "
                "debug pages and authentication-free mode would be open to the network.")
        super().run(**options)
