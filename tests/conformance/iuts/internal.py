"""Answers every request after hello with an internal failure (IOME-IUT-010)."""

import json

from _serve import run

run(
    lambda request: (
        json.dumps(
            {
                "id": request["id"],
                "ok": False,
                "error": {"code": "IOME-IUT-010", "message": "out of memory"},
            }
        ).encode()
        + b"\n"
    )
)
