"""Tests of iome_ref/chain/context.py: the genesis a store records reloads to the same context.

A node reopening its store, and ``iome ledger verify``, judge under the context rebuilt by
``ChainContext.from_genesis``; anything lost or changed on that round trip would change
verdicts, and a document that is not a genesis must be a ``UsageError("genesis")``.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from iome_ref.chain.context import GENESIS_FORMAT, ChainContext
from iome_ref.constants import TRIP_QUORUM
from iome_ref.errors import UsageError
from iome_ref.pki import CertificateDirectory
from iome_ref.vectors.world import build_world


@cache
def _directory() -> CertificateDirectory:
    return build_world(3).directory


def _document(context: ChainContext) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(context.genesis())
    return decoded


def test_accepts_genesis_round_trip_keeping_zero_unreachable_and_quorum() -> None:
    # A zero travel time (a station to itself) is reachable; a pair absent is not; the quorum
    # is not the default one, so a reload that dropped it would show.
    travel = {("st-a", "st-a"): 0, ("st-a", "st-b"): 1_200, ("st-b", "st-c"): 7}
    context = ChainContext(_directory(), travel, quorum=TRIP_QUORUM + 1)
    document = _document(context)
    assert document["format"] == GENESIS_FORMAT
    assert document["travel"] == {
        "stations": ["st-a", "st-b", "st-c"],
        "seconds": [[0, 1_200, -1], [-1, -1, 7], [-1, -1, -1]],
    }
    reloaded = ChainContext.from_genesis(document)
    assert dict(reloaded.travel) == travel
    assert reloaded.quorum == TRIP_QUORUM + 1
    assert reloaded.travel_time("st-a", "st-a") == 0
    assert reloaded.travel_time("st-a", "st-b") == 1_200
    assert reloaded.travel_time("st-b", "st-a") is None
    assert reloaded.genesis() == context.genesis()


def test_accepts_quorum_of_one() -> None:
    context = ChainContext(_directory(), {}, quorum=1)
    assert ChainContext.from_genesis(_document(context)).quorum == 1


def _edited(**changes: Any) -> dict[str, Any]:
    document = _document(ChainContext(_directory(), {("st-a", "st-b"): 60}))
    for key, value in changes.items():
        if value is None:
            del document[key]
        else:
            document[key] = value
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_edited(format="iome-genesis/2"), "format must be 'iome-genesis/1'"),
        (_edited(format=None), "format must be 'iome-genesis/1'"),
        (_edited(quorum=0), "quorum must be a positive integer, found 0"),
        (_edited(quorum=True), "quorum must be a positive integer, found True"),
        (_edited(quorum="2"), "quorum must be a positive integer, found '2'"),
        (_edited(quorum=None), "not a genesis configuration: KeyError('quorum')"),
        (_edited(travel=None), "not a genesis configuration: KeyError('travel')"),
        # One row fewer than stations: the matrix does not describe the stations listed.
        (
            _edited(travel={"stations": ["st-a", "st-b"], "seconds": [[-1, 60]]}),
            "not a genesis configuration: ValueError(",
        ),
        (
            _edited(travel={"stations": ["st-a", "st-b"], "seconds": [[-1, "x"], [-1, -1]]}),
            "not a genesis configuration: ValueError(",
        ),
        (_edited(pki={"root": "x"}), "the genesis PKI is unusable: IOME-CERT-001: "),
    ],
)
def test_rejects_document_that_is_no_genesis(document: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as info:
        ChainContext.from_genesis(document)
    assert info.value.component == "genesis"
    assert info.value.message.startswith(message)
