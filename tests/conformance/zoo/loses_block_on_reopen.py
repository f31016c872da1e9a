"""Zoo member over stdio, in Python: a node whose store drops what it cannot verify on reopen.

Run as ``stdio:python tests/conformance/zoo/loses_block_on_reopen.py [UPSTREAM...]``. A proxy
speaking the wire protocol of spec/conformance.md: every request line goes unchanged to an
upstream IUT (by default the reference, ``python -m iome_ref serve --stdio``) and every reply
comes back unchanged, except one realistic bug: when reopening a store whose rows no longer
verify (IOME-BLK-012), it answers ``{}`` as if the store had loaded, the way a node that skips
unreadable rows silently loses a committed block instead of refusing to start.

Only the standard library; the upstream runs in this process's group (the harness starts the
IUT in a new session and kills that whole group), so no process outlives the run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

BUGGY_OP = "reopen"
BUGGY_CODE = "IOME-BLK-012"


def _object(line: bytes) -> dict[str, Any] | None:
    """The line's JSON object, or None (garbage is the upstream's to refuse, not ours)."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _lost(request: dict[str, Any] | None, reply: dict[str, Any] | None) -> bool:
    """Whether this reply is the refusal the buggy store never makes."""
    if request is None or reply is None or request.get("op") != BUGGY_OP:
        return False
    error = reply.get("error")
    return reply.get("ok") is False and isinstance(error, dict) and error.get("code") == BUGGY_CODE


def main(argv: list[str]) -> int:
    """Proxy stdin to the upstream until end of input; the upstream's exit status."""
    command = argv or [sys.executable, "-m", "iome_ref", "serve", "--stdio"]
    upstream = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert upstream.stdin is not None
    assert upstream.stdout is not None
    try:
        for line in sys.stdin.buffer:
            upstream.stdin.write(line if line.endswith(b"\n") else line + b"\n")
            upstream.stdin.flush()
            reply_line = upstream.stdout.readline()
            if not reply_line:
                break  # the upstream died: our end of output tells the harness
            request = _object(line)
            if request is not None and _lost(request, _object(reply_line)):
                ok = {"id": request.get("id"), "ok": True, "result": {}}
                reply_line = (json.dumps(ok, separators=(",", ":")) + "\n").encode()
            sys.stdout.buffer.write(reply_line)
            sys.stdout.buffer.flush()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        upstream.stdin.close()
    return upstream.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
