"""Hostile evidence bundles: whatever a bundle file holds, the verifier answers valid or an
IOME-EVB id, never another exception (spec/evidence.md). Hypothesis replaces any member of a
valid bundle, at any depth, with arbitrary JSON, and feeds whole arbitrary documents."""

from __future__ import annotations

import copy
from typing import Any

from evidence_world import evidence_ledger
from hypothesis import given
from hypothesis import strategies as st

from iome_ref.errors import Rejected
from iome_ref.rules.evidence import EVB_ORDER, verify_bundle

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _judge(document: object) -> None:
    ledger = evidence_ledger()
    try:
        verify_bundle(document, ledger.world.directory.root)
        found = None
    except Rejected as exc:
        found = exc.req_id
    assert found is None or found in EVB_ORDER, found


@given(data=st.data(), name=st.sampled_from(["trip", "anchor", "session", "commitment"]))
def test_any_member_replaced_gives_a_verdict(data: st.DataObject, name: str) -> None:
    bundle = copy.deepcopy(evidence_ledger().bundle(name))
    path = data.draw(st.sampled_from(_paths(bundle)[1:]), label="member")
    target: Any = bundle
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = data.draw(_JSON, label="value")
    _judge(bundle)


@given(document=_JSON)
def test_any_document_gives_a_verdict(document: object) -> None:
    _judge(document)
