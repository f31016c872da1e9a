"""Canonical bytes and tx id are computed once per object and carried with it (issue 16),
and a carried value never outlives a change of what it was computed from."""

from __future__ import annotations

import copy
import pickle

import pytest

import iome_ref.models.base as base_module
from iome_ref.errors import Rejected
from iome_ref.models import ESDP, SignedModel
from iome_ref.rules import check_stateless
from iome_ref.rules.encoding import check_tx_id
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import build_world

B = Builder(build_world(7))


def as_received(tx: SignedModel) -> SignedModel:
    return type(tx).parse(tx.model_dump(mode="json"))


def test_accepts_hashing_each_object_once_across_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    original = base_module.canonical_json

    def counting(value: object) -> bytes:
        calls.append(value)
        return original(value)  # type: ignore[arg-type]

    built = B.charge()
    monkeypatch.setattr(base_module, "canonical_json", counting)
    tx = as_received(built)
    for _ in range(3):
        check_stateless(tx)
        check_tx_id(tx)
    assert tx.compute_tx_id() == tx.tx_id
    assert len(calls) == 1


@pytest.mark.req("IOME-ENC-011")
def test_rejects_a_copy_whose_signed_field_changed() -> None:
    """A carried tx id must not survive an update of a signed field: else a tampered copy of
    a checked object would pass IOME-ENC-011 on its parent's hash."""
    tx = B.esdp()
    check_tx_id(tx)
    tampered = tx.model_copy(update={"supply_wh": tx.supply_wh + 1})
    assert tampered.compute_tx_id() != tx.tx_id
    with pytest.raises(Rejected) as info:
        check_tx_id(tampered)
    assert info.value.req_id == "IOME-ENC-011"


@pytest.mark.req("IOME-ENC-011")
def test_accepts_a_copy_that_only_changes_unsigned_fields() -> None:
    tx = B.esdp()
    resigned = tx.model_copy(update={"signature": "00" * 64})
    assert resigned.canonical_bytes() is tx.canonical_bytes()  # carried, not recomputed
    check_tx_id(resigned)
    renamed = tx.model_copy(update={"tx_id": "ab" * 32})
    with pytest.raises(Rejected) as info:
        check_tx_id(renamed)
    assert info.value.req_id == "IOME-ENC-011"


def test_accepts_equality_regardless_of_what_is_carried() -> None:
    tx = B.esdp()
    fresh = as_received(tx)
    assert fresh._canonical is None
    assert tx._canonical is not None
    assert fresh == tx
    assert hash(fresh) == hash(tx)
    assert not (fresh != tx)  # noqa: SIM202 - __ne__ must follow __eq__
    assert tx != B.esdp(supply_wh=1)
    assert tx != B.charge()
    assert tx.__eq__(object()) is NotImplemented
    for clone in (copy.copy(tx), copy.deepcopy(tx), pickle.loads(pickle.dumps(tx))):
        assert clone == tx
        assert clone.compute_tx_id() == tx.tx_id
    assert isinstance(tx, ESDP)
