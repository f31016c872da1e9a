"""Spec, code and tests meet at the requirement id (STYLE §5).

Every id defined in spec/*.md is enforced by exactly one registered function, every id the
code names is defined, and every id has an accepting and a rejecting check: a vector, or a
test marked ``@pytest.mark.req``. A test named ``test_accepts_*`` counts as accepting, any
other marked test as rejecting; a valid vector counts as accepting for every id its file
rejects with.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from collections import defaultdict
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


def _marked_tests() -> dict[str, set[str]]:
    """id -> {"accept", "reject"} from @pytest.mark.req on test functions, read statically."""
    kinds: dict[str, set[str]] = defaultdict(set)
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr == "req"
                ):
                    kind = "accept" if node.name.startswith("test_accepts") else "reject"
                    for arg in decorator.args:
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                            kinds[arg.value].add(kind)
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
