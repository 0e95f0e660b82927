"""The baseline for bench_public_api: a bare WSGI app returning fixed bytes.

It answers every request with the body and headers that kmm's public endpoint
sent (read once at start from BENCH_BODY_FILE and BENCH_HEADERS_FILE), so the
benchmark can run it under the same gunicorn settings as kmm.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

BODY = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()
HEADERS = [(str(k), str(v)) for k, v in
           json.loads(Path(os.environ["BENCH_HEADERS_FILE"]).read_text()).items()]
HEADERS.append(("Content-Length", str(len(BODY))))


def application(environ: dict[str, Any],
                start_response: Callable[[str, list[tuple[str, str]]], Any]) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
