"""Run mutmut on chosen files of the reference, then print the kill rate of each file.

Usage (from the repository root; see README "Mutation testing"):

    uv run python tests/mutation/run.py iome_ref/crypto.py iome_ref/merkle.py
    uv run python tests/mutation/run.py "iome_ref/rules/*" --tests tests/unit tests/conformance
    uv run python tests/mutation/run.py --report            # rates of the last run only
    uv run python tests/mutation/run.py iome_ref/pki/profile.py --mutants "*check_path_length*"

Why a wrapper rather than bare ``mutmut run``: two things mutmut does by default would hide
mutants of exactly the code we care most about.

1. mutmut never mutates a decorated function (its trampoline would copy the decorator, and a
   decorator runs at import). Every rule is decorated with ``@enforces(...)`` and several
   checks with ``@functools.lru_cache``. Both are safe to keep on the trampoline alone:
   ``enforces`` registers the trampoline (``functools.wraps`` keeps the rule's qualified name),
   and a cache on the trampoline sees every mutant once cleared (point 2). So this wrapper
   lets such functions be mutated and strips those decorators from the copies mutmut makes
   (``x__mutmut_orig``, ``x__mutmut_1``, ...), which would otherwise register one id twice.
2. Each mutant runs in a worker forked from a process that already ran the tests, so a warm
   ``lru_cache`` would answer with the original code's result. ``tests/conftest.py`` clears
   every cache of ``iome_ref`` when a session starts under ``MUTANT_UNDER_TEST``.

The files to mutate override ``only_mutate`` of ``[tool.mutmut]`` in pyproject.toml, and
``--tests`` its test selection; everything else (pytest arguments, copied folders) is read
from there. Results stay in ``mutants/`` (ignored by git); ``--report`` reads them.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Decorators that may stay on the trampoline only (module docstring, point 1).
TRAMPOLINE_ONLY = frozenset({"enforces", "lru_cache", "cache"})


def _decorator_name(decorator: object) -> str | None:
    import libcst as cst  # noqa: PLC0415 - mutmut's dependency, loaded only here

    node = decorator.decorator  # type: ignore[attr-defined]
    if isinstance(node, cst.Call):
        node = node.func
    if isinstance(node, cst.Attribute):
        return str(node.attr.value)
    return str(node.value) if isinstance(node, cst.Name) else None


def _only_trampoline_decorators(function: object) -> bool:
    decorators = getattr(function, "decorators", ())
    return bool(decorators) and all(_decorator_name(d) in TRAMPOLINE_ONLY for d in decorators)


def patch_mutmut() -> None:
    """Let mutmut mutate functions decorated only with ``TRAMPOLINE_ONLY`` decorators."""
    import libcst as cst  # noqa: PLC0415
    from libcst.metadata import PositionProvider  # noqa: PLC0415
    from mutmut.mutation import file_mutation as fm  # noqa: PLC0415

    skip = fm.MutationVisitor._skip_node_and_children

    def skip_node_and_children(self: fm.MutationVisitor, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.FunctionDef) and _only_trampoline_decorators(node):
            # mutmut's own checks for a function, less the one refusing decorators.
            position = self.get_metadata(PositionProvider, node, None)
            if position and position.start.line in self._ignored_node_lines:
                self.ignored_functions.add(node.name.value)
                return True
            return node.name.value in fm.NEVER_MUTATE_FUNCTION_NAMES
        return skip(self, node)

    arrange = fm.function_trampoline_arrangement

    def function_trampoline_arrangement(function, mutants, class_name):  # type: ignore[no-untyped-def]
        declarations, methods, assignments, names = arrange(function, mutants, class_name)
        if _only_trampoline_decorators(function):
            # methods[0] is the trampoline; the copies must not register or cache again.
            methods = [methods[0], *(m.with_changes(decorators=[]) for m in methods[1:])]
        return declarations, methods, assignments, names

    fm.MutationVisitor._skip_node_and_children = skip_node_and_children  # type: ignore[method-assign]
    fm.function_trampoline_arrangement = function_trampoline_arrangement


def report(patterns: list[str]) -> int:
    """Print killed / survived / other per mutated file; return the survivors' count."""
    from mutmut.stats import status_by_exit_code  # noqa: PLC0415

    total_survived = 0
    rows = []
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        source = meta.relative_to(ROOT / "mutants").as_posix().removesuffix(".meta")
        if patterns and not any(fnmatch.fnmatch(source, p) for p in patterns):
            continue
        codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
        counts = Counter(status_by_exit_code[code] for code in codes.values())
        if not codes:
            continue
        killed = counts["killed"] + counts["timeout"] + counts["caught by type check"]
        judged = sum(counts.values()) - counts["not checked"] - counts["skipped"]
        total_survived += counts["survived"]
        rate = 100.0 * killed / judged if judged else 0.0
        rows.append((source, len(codes), killed, counts["survived"], counts["no tests"], rate))
    print(
        f"{'file':<36} {'mutants':>7} {'killed':>7} {'survived':>8} {'no tests':>8} {'kill %':>7}"
    )
    for source, n, killed, survived, untested, rate in rows:
        print(f"{source:<36} {n:>7} {killed:>7} {survived:>8} {untested:>8} {rate:>6.1f}%")
    return total_survived


def _forget_unmutated_copies(patterns: list[str]) -> None:
    """Delete mutants/ copies of chosen files that an earlier run copied without mutating.

    A run that did not choose a file still copies it into mutants/ (unmutated, no ``.meta``);
    mutmut then sees it as unmodified and never mutates it when a later run chooses it. Its
    cached map of which tests call which function lacks the file's functions too (every
    mutant would be "no tests"), so the map goes with it and is collected afresh.
    """
    forgot = False
    for copy in (ROOT / "mutants").rglob("*.py"):
        source = copy.relative_to(ROOT / "mutants").as_posix()
        chosen = any(fnmatch.fnmatch(source, pattern) for pattern in patterns)
        if chosen and not copy.with_name(copy.name + ".meta").exists():
            copy.unlink()
            forgot = True
    if forgot:
        (ROOT / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="files or globs under iome_ref/ to mutate")
    parser.add_argument("--tests", nargs="+", help="test paths to run (default: pyproject)")
    parser.add_argument("--max-children", type=int, default=None)
    parser.add_argument(
        "--mutants",
        nargs="+",
        default=[],
        help="judge only these mutant names or globs (mutmut run's arguments), e.g. "
        "'iome_ref.pki.revocation.x_check_crl_profile__mutmut_*'",
    )
    parser.add_argument("--report", action="store_true", help="only print the last results")
    args = parser.parse_args()
    os.chdir(ROOT)
    if args.report:
        report(args.paths)
        return
    # Shared data (Wycheproof) lies beside the clone; mutants/ is one level deeper.
    os.environ.setdefault("IOME_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    patch_mutmut()
    from mutmut import configuration  # noqa: PLC0415
    from mutmut.__main__ import cli  # noqa: PLC0415

    config = configuration.config()
    if args.paths:
        config.only_mutate = list(args.paths)
        _forget_unmutated_copies(args.paths)
    if args.tests:
        config.pytest_add_cli_args_test_selection = list(args.tests)
    argv = ["run"] + (
        [] if args.max_children is None else ["--max-children", str(args.max_children)]
    )
    argv += args.mutants
    try:
        cli(argv, standalone_mode=False)
    finally:
        report(list(args.paths))


if __name__ == "__main__":
    sys.exit(main())
