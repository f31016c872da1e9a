"""Answers every request after hello with a line that is not JSON (IOME-IUT-005)."""

import sys

from _serve import run

run(lambda request: (sys.stderr.write("about to garble\n"), b"<html>oops</html>\n")[1])
