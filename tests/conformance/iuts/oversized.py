"""Answers every request after hello with a line longer than the harness's limit
(IOME-IUT-002): two megabytes of one string."""

import json

from _serve import run

run(
    lambda request: (
        json.dumps({"id": request["id"], "ok": True, "result": {"x": "a" * (2 << 20)}}).encode()
        + b"\n"
    )
)
