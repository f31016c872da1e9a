"""Drive a vector case through any IUT, as the conformance runner does: reset with the case's
genesis, submit its setup blocks, then submit, judge or reopen its input.

Kept in tests (the runner of ``iome conform`` has its own): these tests pin that the
reference answers every case identically in process and over stdio.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from iome_ref.conformance.iut import IUT, Refused
from iome_ref.vectors.generate import VECTOR_FILES
from iome_ref.vectors.runner import run_case
from iome_ref.vectors.spec_index import default_spec_dir

Verdict = tuple[str, str | None, list[str]]


def load_cases() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(case id, file context, case) for every committed vector case."""
    found = []
    for stem in VECTOR_FILES:
        path = Path(default_spec_dir()) / "vectors" / f"{stem}.json"
        document = json.loads(path.read_text("utf-8"))
        found.extend((case["id"], document["context"], case) for case in document["cases"])
    return found


def run_case_on(iut: IUT, context: dict[str, Any], case: dict[str, Any]) -> Verdict:
    """(expected, req_id, sorted new evidence codes) the IUT reaches on ``case``."""
    genesis = dict(case.get("context") or context)
    if case.get("pki") is not None:
        genesis["pki"] = case["pki"]
    try:
        iut.reset(0, genesis, {})
    except Refused as exc:  # a genesis PKI the implementation refuses is the case's verdict
        return "invalid", exc.code, []
    for block in case.get("setup", []):
        iut.submit_block(block["chain_id"], block=block)
    before = len(iut.evidence()["evidence"])
    chain, block_time = case.get("chain", "public"), case.get("block_time", 0)
    try:
        if case.get("stored"):
            iut.reopen(case["stored"])
        elif case.get("input_text") is not None:
            text = case["input_text"] + " " * case.get("pad", 0)
            iut.submit_tx(chain, text=text, block_time=block_time)
        else:
            iut.submit_tx(chain, tx=case["input"], block_time=block_time)
    except Refused as exc:
        verdict: tuple[str, str | None] = ("invalid", exc.code)
    else:
        verdict = ("valid", None)
    evidence = sorted(row["code"] for row in iut.evidence()["evidence"][before:])
    return (*verdict, evidence)


def expected_verdict(context: dict[str, Any], case: dict[str, Any]) -> Verdict:
    """The case's expected verdict and id, with the evidence the vector runner records.

    Evidence is compared with the runner's rather than the case's member: blocks-016 on main
    lists none while the reference records IOME-BLK-009 (reported to the lead); the point
    here is that the IUT path answers exactly what the runner does.
    """
    recorded = run_case(context, case).evidence
    return case["expected"], case["req_id"], sorted(recorded)
