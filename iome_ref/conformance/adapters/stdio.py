"""An IUT in a subprocess speaking the wire protocol of spec/conformance.md: ``stdio:COMMAND``.

The process is started once per run, in its own session (so its process group holds every
child it forks), and driven one request at a time. Two reader threads move its stdout lines
(bounded by the line limit, IOME-IUT-002) into a queue and keep its last stderr lines for
reports. Whatever the IUT does wrong, a call ends within the timeout as
``ImplementationError`` (component "iut") naming the IOME-IUT id it broke and its last stderr
lines, and the whole process group is killed: the suite never hangs, no child survives it.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import IO, Final, Literal

from iome_ref.conformance import wire
from iome_ref.conformance.iut import CallingIUT, JsonObject, Refused
from iome_ref.errors import ImplementationError, Rejected, UsageError

__all__ = ["STARTUP_TIMEOUT_S", "StdioIUT"]

#: The first request also waits for the IUT to start (an interpreter, a JIT): at least this.
STARTUP_TIMEOUT_S: Final = 30.0
#: Stderr lines kept for error messages and reports, and the characters kept of each.
STDERR_LINES: Final = 20
_STDERR_WIDTH: Final = 500
#: Seconds ``close`` lets the IUT exit on end of input before killing its process group.
_GRACE_S: Final = 0.5
_COMPONENT: Final = "iut"

_Item = tuple[Literal["line", "oversized", "eof"], bytes]


class StdioIUT(CallingIUT):
    """The IUT interface over a subprocess's stdin and stdout."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        timeout_s: float = wire.DEFAULT_TIMEOUT_S,
        limit: int = wire.MAX_LINE_BYTES,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
    ) -> None:
        """Start ``command``.

        Raises:
            UsageError: the command is empty or cannot be started.
        """
        if not command:
            raise UsageError(_COMPONENT, "stdio: the command is empty")
        if timeout_s <= 0:
            raise UsageError(_COMPONENT, f"timeout: expected > 0 s, found {timeout_s}")
        self.command = list(command)
        self.timeout_s = timeout_s
        self.limit = limit
        self._startup_timeout_s = max(timeout_s, startup_timeout_s)
        self._replies: queue.Queue[_Item] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._next_id = 1
        self._broken: ImplementationError | None = None
        try:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                bufsize=-1,  # buffered: readline(limit) then reads in blocks, not bytes
            )
        except OSError as exc:
            raise UsageError(_COMPONENT, f"stdio: cannot start {self.command[0]}: {exc}") from None
        assert self._process.stdout is not None
        assert self._process.stderr is not None
        self._threads = [
            threading.Thread(target=self._read_stdout, args=(self._process.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self._process.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def pid(self) -> int:
        """The IUT's process id, which is also its process group id."""
        return self._process.pid

    # -- readers (threads) -----------------------------------------------------------------

    def _read_stdout(self, stream: IO[bytes]) -> None:
        while True:
            try:
                line = stream.readline(self.limit + 2)
            except (OSError, ValueError):  # closed under us: the IUT is stopped
                line = b""
            if not line:
                self._replies.put(("eof", b""))
                return
            if len(line.rstrip(b"\r\n")) > self.limit:
                self._replies.put(("oversized", b""))
                return  # nothing after an oversized reply is read: the IUT is stopped
            self._replies.put(("line", line))

    def _read_stderr(self, stream: IO[bytes]) -> None:
        while True:
            try:
                line = stream.readline(1 << 16)
            except (OSError, ValueError):
                return
            if not line:
                return
            text = line.decode("utf-8", "backslashreplace").rstrip("\r\n")
            self._stderr.append(text[:_STDERR_WIDTH])

    def stderr_tail(self) -> list[str]:
        """The IUT's last stderr lines (free text, kept for the report)."""
        return list(self._stderr)

    # -- the interface: typed operations come from CallingIUT ------------------------------

    def hello(self) -> JsonObject:
        result = self.call("hello", {})
        try:
            wire.check_manifest(result)
        except Rejected as exc:
            raise self._fail(exc) from None
        return result

    def call(self, op: str, args: JsonObject) -> JsonObject:
        """Send one request and wait for its reply.

        Raises:
            Refused: the IUT's error reply (its code and message).
            ImplementationError: the IUT crashed, hung, answered garbage, the wrong id or an
                oversized line (the IOME-IUT id in the message), or was stopped before.
            UsageError: the request itself exceeds the line limit (a harness problem).
        """
        if self._broken is not None:
            raise ImplementationError(_COMPONENT, f"stopped earlier: {self._broken.message}")
        request_id = self._next_id
        self._next_id += 1
        line = wire.encode_line({"id": request_id, "op": op, "args": args})
        try:
            wire.check_line_size(len(line) - 1, self.limit)
        except Rejected as exc:
            raise UsageError(_COMPONENT, f"request {op}: {exc.message}") from None
        timeout = self._startup_timeout_s if request_id == 1 else self.timeout_s
        try:
            reply = self._exchange(line, request_id, timeout)
        except Rejected as exc:
            raise self._fail(exc) from None
        if reply["ok"]:
            result: JsonObject = reply["result"]
            return result
        try:
            code, message = wire.check_refusal(reply["error"])
        except Rejected as exc:
            raise self._fail(exc) from None
        raise Refused(code, message)

    def _exchange(self, line: bytes, request_id: int, timeout: float) -> JsonObject:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(line)
            stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died: the reader reports end of output, with its exit status
        started = time.monotonic()
        try:
            kind, data = self._replies.get(timeout=timeout)
        except queue.Empty:
            wire.check_deadline(time.monotonic() - started, timeout)
            raise  # pragma: no cover - the queue waited the full timeout, so the check raised
        if kind == "oversized":
            wire.check_line_size(self.limit + 1, self.limit)
        if kind == "eof":
            raise Rejected("IOME-IUT-005", f"reply: expected a line, the IUT {self._ended()}")
        reply = wire.check_reply(data.rstrip(b"\r\n"))
        wire.check_reply_id(reply.get("id"), request_id)
        return reply

    def _ended(self) -> str:
        try:
            status = self._process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "closed its output"
        return f"exited with status {status}"

    def _fail(self, exc: Rejected) -> ImplementationError:
        """Stop the IUT and describe what it broke, with its last stderr lines."""
        self._kill()  # which also lets the stderr reader catch the last lines
        tail = self.stderr_tail()
        stderr = " | ".join(tail[-5:]) if tail else "(nothing on stderr)"
        error = ImplementationError(
            _COMPONENT, f"{exc.req_id}: {exc.message}; last stderr: {stderr}"
        )
        self._broken = error
        return error

    def _kill(self) -> None:
        """SIGKILL the IUT's whole process group, then reap the IUT itself."""
        with contextlib.suppress(ProcessLookupError, PermissionError):  # all gone already
            os.killpg(self._process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL is not ignorable
            self._process.wait(timeout=5.0)
        for stream in (self._process.stdin, self._process.stdout, self._process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def close(self) -> None:
        """End the IUT's input, give it a moment to exit, then kill its process group."""
        if self._process.returncode is None and self._process.stdin is not None:
            try:
                self._process.stdin.close()
                self._process.wait(timeout=_GRACE_S)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._kill()
        if self._broken is None:
            self._broken = ImplementationError(_COMPONENT, "the IUT was closed")

    def __enter__(self) -> StdioIUT:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
