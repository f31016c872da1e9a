"""``iome serve --stdio``: any IUT (the reference by default) over the wire protocol.

Two parts, as in h11's examples: :class:`WireServer` is sans-IO (one request line in, one
reply line out, every failure an error reply with an IOME id), and :func:`serve_stdio` is the
I/O shell reading bounded lines from a binary stream. Nothing but reply lines ever reaches
stdout: diagnostics, including the traceback of a bug, go to stderr (spec/conformance.md).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import BinaryIO, Final, TextIO

from iome_ref.conformance import wire
from iome_ref.conformance.iut import IUT, JsonObject, Refused
from iome_ref.errors import IoMEError, Rejected, UsageError

__all__ = ["WireServer", "serve_stdio"]

_DRAIN_CHUNK: Final = 1 << 16


def _error(request_id: int | str | None, code: str, message: str) -> JsonObject:
    return {"id": request_id, "ok": False, "error": {"code": code, "message": message}}


class WireServer:
    """Turns request lines into reply lines for ``iut``; never raises on any input."""

    def __init__(
        self,
        iut: IUT,
        *,
        limit: int = wire.MAX_LINE_BYTES,
        log: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.iut = iut
        self.limit = limit
        self.log = log

    def handle_line(self, line: bytes) -> bytes:
        """The reply line (newline included) to one request line (newline stripped or not)."""
        line = line.rstrip(b"\r\n")
        request_id: int | str | None = None
        try:
            wire.check_line_size(len(line), self.limit)
            request = wire.check_request(line)
            request_id = request.id
            result = self.iut.call(request.op, request.args)
            reply: JsonObject = {"id": request_id, "ok": True, "result": result}
        except Refused as exc:
            reply = _error(request_id, exc.code, exc.message)
        except Rejected as exc:
            reply = _error(request_id, exc.req_id, exc.message)
        except UsageError as exc:
            reply = _error(request_id, "IOME-IUT-004", exc.message)
        except IoMEError as exc:
            reply = _error(request_id, wire.INTERNAL_ERROR, f"{exc.req_id}: {exc.message}")
        except Exception as exc:  # a bug: answer it, keep serving, tell stderr everything
            self.log(traceback.format_exc())
            reply = _error(request_id, wire.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")
        data = wire.encode_line(reply)
        if len(data) - 1 > self.limit:
            data = wire.encode_line(
                _error(request_id, "IOME-IUT-002", f"reply: {len(data) - 1} bytes exceed limit")
            )
        return data

    def handle_oversized(self) -> bytes:
        """The reply to a request line longer than the limit (its bytes were discarded)."""
        message = f"request line: expected at most {self.limit} bytes, found more"
        return wire.encode_line(_error(None, "IOME-IUT-002", message))


def serve_stdio(
    iut: IUT, stdin: BinaryIO, stdout: BinaryIO, stderr: TextIO, *, limit: int = wire.MAX_LINE_BYTES
) -> int:
    """Serve requests from ``stdin`` until end of file; returns the exit status (0).

    A line longer than ``limit`` is read in bounded chunks and dropped, then refused
    (IOME-IUT-002): memory stays bounded whatever the peer sends.
    """

    def log(text: str) -> None:
        stderr.write(text if text.endswith("\n") else text + "\n")
        stderr.flush()

    server = WireServer(iut, limit=limit, log=log)
    try:
        while True:
            line = stdin.readline(limit + 2)  # the line, "\r\n" at most, and one byte more
            if not line:
                return 0
            if len(line.rstrip(b"\r\n")) > limit:
                while line and not line.endswith(b"\n"):
                    line = stdin.readline(_DRAIN_CHUNK)
                reply = server.handle_oversized()
            else:
                reply = server.handle_line(line)
            stdout.write(reply)
            stdout.flush()
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    finally:
        iut.close()
