"""Spec, code and tests meet at the requirement id (STYLE §5).

Every id defined in spec/*.md is enforced by exactly one registered function, every id the
code names is defined, and every id has an accepting and a rejecting check: a vector, or a
test marked ``@pytest.mark.req``. A test named ``test_accepts_*`` counts as accepting; a valid
vector counts as accepting for every id its file rejects with.

A marked test counts as rejecting for an id only where it *asserts* that id (issue 12 §7: a
marker alone proves nothing, and a test marked CERT-004 once asserted CERT-002). Read
statically, an id is asserted by a test when it is

- passed to ``rejects(...)`` / ``malformed(...)`` from ``tests/helpers.py``, or written inside
  an ``assert`` statement of the test (``assert info.value.req_id == "IOME-..."``), or
- the test asserts ids it does not spell out (``rejects(req_id)``, ``assert exc.req_id ==
  expected``) and the id is written in its ``parametrize`` decorators, its body, or the body of
  a function of the same module it calls (a table of cases).

A marked test that asserts none of the ways above for one of its ids fails
``test_marked_tests_assert_their_ids``.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

import iome_ref
from iome_ref.requirements import ENFORCERS, enforces
from iome_ref.vectors.spec_index import default_spec_dir, load_requirements

ROOT = Path(__file__).resolve().parents[1]
ID = re.compile(r"IOME-[A-Z]+-\d{3}")
DEFINED = set(load_requirements(default_spec_dir()))

# Import every module of the reference so every enforcer is registered.
for _module in pkgutil.walk_packages(iome_ref.__path__, "iome_ref."):
    importlib.import_module(_module.name)


#: Helpers of tests/helpers.py whose first argument is the id a refusal must carry.
_ASSERTING_HELPERS = frozenset({"rejects", "malformed"})


def _literal_ids(node: ast.AST) -> set[str]:
    return {
        match
        for child in ast.walk(node)
        if isinstance(child, ast.Constant) and isinstance(child.value, str)
        for match in ID.findall(child.value)
    }


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _reads_req_id(node: ast.AST) -> bool:
    """Reads a refusal's id: ``x.req_id``, or a variable named ``req_id`` (a helper checking
    the id an implementation error's message names, as the stdio adapter tests do)."""
    return any(
        (isinstance(n, ast.Attribute) and n.attr == "req_id")
        or (isinstance(n, ast.Name) and n.id == "req_id")
        for n in ast.walk(node)
    )


@dataclass(frozen=True)
class Module:
    """The top-level definitions of one test module the reader follows from a test."""

    functions: dict[str, ast.AST]
    classes: dict[str, ast.ClassDef]
    constants: dict[str, ast.AST]

    @classmethod
    def parse(cls, tree: ast.Module) -> Module:
        constants: dict[str, ast.AST] = {}
        for node in tree.body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and node.value is not None:
                        constants[target.id] = node.value
        return cls(
            functions={
                node.name: node
                for node in tree.body
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            },
            classes={node.name: node for node in tree.body if isinstance(node, ast.ClassDef)},
            constants=constants,
        )

    def scope(self, test: ast.AST) -> list[ast.AST]:
        """``test``, the module functions it calls (transitively) and, for a class, its bases
        defined in the module: the code whose assertions are the test's."""
        seen: list[ast.AST] = []
        pending = [test]
        while pending:
            node = pending.pop()
            if any(node is done for done in seen):
                continue
            seen.append(node)
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    root = base
                    while isinstance(root, ast.Attribute):
                        root = root.value
                    if isinstance(root, ast.Name) and root.id in self.classes:
                        pending.append(self.classes[root.id])
            for child in ast.walk(node):
                if isinstance(child, ast.Call) and (name := _called_name(child)) in self.functions:
                    pending.append(self.functions[name])
        return seen


def _asserted_ids(test: ast.AST, module: Module) -> set[str]:
    """The ids ``test`` asserts a refusal carries (module docstring)."""
    scope = module.scope(test)
    id_readers = {name for name, fn in module.functions.items() if _reads_req_id(fn)}
    asserted: set[str] = set()
    dynamic = False
    for node in scope:
        for child in ast.walk(node):
            if isinstance(child, ast.Assert):
                literal = _literal_ids(child)
                for name in ast.walk(child):
                    if isinstance(name, ast.Name) and name.id in module.constants:
                        literal |= _literal_ids(module.constants[name.id])
                asserted |= literal
                # An assert on a refusal's id that spells none compares it with a variable.
                dynamic = dynamic or (
                    not literal
                    and (
                        _reads_req_id(child)
                        or any(
                            isinstance(c, ast.Call) and _called_name(c) in id_readers
                            for c in ast.walk(child)
                        )
                    )
                )
            elif isinstance(child, ast.Call) and _called_name(child) in _ASSERTING_HELPERS:
                first = child.args[0] if child.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    asserted |= set(ID.findall(first.value))
                else:
                    dynamic = True
    if dynamic:
        for node in scope:
            asserted |= _literal_ids(node)
    return asserted


@dataclass(frozen=True)
class MarkedTest:
    """One test function or class marked ``@pytest.mark.req``, as read from its source."""

    where: str
    ids: frozenset[str]
    accepting: bool
    asserted: frozenset[str]


def _req_marker_ids(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> set[str]:
    ids: set[str] = set()
    for decorator in node.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == "req"
        ):
            ids |= {
                arg.value
                for arg in decorator.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            }
    return ids


def _read_marked_tests() -> list[MarkedTest]:
    found: list[MarkedTest] = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        module = Module.parse(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            ids = _req_marker_ids(node)
            if not ids:
                continue
            found.append(
                MarkedTest(
                    where=f"{path.relative_to(ROOT)}::{node.name}",
                    ids=frozenset(ids),
                    accepting=node.name.startswith("test_accepts"),
                    asserted=frozenset(_asserted_ids(node, module)),
                )
            )
    return found


MARKED = _read_marked_tests()


def _marked_tests() -> dict[str, set[str]]:
    """id -> {"accept", "reject"}: accepting tests by name, rejecting ones where asserted."""
    kinds: dict[str, set[str]] = defaultdict(set)
    for test in MARKED:
        for req_id in test.ids:
            if test.accepting:
                kinds[req_id].add("accept")
            elif req_id in test.asserted:
                kinds[req_id].add("reject")
    return kinds


def _vector_checks() -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = defaultdict(set)
    for path in sorted((default_spec_dir() / "vectors").glob("*.json")):
        cases = json.loads(path.read_text("utf-8"))["cases"]
        rejected = {case["req_id"] for case in cases if case["expected"] == "invalid"}
        # An evidence rule fails by being recorded (chains.md: ANC-005, REV-003).
        rejected |= {req_id for case in cases for req_id in case.get("evidence", [])}
        has_valid = any(case["expected"] == "valid" for case in cases)
        for req_id in rejected:
            kinds[req_id].add("reject")
            if has_valid:
                kinds[req_id].add("accept")
    return kinds


def test_spec_defines_at_least_sixty_ids() -> None:
    assert len(DEFINED) >= 60


def test_every_defined_id_is_enforced() -> None:
    assert sorted(DEFINED - set(ENFORCERS)) == []


def test_rejects_second_enforcer_of_an_id() -> None:
    # "Exactly one" rests on the registry refusing a second enforcer when its module is imported
    # (every module is, above); an overwrite would leave the two tests around this one passing.
    req_id, first = next(iter(ENFORCERS.items()))

    def second() -> None: ...

    with pytest.raises(RuntimeError, match=req_id):
        enforces(req_id)(second)
    assert ENFORCERS[req_id] == first


def test_every_enforced_id_is_defined() -> None:
    assert sorted(set(ENFORCERS) - DEFINED) == []


def test_code_cites_only_defined_ids() -> None:
    cited = {
        match
        for path in (ROOT / "iome_ref").rglob("*.py")
        for match in ID.findall(path.read_text("utf-8"))
    }
    assert sorted(cited - DEFINED) == []


def test_every_id_has_accepting_and_rejecting_check() -> None:
    marked, vectors = _marked_tests(), _vector_checks()
    missing = {
        req_id: sorted(
            {"accept", "reject"} - (marked.get(req_id, set()) | vectors.get(req_id, set()))
        )
        for req_id in sorted(DEFINED)
    }
    assert {k: v for k, v in missing.items() if v} == {}


def test_marked_tests_cite_only_defined_ids() -> None:
    assert sorted(set(_marked_tests()) - DEFINED) == []


def _says_why_no_vector(req_id: str) -> bool:
    """The rule's section in spec/ states ``Vectors: none.`` with the reason."""
    for path in sorted(default_spec_dir().glob("*.md")):
        text = path.read_text("utf-8")
        start = text.find(f"### {req_id}:")
        if start >= 0:
            end = text.find("\n### ", start + 1)
            return "\nVectors: none." in text[start : end if end >= 0 else len(text)]
    return False


def test_every_id_has_a_failing_vector_or_says_why() -> None:
    """An implementer in another language has only the vectors: every rule an input can break
    has a vector that breaks it; a rule no message can reach says so in the spec (issue 12)."""
    failing = {req_id for req_id, kinds in _vector_checks().items() if "reject" in kinds}
    missing = sorted(req_id for req_id in DEFINED - failing if not _says_why_no_vector(req_id))
    assert missing == []
    # And a rule that says it has no vector really has none: the note must not go stale.
    stale = sorted(req_id for req_id in failing & DEFINED if _says_why_no_vector(req_id))
    assert stale == []


def test_marked_tests_assert_their_ids() -> None:
    # A rejecting test marked with an id it never asserts claims coverage it does not give.
    unasserted = sorted(
        f"{test.where}: {req_id}"
        for test in MARKED
        if not test.accepting
        for req_id in sorted(test.ids - test.asserted)
    )
    assert unasserted == []


def test_asserted_ids_reads_helpers_asserts_and_tables() -> None:
    # The reader above decides what counts: pin its three ways on small sources.
    def asserted(source: str) -> set[str]:
        module = Module.parse(ast.parse(source))
        return _asserted_ids(module.functions["test_x"], module)

    assert asserted('def test_x():\n    with rejects("IOME-EPS-004"):\n        f()') == {
        "IOME-EPS-004"
    }
    assert asserted('def test_x():\n    assert g().req_id == "IOME-CERT-002"') == {"IOME-CERT-002"}
    # Marked CERT-004, asserts CERT-002: the mismatch the reader must expose.
    assert "IOME-CERT-004" not in asserted(
        'def test_x():\n    f("IOME-CERT-004")\n    assert g().req_id == "IOME-CERT-002"'
    )
    assert (
        asserted('def test_x():\n    with pytest.raises(Rejected):\n        f("IOME-X-001")')
        == set()
    )
    table = 'def cases():\n    return [("IOME-BLK-001", 1)]\n'
    loop = "def test_x():\n    for req_id, n in cases():\n        assert h(n).req_id == req_id"
    assert asserted(table + loop) == {"IOME-BLK-001"}
    helper = 'def _refuse():\n    assert f().req_id == "IOME-ANC-003"\n'
    assert asserted(helper + "def test_x():\n    _refuse()") == {"IOME-ANC-003"}
