"""Dies with a message on stderr on the first request after hello (IOME-IUT-005)."""

import sys

from _serve import run


def crash(request: dict) -> None:
    sys.stderr.write("fatal: cannot judge anything\n")
    sys.stderr.flush()
    sys.exit(3)


run(crash)
