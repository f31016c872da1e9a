"""Decoding untrusted input into models (IOME-ENC-001..012), canonical bytes and tx ids.

Every refusal names the requirement it breaks; every builder object survives the trip
model -> JSON -> decode_message unchanged, and its tx id is the SHA-256 of RFC 8785 bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from samples import build_samples

from iome_ref.constants import MAX_LIST_LEN, MAX_MESSAGE_BYTES, MAX_SAFE_INT
from iome_ref.encoding import canonical_json
from iome_ref.errors import Malformed, Rejected
from iome_ref.models import (
    ESDP,
    MESSAGE_TYPES,
    TRANSACTION_TYPES,
    Block,
    SignedModel,
    decode_message,
)
from iome_ref.rules import check_stateless
from iome_ref.rules.encoding import check_tx_id
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, build_world

_B = Builder(build_world(5))
SAMPLES: dict[str, SignedModel] = build_samples(_B)
BLOCK = _B.block("public", [SAMPLES["ESDP"], SAMPLES["EPS"]], T0 + 5000)


def test_accepts_samples_cover_every_transaction_type() -> None:
    assert set(SAMPLES) == set(TRANSACTION_TYPES)


def wire(value: Any) -> bytes:
    return json.dumps(value).encode()


def dump(name: str) -> dict[str, Any]:
    return (BLOCK if name == "Block" else SAMPLES[name]).model_dump(mode="json")


def malformed(data: bytes | str) -> Malformed:
    with pytest.raises(Malformed) as exc:
        decode_message(data)
    return exc.value


# --- IOME-ENC-002: size ----------------------------------------------------------------


def _padded(size: int) -> bytes:
    """A valid ESDP message padded with insignificant white space to exactly ``size`` bytes."""
    text = wire(dump("ESDP"))
    return text[:-1] + b" " * (size - len(text)) + b"}"


@pytest.mark.req("IOME-ENC-002")
def test_accepts_message_of_exactly_max_bytes() -> None:
    data = _padded(MAX_MESSAGE_BYTES)
    assert len(data) == MAX_MESSAGE_BYTES
    assert decode_message(data) == SAMPLES["ESDP"]


@pytest.mark.req("IOME-ENC-002")
def test_rejects_message_one_byte_over_max() -> None:
    data = _padded(MAX_MESSAGE_BYTES + 1)
    assert len(data) == 1024 * 1024 + 1
    assert malformed(data).req_id == "IOME-ENC-002"


@pytest.mark.req("IOME-ENC-002")
def test_rejects_oversized_input_before_parsing_it() -> None:
    # Not JSON at all: the size limit is what refuses it, before any parser runs.
    assert malformed(b"\xff" * (MAX_MESSAGE_BYTES + 1)).req_id == "IOME-ENC-002"


@pytest.mark.req("IOME-ENC-002")
def test_rejects_text_over_max_counted_in_utf8_bytes() -> None:
    # Fewer characters than the limit, but two UTF-8 bytes each.
    text = '{"type":"ESDP","region":"' + "é" * (MAX_MESSAGE_BYTES // 2) + '"}'
    assert len(text) < MAX_MESSAGE_BYTES < len(text.encode())
    assert malformed(text).req_id == "IOME-ENC-002"


# --- IOME-ENC-001: one I-JSON object ------------------------------------------------------

_DEPTH = 10**5


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("[" * _DEPTH, id="open-arrays"),
        pytest.param("[" * _DEPTH + "]" * _DEPTH, id="closed-arrays"),
        pytest.param('{"a":' * _DEPTH + "1" + "}" * _DEPTH, id="objects"),
        pytest.param(
            '{"type":"ESDP","region":' + "[" * _DEPTH + "]" * _DEPTH + "}", id="inside-a-field"
        ),
    ],
)
@pytest.mark.req("IOME-ENC-001")
def test_rejects_deeply_nested_json_without_recursion_error(data: str) -> None:
    # pytest.raises(Malformed) lets a RecursionError through, which fails the test.
    assert malformed(data).req_id == "IOME-ENC-001"


_VALID_ESDP = wire(dump("ESDP"))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"   ", id="white-space"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'"ESDP"', id="string"),
        pytest.param(b"42", id="number"),
        pytest.param(b"null", id="null"),
        pytest.param(_VALID_ESDP + b"{}", id="two-objects"),
        pytest.param(_VALID_ESDP[:-1], id="truncated"),
        pytest.param(b"\xef\xbb\xbf" + _VALID_ESDP, id="utf8-bom"),
        pytest.param(b'{"type":"ESDP","type":"ESDP"}', id="duplicate-name"),
        pytest.param(b'{"a":{"b":1,"b":1}}', id="duplicate-nested-name"),
        pytest.param(b'{"type":"ESDP","region":"\xc3\x28"}', id="invalid-utf8"),
        pytest.param(b'{"type":"ESDP","region":"\xed\xa0\x80"}', id="utf8-encoded-surrogate"),
        pytest.param(b'{"type":"ESDP","region":"\\ud800"}', id="escaped-lone-surrogate"),
        pytest.param(b'{"\\udfff":1}', id="lone-surrogate-in-name"),
        pytest.param(b'{"type":"ESDP","supply_wh":NaN}', id="nan"),
        pytest.param(b'{"type":"ESDP","supply_wh":-Infinity}', id="infinity"),
        pytest.param(b"{'type':'ESDP'}", id="single-quotes"),
        pytest.param(b'{"type":"ESDP",}', id="trailing-comma"),
    ],
)
@pytest.mark.req("IOME-ENC-001")
def test_rejects_input_that_is_not_one_ijson_object(data: bytes) -> None:
    assert malformed(data).req_id == "IOME-ENC-001"


@pytest.mark.req("IOME-ENC-001")
def test_rejects_duplicate_name_inside_transaction_of_block() -> None:
    text = wire(dump("Block")).replace(b'"supply_wh": ', b'"supply_wh": 1, "supply_wh": ', 1)
    assert malformed(text).req_id == "IOME-ENC-001"


# --- IOME-ENC-003..005: type and field set ------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({}, id="no-type"),
        pytest.param({"type": "Nope"}, id="unknown"),
        pytest.param({"type": "esdp"}, id="wrong-case"),
        pytest.param({"type": "ESDP "}, id="trailing-space"),
        pytest.param({"type": "VerifierSignature"}, id="not-a-message"),
        pytest.param({"type": 5}, id="number"),
        pytest.param({"type": None}, id="null"),
        pytest.param(dump("ESDP") | {"type": ["ESDP"]}, id="list"),
    ],
)
@pytest.mark.req("IOME-ENC-003")
def test_rejects_unknown_type(value: dict[str, Any]) -> None:
    assert malformed(wire(value)).req_id == "IOME-ENC-003"


@pytest.mark.req("IOME-ENC-003")
def test_rejects_unknown_type_of_transaction_in_block() -> None:
    block = dump("Block")
    block["txs"][1]["type"] = "Bogus"
    assert malformed(wire(block)).req_id == "IOME-ENC-003"


def _with_extra_top(name: str) -> dict[str, Any]:
    return dump(name) | {"memo": "hi"}


def _with_extra_nested() -> dict[str, Any]:
    trip = dump("Trip")
    trip["verifier_sigs"][0]["weight"] = 2
    return trip


def _with_extra_in_block() -> dict[str, Any]:
    block = dump("Block")
    block["txs"][0]["memo"] = "hi"
    return block


@pytest.mark.parametrize(
    "value",
    [
        *(pytest.param(_with_extra_top(name), id=name) for name in MESSAGE_TYPES),
        pytest.param(_with_extra_nested(), id="verifier-signature"),
        pytest.param(_with_extra_in_block(), id="tx-in-block"),
    ],
)
@pytest.mark.req("IOME-ENC-004")
def test_rejects_undefined_field(value: dict[str, Any]) -> None:
    assert malformed(wire(value)).req_id == "IOME-ENC-004"


_REQUIRED = [
    (name, field)
    for name, model in MESSAGE_TYPES.items()
    for field, info in model.model_fields.items()
    if field != "type" and info.is_required()
]


@pytest.mark.parametrize(("name", "field"), _REQUIRED, ids=[f"{n}.{f}" for n, f in _REQUIRED])
@pytest.mark.req("IOME-ENC-005")
def test_rejects_missing_field(name: str, field: str) -> None:
    value = dump(name)
    del value[field]
    assert malformed(wire(value)).req_id == "IOME-ENC-005"


@pytest.mark.req("IOME-ENC-005")
def test_accepts_null_previous_anchor_but_not_its_absence() -> None:
    anchor = dump("Anchor")
    assert anchor["prev_anchor_id"] is None
    assert decode_message(wire(anchor)) == SAMPLES["Anchor"]
    del anchor["prev_anchor_id"]
    assert malformed(wire(anchor)).req_id == "IOME-ENC-005"


# --- IOME-ENC-006..010, 012: field kinds ------------------------------------------------------

_HEX = "0123456789abcdef" * 4

_BAD_HEX: list[Any] = [
    _HEX.upper(),
    _HEX[:-1],
    _HEX + "0",
    "0x" + _HEX[2:],
    _HEX[:-1] + "g",
    _HEX + "\n",
    " " + _HEX[1:],
    "",
    5,
    None,
    [_HEX],
]


_HEX_FIELDS = [
    ("ESDP", "issuer_pk"),
    ("ESDP", "signature"),
    ("ESDP", "tx_id"),
    ("EPS", "prev_tx_id"),
    ("Anchor", "prev_anchor_id"),
    ("Block", "prev_hash"),
]
_HEX_CASES = [
    pytest.param(name, field, value, id=f"{name}.{field}={value!r}")
    for name, field in _HEX_FIELDS
    for value in _BAD_HEX
    # null is the first anchor's prev_anchor_id, which is therefore nullable
    if not (value is None and field == "prev_anchor_id")
]


@pytest.mark.parametrize(("name", "field", "value"), _HEX_CASES)
@pytest.mark.req("IOME-ENC-006")
def test_rejects_hex_field_not_lowercase_fixed_length(name: str, field: str, value: Any) -> None:
    assert malformed(wire(dump(name) | {field: value})).req_id == "IOME-ENC-006"


@pytest.mark.req("IOME-ENC-006")
def test_rejects_bad_hex_inside_nested_objects() -> None:
    trip = dump("Trip")
    trip["verifier_sigs"][1]["verifier_pk"] = _HEX.upper()
    assert malformed(wire(trip)).req_id == "IOME-ENC-006"
    block = dump("Block")
    block["txs"][0]["issuer_pk"] = "00"
    assert malformed(wire(block)).req_id == "IOME-ENC-006"


_BAD_INTS: list[Any] = [
    MAX_SAFE_INT + 1,
    10**30,
    5.0,
    0.5,
    1e300,
    True,
    False,
    "5",
    None,
    [5],
    {"n": 5},
]


@pytest.mark.parametrize("value", _BAD_INTS, ids=repr)
@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("ESDP", "demand_wh"),
        ("EPS", "price_micro_per_kwh"),
        ("Anchor", "height"),
        ("Block", "time"),
    ],
)
@pytest.mark.req("IOME-ENC-007")
def test_rejects_integer_field_not_a_safe_json_integer(name: str, field: str, value: Any) -> None:
    assert malformed(wire(dump(name) | {field: value})).req_id == "IOME-ENC-007"


@pytest.mark.parametrize("value", [-MAX_SAFE_INT - 1, -(10**30)])
@pytest.mark.req("IOME-ENC-007")
def test_rejects_signed_integer_below_safe_range(value: int) -> None:
    assert malformed(wire(dump("EPS") | {"feed_in_micro_per_kwh": value})).req_id == "IOME-ENC-007"


@pytest.mark.req("IOME-ENC-007")
def test_rejects_exponent_overflowing_to_infinity() -> None:
    text = wire(dump("ESDP")).replace(b'"supply_wh": 12000', b'"supply_wh": 1e400')
    assert b"1e400" in text
    assert malformed(text).req_id == "IOME-ENC-007"


@pytest.mark.req("IOME-ENC-007")
def test_accepts_integers_at_the_safe_bounds() -> None:
    eps = dump("EPS") | {
        "price_micro_per_kwh": -MAX_SAFE_INT,
        "feed_in_micro_per_kwh": MAX_SAFE_INT,
    }
    decoded = decode_message(wire(eps))
    assert isinstance(decoded, SignedModel)
    assert decoded.model_dump(mode="json") == eps


@pytest.mark.parametrize("value", [2**53, -(2**53), 10**40, 0.5])
@pytest.mark.req("IOME-ENC-007")
def test_rejects_canonicalising_unsafe_numbers(value: float) -> None:
    with pytest.raises(Malformed) as exc:
        canonical_json({"n": value} if isinstance(value, int) else {"n": [value, 2**60]})
    assert exc.value.req_id == "IOME-ENC-007"


_BAD_IDENTIFIERS: list[Any] = [
    "",
    "North",
    "-north",
    "north_east",
    "north east",
    "north\n",
    "nörth",
    "a" * 33,
    5,
    None,
]


@pytest.mark.parametrize("value", _BAD_IDENTIFIERS, ids=repr)
@pytest.mark.parametrize(
    ("name", "field"),
    [("ESDP", "region"), ("Presence", "station_id"), ("Anchor", "chain_id"), ("Block", "chain_id")],
)
@pytest.mark.req("IOME-ENC-008")
def test_rejects_identifier_not_matching_pattern(name: str, field: str, value: Any) -> None:
    assert malformed(wire(dump(name) | {field: value})).req_id == "IOME-ENC-008"


@pytest.mark.parametrize("value", ["a", "0", "a" * 32, "a-", "0-9-z"])
@pytest.mark.req("IOME-ENC-008")
def test_accepts_identifier_at_pattern_bounds(value: str) -> None:
    decoded = decode_message(wire(dump("ESDP") | {"region": value}))
    assert isinstance(decoded, ESDP)
    assert decoded.region == value


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("ESDP", "issuer_role", "BEM"),
        ("ESDP", "issuer_role", ""),
        ("ESDP", "issuer_role", None),
        ("ESDP", "issuer_role", ["bem"]),
        ("Presence", "kind", "origin"),
        ("ChargeSession", "direction", "Charge"),
        ("ChargeSession", "direction", 1),
    ],
)
@pytest.mark.req("IOME-ENC-009")
def test_rejects_enumerated_field_outside_its_values(name: str, field: str, value: Any) -> None:
    assert malformed(wire(dump(name) | {field: value})).req_id == "IOME-ENC-009"


@pytest.mark.req("IOME-ENC-010")
def test_accepts_list_of_max_length() -> None:
    regions = [f"r{i}" for i in range(MAX_LIST_LEN)]
    decoded = decode_message(wire(dump("IssuerRegistration") | {"regions": regions}))
    assert len(getattr(decoded, "regions")) == MAX_LIST_LEN  # noqa: B009


@pytest.mark.parametrize(
    ("name", "field", "item"),
    [
        ("IssuerRegistration", "regions", "north"),
        ("ODMatrix", "origins", "st-a"),
        ("ODMatrix", "destinations", "st-a"),
        ("ODMatrix", "cells", []),
        ("Trip", "verifier_sigs", {"verifier_pk": _HEX, "signature": _HEX * 2}),
    ],
)
@pytest.mark.req("IOME-ENC-010")
def test_rejects_list_longer_than_max(name: str, field: str, item: Any) -> None:
    value = dump(name) | {field: [item] * (MAX_LIST_LEN + 1)}
    assert malformed(wire(value)).req_id == "IOME-ENC-010"


@pytest.mark.req("IOME-ENC-010")
def test_rejects_matrix_cell_longer_than_max() -> None:
    odm = dump("ODMatrix")
    odm["cells"][0] = [0] * (MAX_LIST_LEN + 1)
    assert malformed(wire(odm)).req_id == "IOME-ENC-010"


@pytest.mark.parametrize("value", [-1, -MAX_SAFE_INT, -MAX_SAFE_INT - 1, -(10**15)])
@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("ESDP", "supply_wh"),
        ("EPS", "incentive_micro_per_kwh"),
        ("Trip", "time_bucket_s"),
        ("Anchor", "height"),
        ("Block", "height"),
    ],
)
@pytest.mark.req("IOME-ENC-012")
def test_rejects_negative_quantity(name: str, field: str, value: int) -> None:
    """A negative quantity written with at most MAX_INT_DIGITS digits is IOME-ENC-012: below
    -(2^53-1) it also breaks IOME-ENC-007's range, and the reference deterministically names
    the sign rule."""
    assert malformed(wire(dump(name) | {field: value})).req_id == "IOME-ENC-012"


@pytest.mark.req("IOME-ENC-007")
def test_rejects_negative_quantity_too_long_to_be_safe_by_its_literal() -> None:
    """A literal longer than MAX_INT_DIGITS digits is refused while decoding, before any field
    is read, so its sign is never judged."""
    assert malformed(wire(dump("ESDP") | {"supply_wh": -(10**30)})).req_id == "IOME-ENC-007"


@pytest.mark.req("IOME-ENC-012")
def test_rejects_negative_quantity_inside_transaction_of_block() -> None:
    block = dump("Block")
    block["txs"][0]["demand_wh"] = -1
    assert malformed(wire(block)).req_id == "IOME-ENC-012"


@pytest.mark.req("IOME-ENC-012")
def test_accepts_zero_quantity() -> None:
    decoded = decode_message(wire(dump("ESDP") | {"supply_wh": 0}))
    assert getattr(decoded, "supply_wh") == 0  # noqa: B009


def _odm_cell(value: Any) -> dict[str, Any]:
    odm = dump("ODMatrix")
    odm["cells"][0][2] = value
    return odm


def _list_item(name: str, field: str, value: Any) -> dict[str, Any]:
    data = dump(name)
    data[field][0] = value
    return data


@pytest.mark.parametrize(
    ("value", "req_id"),
    [
        pytest.param(_odm_cell(-1), "IOME-ENC-012", id="negative-count"),
        pytest.param(_odm_cell(MAX_SAFE_INT + 1), "IOME-ENC-007", id="count-too-large"),
        pytest.param(_odm_cell(1.5), "IOME-ENC-007", id="count-float"),
        pytest.param(_list_item("ODMatrix", "origins", "Zone A"), "IOME-ENC-008", id="zone"),
        pytest.param(
            _list_item("IssuerRegistration", "regions", "North"), "IOME-ENC-008", id="region"
        ),
    ],
)
@pytest.mark.req("IOME-ENC-007", "IOME-ENC-008", "IOME-ENC-012")
def test_rejects_list_element_with_its_own_rule(value: dict[str, Any], req_id: str) -> None:
    assert malformed(wire(value)).req_id == req_id


# --- round trips, canonical bytes, tx ids ----------------------------------------------------


@pytest.mark.parametrize("name", sorted(MESSAGE_TYPES))
@pytest.mark.req("IOME-ENC-001")
def test_accepts_round_trip_model_json_model(name: str) -> None:
    model = BLOCK if name == "Block" else SAMPLES[name]
    assert decode_message(canonical_json(model.model_dump(mode="json"))) == model
    # Any wire form of the same object decodes to the same model: member order, white space.
    reordered = dict(reversed(list(model.model_dump(mode="json").items())))
    assert decode_message(json.dumps(reordered, indent=3)) == model
    assert decode_message(json.dumps(reordered, ensure_ascii=True).encode()) == model


@pytest.mark.parametrize("name", sorted(TRANSACTION_TYPES))
@pytest.mark.req("IOME-ENC-011")
def test_accepts_canonical_bytes_rfc8785_and_tx_id_their_hash(name: str) -> None:
    tx = SAMPLES[name]
    unsigned = tx.unsigned_fields()
    data = {k: v for k, v in tx.model_dump(mode="json").items() if k not in unsigned}
    assert "tx_id" not in data
    assert all(spec.field not in data for spec in tx.SIGNATURES)
    assert tx.canonical_bytes() == rfc8785.dumps(data)
    assert tx.tx_id == hashlib.sha256(rfc8785.dumps(data)).hexdigest()
    assert tx.compute_tx_id() == tx.tx_id
    check_tx_id(tx)
    # The wire form does not matter: a re-decoded copy has the same bytes and id.
    again = decode_message(json.dumps(tx.model_dump(mode="json"), indent=1))
    assert isinstance(again, SignedModel)
    assert (again.canonical_bytes(), again.tx_id) == (tx.canonical_bytes(), tx.tx_id)


@pytest.mark.req("IOME-ENC-011")
def test_accepts_hand_computed_canonical_bytes() -> None:
    eps = _B.eps(
        "ab" * 32,
        t=T0,
        region="north",
        price_micro_per_kwh=-MAX_SAFE_INT,
        feed_in_micro_per_kwh=0,
        incentive_micro_per_kwh=MAX_SAFE_INT,
    )
    expected = (
        '{"expiry":1704070800,"feed_in_micro_per_kwh":0,"incentive_micro_per_kwh":'
        '9007199254740991,"issued_at":1704067200,"issuer_pk":"' + eps.issuer_pk + '",'
        '"prev_tx_id":"' + "ab" * 32 + '","price_micro_per_kwh":-9007199254740991,'
        '"region":"north","type":"EPS"}'
    ).encode()
    assert eps.canonical_bytes() == expected
    assert eps.tx_id == hashlib.sha256(expected).hexdigest()


@pytest.mark.req("IOME-ENC-011")
def test_accepts_rfc8785_member_order_and_string_forms() -> None:
    """RFC 8785 §3.2.3 sorts names by UTF-16 code units and writes strings as raw UTF-8; Python's
    ``json.dumps(sort_keys=True)`` sorts by code point and escapes, so it is not canonical."""
    names = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6", "</script>"]
    value = {name: i for i, name in enumerate(names)}
    expected_order = ["\r", "1", "</script>", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    expected = (
        "{" + ",".join(f"{json.dumps(n, ensure_ascii=False)}:{value[n]}" for n in expected_order)
    ).encode() + b"}"
    assert canonical_json(value) == expected
    assert canonical_json({"b": "é", "a": [1, -2, 0]}) == '{"a":[1,-2,0],"b":"é"}'.encode()
    assert (
        canonical_json(value) != json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    )


@pytest.mark.req("IOME-ENC-011")
def test_accepts_unsigned_fields_outside_canonical_bytes() -> None:
    esdp = SAMPLES["ESDP"]
    other = esdp.model_copy(update={"signature": "00" * 64})
    assert other.canonical_bytes() == esdp.canonical_bytes()
    trip = SAMPLES["Trip"]
    assert trip.model_copy(update={"verifier_sigs": []}).compute_tx_id() == trip.tx_id


@pytest.mark.parametrize("name", sorted(TRANSACTION_TYPES))
@pytest.mark.req("IOME-ENC-011", "IOME-SIG-001")
def test_accepts_created_objects_passing_stateless_checks(name: str) -> None:
    check_stateless(SAMPLES[name])


@pytest.mark.req("IOME-ENC-011")
def test_rejects_tx_id_not_the_canonical_hash() -> None:
    esdp = SAMPLES["ESDP"]
    bad = esdp.model_copy(update={"tx_id": hashlib.sha256(b"other").hexdigest()})
    with pytest.raises(Rejected) as exc:
        check_stateless(bad)
    assert exc.value.req_id == "IOME-ENC-011"
    # A uppercase tx id never reaches the check: decoding refuses it.
    assert malformed(wire(dump("ESDP") | {"tx_id": esdp.tx_id.upper()})).req_id == "IOME-ENC-006"


_PARSERS: list[Callable[[Any], Any]] = [
    lambda data: decode_message(wire(data)),
    Block.parse,
]


@pytest.mark.parametrize("parse", _PARSERS, ids=["decode_message", "Block.parse"])
@pytest.mark.req("IOME-ENC-007")
def test_rejects_block_with_float_time_whichever_entry(parse: Callable[[Any], Any]) -> None:
    with pytest.raises(Malformed) as exc:
        parse(dump("Block") | {"time": float(T0 + 5000)})
    assert exc.value.req_id == "IOME-ENC-007"
