"""Shared loop of the broken IUTs: answer ``hello`` well, then misbehave as told.

Only the standard library, so each starts in a blink; ``answer(request)`` returns the bytes to
write for one request (or None to write nothing).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

CORE_OPS = [
    "hello",
    "reset",
    "submit_block",
    "submit_tx",
    "validate",
    "head",
    "get_tx",
    "evidence",
    "reopen",
]
MANIFEST = {
    "spec_version": "1.0.0",
    "implementation": "broken",
    "roles": [],
    "chain_kinds": ["public"],
    "ops": CORE_OPS,
}


def reply(request: dict[str, Any], result: dict[str, Any]) -> bytes:
    return json.dumps({"id": request["id"], "ok": True, "result": result}).encode() + b"\n"


def run(answer: Callable[[dict[str, Any]], bytes | None]) -> None:
    for line in sys.stdin.buffer:
        request = json.loads(line)
        data = reply(request, MANIFEST) if request["op"] == "hello" else answer(request)
        if data is not None:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
