"""Declares a manifest without the core op reopen (IOME-IUT-007)."""

import json
import sys

manifest = {
    "spec_version": "1.0.0",
    "implementation": "partial",
    "roles": [],
    "chain_kinds": ["public"],
    "ops": ["hello", "reset", "submit_tx"],
}
for line in sys.stdin.buffer:
    request = json.loads(line)
    sys.stdout.write(json.dumps({"id": request["id"], "ok": True, "result": manifest}) + "\n")
    sys.stdout.flush()
