"""A copy of a transaction with a signed field changed is judged on its own content."""

from __future__ import annotations

from typing import Any

import pytest

from iome_ref.constants import MAX_SAFE_INT
from iome_ref.encoding import canonical_json, compute_hash
from iome_ref.errors import Rejected
from iome_ref.models import ESDP, SignedModel
from iome_ref.models import base as base_module
from iome_ref.rules.encoding import check_tx_id
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, build_world

B = Builder(build_world(12))


def canonical_hash(tx: SignedModel) -> str:
    """IOME-ENC-011's hash as defined: RFC 8785 of the dump without the unsigned fields."""
    return compute_hash(
        canonical_json(tx.model_dump(mode="json", exclude=set(tx.unsigned_fields())))
    )


@pytest.mark.req("IOME-ENC-011")
def test_rejects_a_copy_with_a_signed_field_changed_naming_its_own_hash() -> None:
    """The original's id, computed and carried, must not travel to a copy whose signed
    content differs: the copy's refusal names the hash of the copy's own bytes."""
    esdp = B.esdp("copy-home", T0 + 3600)
    tx = type(esdp).parse(esdp.model_dump(mode="json"))
    check_tx_id(tx)  # computes and carries the id
    changed = tx.model_copy(update={"window_end": tx.window_end + 60})
    expected = canonical_hash(changed)
    assert expected != tx.tx_id
    assert changed.compute_tx_id() == expected
    with pytest.raises(Rejected) as info:
        check_tx_id(changed)
    assert info.value.req_id == "IOME-ENC-011"
    assert info.value.message == f"tx_id is {tx.tx_id}, canonical hash is {expected}"
    # Only an unsigned field changed: the carried id still holds.
    relabelled = tx.model_copy(update={"tx_id": "cd" * 32})
    assert relabelled.compute_tx_id() == tx.tx_id == canonical_hash(relabelled)


@pytest.mark.parametrize(
    "values",
    [
        {"a": False, "b": MAX_SAFE_INT},
        {"a": True, "b": -MAX_SAFE_INT},
        {"a": None, "b": ["x", 0, False]},
    ],
)
def test_accepts_members_written_one_by_one_as_rfc_8785_writes_them(values: dict[str, Any]) -> None:
    """Booleans and the integers at the safe range's two ends, written member by member, are
    RFC 8785's bytes (what canonical_bytes returns for a model holding them)."""
    members = ("a", "b")
    assert base_module._member_writer(members)(values) == canonical_json(values)


def test_rejects_a_model_whose_field_names_are_not_ascii() -> None:
    """Members are written as ``"name":`` and sorted by code point, which is RFC 8785's
    order only for ASCII names: a model with any other name is refused when first written."""

    class Accented(ESDP):
        café: int = 0  # noqa: PLC2401 - the point of the test

    with pytest.raises(TypeError, match=r"^Accented: field names must be ASCII identifiers$"):
        base_module._signed_members_of(Accented)
