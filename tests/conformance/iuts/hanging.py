"""Forks a sleeping child, then never answers after hello (IOME-IUT-009)."""

import subprocess
import sys
import time

from _serve import run

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
sys.stderr.write(f"child {child.pid} started\n")
sys.stderr.flush()


def hang(request: dict) -> None:
    time.sleep(600)


run(hang)
