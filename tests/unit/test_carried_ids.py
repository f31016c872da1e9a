"""Canonical bytes and tx id are computed once per object and carried with it (issue 16),
and a carried value never outlives a change of what it was computed from."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from helpers import vector_messages
from hypothesis import given
from hypothesis import strategies as st

import iome_ref.models.base as base_module
import iome_ref.rules.encoding as encoding_rules
from iome_ref.constants import MAX_SAFE_INT
from iome_ref.encoding import canonical_json
from iome_ref.errors import IoMEError, Rejected
from iome_ref.models import ESDP, SignedModel
from iome_ref.rules import check_stateless
from iome_ref.rules.encoding import check_signatures, check_tx_id, signature_checks
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import build_world

B = Builder(build_world(7))


def as_received(tx: SignedModel) -> SignedModel:
    return type(tx).parse(tx.model_dump(mode="json"))


def test_accepts_hashing_each_object_once_across_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    original = base_module.compute_hash

    def counting(value: bytes) -> str:
        calls.append(value)
        return original(value)

    built = B.charge()
    monkeypatch.setattr(base_module, "compute_hash", counting)
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


def test_accepts_verifying_each_object_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []
    original = encoding_rules.verify

    def counting(*args: str) -> None:
        calls.append(args)
        original(*args)

    monkeypatch.setattr(encoding_rules, "verify", counting)
    tx = as_received(B.charge())
    assert not tx.signatures_verified
    check_signatures(tx)
    check_stateless(tx)
    assert tx.signatures_verified
    assert len(calls) == 2  # two signatures, verified once
    assert not as_received(tx).signatures_verified  # a parsed copy is a new object


@pytest.mark.req("IOME-SIG-001")
def test_rejects_a_copy_with_another_signature_after_the_original_verified() -> None:
    tx = as_received(B.charge())
    check_signatures(tx)
    forged = tx.model_copy(update={"vehicle_sig": tx.station_sig})
    assert not forged.signatures_verified
    with pytest.raises(Rejected) as info:
        check_signatures(forged)
    assert info.value.req_id == "IOME-SIG-001"
    assert not forged.signatures_verified
    with pytest.raises(Rejected):
        check_signatures(forged)  # a refusal is not remembered as a pass


def test_accepts_signature_checks_in_verification_order() -> None:
    trip = B.trip()
    checks = signature_checks(trip)
    assert [tag for _, _, tag, _ in checks] == ["Trip", "Trip"]
    assert [key for key, _, _, _ in checks] == [s.verifier_pk for s in trip.verifier_sigs]
    presence = B.presence("source", "st-a", "ev-9/otk-1", 100)
    assert signature_checks(presence) == [
        (presence.station_pk, presence.station_sig, "Presence", presence.tx_id),
        (presence.station_pk, presence.station_pk_sig, "Presence.pk", presence.one_time_pk),
    ]


def vector_models() -> list[SignedModel]:
    """Every transaction of the committed vectors that parses as a model (forged ones too),
    with the transactions of every block."""
    found: list[SignedModel] = []
    for _, model in vector_messages():
        if isinstance(model, SignedModel):
            found.append(model)
        found.extend(getattr(model, "txs", ()))
    return found


def by_model_dump(tx: SignedModel) -> bytes:
    """The canonical bytes as defined: RFC 8785 of the dump without the unsigned fields."""
    return canonical_json(tx.model_dump(mode="json", exclude=set(tx.unsigned_fields())))


def test_accepts_canonical_bytes_written_member_by_member_as_by_the_dump() -> None:
    """The member-by-member writer (``_member_writer``) is byte for byte RFC 8785 of the
    model's dump, on every vector transaction and on objects with non-ASCII text, None and
    list fields (which it hands to the general path or writes through canonical_json)."""
    models = vector_models()
    assert len({type(m) for m in models}) >= 12
    extra = [
        B.esdp(),
        B.od_matrix([B.trip()]),
        B.anchor(0, "ab" * 32, None, 100),
        B.external("a", "b"),
    ]
    for tx in [*models, *extra]:
        fresh = as_received(tx)
        assert fresh.canonical_bytes() == by_model_dump(fresh), type(tx).__name__
    written = 0
    for tx in models:
        members = base_module._signed_members_of(type(tx))
        direct = base_module._member_writer(members)(tx.__dict__)
        if direct is not None:
            written += 1
            assert direct == by_model_dump(tx)
    assert written > len(models) // 2  # the fast path is the usual one


def test_accepts_falling_back_for_values_that_are_not_plain() -> None:
    members = ("a", "b")
    assert base_module._member_writer(members)({"a": "é", "b": 1}) is None
    assert base_module._member_writer(members)({"a": 2**60, "b": 1}) is None
    assert base_module._member_writer(members)({"a": 1.5, "b": 1}) is None
    assert base_module._member_writer(members)({"a": True, "b": None}) == b'{"a":true,"b":null}'
    assert base_module._member_writer(members)({"a": [1, "x"], "b": "\u007f\n"}) == (
        canonical_json({"a": [1, "x"], "b": "\u007f\n"})
    )


_MEMBER_NAMES = ("a", "b_c", "tx", "type", "z9")
_PLAIN = (
    st.text(max_size=12)
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.sampled_from([None, True, False, MAX_SAFE_INT, -MAX_SAFE_INT, 1.5])
)
_VALUES = st.recursive(
    _PLAIN,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


@given(st.fixed_dictionaries(dict.fromkeys(_MEMBER_NAMES, _VALUES)))
def test_accepts_the_generated_writer_exactly_where_rfc_8785_agrees(values: dict[str, Any]) -> None:
    """The generated member writer either steps aside (None: the caller takes the general
    path) or writes RFC 8785's bytes; it steps aside only for what is not plain (a float,
    an unsafe integer, non-ASCII text), so the fast path is the usual one."""
    members = tuple(sorted(_MEMBER_NAMES))
    written = base_module._member_writer(members)(values)
    try:
        expected: bytes | None = canonical_json(values)
    except IoMEError:
        expected = None  # a float or unsafe integer: the general path refuses or writes it
    if written is not None:
        assert written == expected
    plain = canonical_json_plain(values)
    assert (written is None) == (not plain)


def canonical_json_plain(value: object) -> bool:
    """Whether ``value`` holds only ASCII text, safe integers, booleans, None, lists, dicts."""
    if isinstance(value, str):
        return value.isascii()
    if type(value) is int:
        return -MAX_SAFE_INT <= value <= MAX_SAFE_INT
    if value is None or type(value) is bool:
        return True
    if isinstance(value, list):
        return all(canonical_json_plain(item) for item in value)
    if isinstance(value, dict):
        return all(canonical_json_plain(k) and canonical_json_plain(v) for k, v in value.items())
    return False


def _transaction_classes() -> list[type[SignedModel]]:
    found, todo = [], list(SignedModel.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_accepts_each_parsed_transaction_with_its_own_carried_defaults() -> None:
    """Every transaction class parses with the private attributes at their defaults, one dict
    per instance (the post-init hook that replaces pydantic's), and a copy or unpickled object
    keeps what it carries; a carried value never leaks from one instance to another."""
    seen: dict[str, SignedModel] = {}
    for tx in vector_models():
        fresh, other = type(tx).parse(tx.model_dump(mode="json")), as_received(tx)
        assert fresh.__pydantic_private__ == dict(base_module._private_defaults(type(tx)))
        assert fresh.__pydantic_private__ is not other.__pydantic_private__
        fresh.compute_tx_id()
        assert other.__pydantic_private__["_computed_tx_id"] is None
        seen[type(tx).__name__] = fresh
    assert len(seen) >= 12
    assert set(seen) <= {cls.__name__ for cls in _transaction_classes()}
    for fresh in seen.values():
        kept = pickle.loads(pickle.dumps(fresh))
        computed = fresh.compute_tx_id()
        assert kept.__pydantic_private__["_computed_tx_id"] == computed
        assert copy.copy(fresh).__pydantic_private__["_computed_tx_id"] == computed
