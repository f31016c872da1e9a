"""Answers every request after hello with the id of another request (IOME-IUT-006)."""

import json

from _serve import run

run(
    lambda request: (
        json.dumps({"id": request["id"] + 100, "ok": True, "result": {}}).encode() + b"\n"
    )
)
