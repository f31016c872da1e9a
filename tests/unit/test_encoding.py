"""The lexical rules of encoding.md: byte-order mark, nesting depth, number literals, code points.

Each row of encoding.md's "Lexical choices" table is asserted here with its id, at its boundary,
and the decoder is shown to refuse hostile input without ``ValueError`` or ``RecursionError``
and independent of the caller's stack.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import MemoryStore, StoredBlock
from iome_ref.constants import (
    MAX_INT_DIGITS,
    MAX_LIST_LEN,
    MAX_MESSAGE_BYTES,
    MAX_NESTING_DEPTH,
    MAX_SAFE_INT,
    MAX_TRIP_VERIFIERS,
    OD_CELL_LEN,
)
from iome_ref.encoding import (
    canonical_json,
    check_message_size,
    decode_json_object,
    is_plain_json,
)
from iome_ref.errors import Malformed, Rejected
from iome_ref.models import ESDP, Trip, decode_message
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, build_world

_B = Builder(build_world(7))
_ESDP = _B.esdp()
_TEXT = json.dumps(_ESDP.model_dump(mode="json"), separators=(",", ":"))
_SUPPLY = f'"supply_wh":{_ESDP.supply_wh}'


def refused(data: bytes | str) -> Malformed:
    with pytest.raises(Malformed) as exc:
        decode_json_object(data)
    return exc.value


def _nested(depth: int) -> str:
    """An object whose member ``a`` holds arrays so that the innermost lies at ``depth``."""
    inner = depth - 1
    return '{"a":' + "[" * inner + "]" * inner + "}"


def _with_number(literal: str) -> str:
    return _TEXT.replace(_SUPPLY, '"supply_wh":' + literal)


# --- IOME-ENC-001: byte-order mark ---------------------------------------------------------


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf" + _TEXT.encode(), "\ufeff" + _TEXT])
@pytest.mark.req("IOME-ENC-001")
def test_rejects_byte_order_mark(data: bytes | str) -> None:
    exc = refused(data)
    assert exc.req_id == "IOME-ENC-001"
    assert "byte-order mark" in exc.message


@pytest.mark.req("IOME-ENC-001")
def test_accepts_byte_order_mark_character_inside_a_string() -> None:
    # U+FEFF is an ordinary character inside a string; only a leading mark is refused.
    assert decode_json_object('{"a":"\ufeff"}') == {"a": "\ufeff"}


# --- IOME-ENC-001: nesting depth --------------------------------------------------------------


@pytest.mark.req("IOME-ENC-001")
def test_accepts_nesting_at_the_limit() -> None:
    assert (
        decode_json_object(_nested(MAX_NESTING_DEPTH))["a"]
        == json.loads(_nested(MAX_NESTING_DEPTH))["a"]
    )
    objects = '{"a":' * MAX_NESTING_DEPTH + "1" + "}" * MAX_NESTING_DEPTH
    assert decode_json_object(objects)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_nested(MAX_NESTING_DEPTH + 1), id="arrays"),
        pytest.param(
            '{"a":' * (MAX_NESTING_DEPTH + 1) + "1" + "}" * (MAX_NESTING_DEPTH + 1), id="objects"
        ),
        pytest.param('{"a":[{"b":' * 8 + "[1]" + "}]" * 8 + "}", id="mixed"),
        pytest.param('{"a":"\\"",' + '"b":' + "[" * 20 + "]" * 20 + "}", id="after-escaped-quote"),
        pytest.param("[" * MAX_MESSAGE_BYTES, id="a-megabyte-of-open-brackets"),
    ],
)
@pytest.mark.req("IOME-ENC-001")
def test_rejects_nesting_over_the_limit(data: str) -> None:
    exc = refused(data)
    assert exc.req_id == "IOME-ENC-001"
    assert "deeper" in exc.message


@pytest.mark.parametrize(
    "data",
    [
        '{"a":"' + "[" * 100 + '"}',
        '{"a":"' + "]" * 100 + "[" * 100 + '"}',
        '{"a":"\\\\","b":"' + "{" * 100 + '"}',
        '{"' + "[" * 100 + '":1}',
        '{"a":"\\"' + "[" * 100 + '","b":1}',
    ],
)
@pytest.mark.req("IOME-ENC-001")
def test_accepts_brackets_inside_strings_at_any_count(data: str) -> None:
    assert decode_json_object(data) == json.loads(data)


def _decode_at_stack_depth(frames: int, data: str) -> dict[str, Any]:
    if frames <= 0:
        return decode_json_object(data)
    return _decode_at_stack_depth(frames - 1, data)


@pytest.mark.req("IOME-ENC-001")
def test_accepts_nesting_at_the_limit_whatever_the_callers_stack() -> None:
    """The limit is the spec's, not the parser's recursion limit: a caller close to Python's
    recursion limit still decodes a message at the limit, and a deeper one is still IOME-ENC-001."""
    frames = sys.getrecursionlimit() - 80
    assert _decode_at_stack_depth(frames, _nested(MAX_NESTING_DEPTH))
    with pytest.raises(Malformed) as exc:
        _decode_at_stack_depth(frames, _nested(10 * MAX_NESTING_DEPTH))
    assert exc.value.req_id == "IOME-ENC-001"


# --- IOME-ENC-001: surrogates and noncharacters -------------------------------------------------

_NONCHARACTERS = [*range(0xFDD0, 0xFDF0)] + [
    plane << 16 | low for plane in range(17) for low in (0xFFFE, 0xFFFF)
]


def _escaped(code_point: int) -> str:
    """The JSON escape of a code point: one \\u escape, or a surrogate pair above the BMP."""
    return json.dumps(chr(code_point))[1:-1]


@pytest.mark.parametrize("code_point", _NONCHARACTERS, ids=lambda c: f"U+{c:04X}")
@pytest.mark.req("IOME-ENC-001")
def test_rejects_every_noncharacter_raw_and_escaped(code_point: int) -> None:
    assert len(_NONCHARACTERS) == 66
    raw = '{"a":"x' + chr(code_point) + '"}'
    escaped = '{"a":"x' + _escaped(code_point) + '"}'
    in_name = '{"' + _escaped(code_point) + '":1}'
    for data in (raw, escaped, in_name):
        exc = refused(data)
        assert exc.req_id == "IOME-ENC-001"
        assert "noncharacter" in exc.message


@pytest.mark.parametrize(
    "code_point", [0xFDCF, 0xFDF0, 0xFFFD, 0x1FFFD, 0x10000, 0x10FFFD], ids=lambda c: f"U+{c:04X}"
)
@pytest.mark.req("IOME-ENC-001")
def test_accepts_code_points_next_to_noncharacters(code_point: int) -> None:
    for data in ('{"a":"' + chr(code_point) + '"}', '{"a":"' + _escaped(code_point) + '"}'):
        assert decode_json_object(data) == {"a": chr(code_point)}


@pytest.mark.parametrize(
    "data",
    [
        '{"a":"\\ud800"}',
        '{"a":"\\udfff"}',
        '{"a":"\\ude00\\ud83d"}',
        '{"a":"\\ud83d x"}',
        '{"\\udbff":1}',
        '{"a":["ok",{"b":"\\udc00"}]}',
    ],
)
@pytest.mark.req("IOME-ENC-001")
def test_rejects_escaped_lone_surrogates(data: str) -> None:
    exc = refused(data)
    assert exc.req_id == "IOME-ENC-001"
    assert "surrogate" in exc.message


@pytest.mark.req("IOME-ENC-001")
def test_accepts_escaped_backslash_before_u_as_plain_text() -> None:
    # "\\ud800" is a backslash followed by the letters u, d, 8, 0, 0: no surrogate.
    assert decode_json_object('{"a":"\\\\ud800"}') == {"a": "\\ud800"}


# --- IOME-ENC-001: names and escapes ------------------------------------------------------------


@pytest.mark.req("IOME-ENC-001")
def test_accepts_escapes_in_names_and_values_as_the_characters_they_denote() -> None:
    text = _TEXT.replace('"region":"north"', '"\\u0072egion":"\\u006eorth"')
    assert text != _TEXT
    assert decode_message(text) == _ESDP


@pytest.mark.parametrize(
    "data",
    [
        '{"region":"a","regio\\u006e":"b"}',
        '{"\\u0061":1,"a":2}',
        '{"x":[{"k":1,"\\u006b":1}]}',
    ],
)
@pytest.mark.req("IOME-ENC-001")
def test_rejects_names_duplicated_through_escapes(data: str) -> None:
    exc = refused(data)
    assert exc.req_id == "IOME-ENC-001"
    assert "twice" in exc.message


@pytest.mark.parametrize(
    "literal",
    ["012000", "+12000", ".5", "12000.", "0x10", "1e", "--1", "- 1", "Infinity", "NaN"],
)
@pytest.mark.req("IOME-ENC-001")
def test_rejects_number_spellings_json_does_not_have(literal: str) -> None:
    assert refused(_with_number(literal)).req_id == "IOME-ENC-001"


@pytest.mark.parametrize(
    "data",
    [
        '{"a":1,}',
        '{"a":[1,]}',
        '{"a":1}\n{"b":2}',
        '{"a":1 /* c */}',
        '{"a":\u00a01}',
        '{"a":"\x1f"}',
    ],
    ids=["trailing-comma", "trailing-comma-in-list", "two-objects", "comment", "nbsp", "control"],
)
@pytest.mark.req("IOME-ENC-001")
def test_rejects_text_outside_json(data: str) -> None:
    assert refused(data).req_id == "IOME-ENC-001"


# --- IOME-ENC-007: number literals --------------------------------------------------------------


@pytest.mark.parametrize(
    "literal",
    [
        "-0",
        "-0.0",
        "0.0",
        "12000.0",
        "12e3",
        "1E4",
        "1e+4",
        "1.2e4",
        "1e400",
        "-1e400",
        "1e-400",
        "1" + "0" * MAX_INT_DIGITS,
        "-1" + "0" * MAX_INT_DIGITS,
        "9" * 4300,
        "9" * 4301,
        "9" * 100_000,
        "0." + "0" * 100_000 + "1",
    ],
    ids=lambda s: s if len(s) < 20 else f"{s[:3]}...{len(s)}-chars",
)
@pytest.mark.req("IOME-ENC-007")
def test_rejects_number_literal_that_is_not_a_short_integer(literal: str) -> None:
    """No ValueError from int() past 4300 digits: the literal is measured, not converted."""
    assert refused(_with_number(literal)).req_id == "IOME-ENC-007"


@pytest.mark.parametrize(
    "member",
    [
        '"memo":' + "1" * (MAX_INT_DIGITS + 1),
        '"memo":[1,2,-0]',
        '"memo":{"deep":[0.5]}',
    ],
)
@pytest.mark.req("IOME-ENC-007")
def test_rejects_bad_number_literal_anywhere_before_the_schema(member: str) -> None:
    # An undefined member would be IOME-ENC-004; the literal is judged while decoding, first.
    assert refused(_TEXT[:-1] + "," + member + "}").req_id == "IOME-ENC-007"


@pytest.mark.req("IOME-ENC-007")
def test_accepts_integer_literals_of_max_digits_and_zero() -> None:
    longest = int("9" * MAX_INT_DIGITS)
    value = decode_json_object(json.dumps({"a": [0, -1, longest, -longest, MAX_SAFE_INT]}))
    assert value == {"a": [0, -1, longest, -longest, MAX_SAFE_INT]}
    assert all(type(n) is int for n in value["a"])


@pytest.mark.req("IOME-ENC-007")
def test_accepts_digit_runs_inside_strings() -> None:
    # Text the integer pre-check flags (a long digit run, "-0") is still decoded exactly.
    data = {"a": "1" * 40, "b": "st-0", "c": [1, 2], "d": -5}
    assert decode_json_object(json.dumps(data)) == data


@pytest.mark.parametrize(
    "data",
    [
        '{"a":-0,}',
        '{"a":' + "9" * 5000 + ',"a":1}',
        '{"a":1.5,"b":"\\ud800"}',
        '{"a":1e400' + "[" * 40 + "}",
    ],
    ids=["syntax", "duplicate", "surrogate", "depth"],
)
@pytest.mark.req("IOME-ENC-001")
def test_rejects_not_ijson_before_judging_numbers(data: str) -> None:
    assert refused(data).req_id == "IOME-ENC-001"


@pytest.mark.req("IOME-ENC-007")
def test_rejects_stored_block_with_a_huge_integer_as_unreadable() -> None:
    """A store holding a 5000-digit literal makes the ledger refuse it with an id on reopen,
    not raise a bare ValueError."""
    block = _B.block("public", [_ESDP], T0 + 5000)
    body = canonical_json(block.model_dump(mode="json"))
    body = body.replace(b'"time":', b'"time":' + b"9" * 5000 + b',"x":', 1)
    store = MemoryStore()
    store.set_meta("chain:public:kind", "public")
    store.append(StoredBlock("public", 0, block.block_hash, body, (_ESDP.tx_id,)))
    with pytest.raises(Rejected) as exc:
        Ledger(store, _B.world.context())
    assert exc.value.req_id == "IOME-BLK-012"
    cause = exc.value.__cause__
    assert isinstance(cause, Malformed)
    assert cause.req_id == "IOME-ENC-007"


# --- IOME-ENC-010: per-field bounds, length before entries -------------------------------------


def _trip_with(count: int) -> dict[str, Any]:
    sigs = [
        {"verifier_pk": _B.key(f"v-{i}").public_hex, "signature": "11" * 64} for i in range(count)
    ]
    return _B.trip().model_dump(mode="json") | {"verifier_sigs": sigs}


@pytest.mark.req("IOME-ENC-010")
def test_accepts_trip_with_max_verifier_signatures_at_decoding() -> None:
    decoded = decode_message(json.dumps(_trip_with(MAX_TRIP_VERIFIERS)))
    assert isinstance(decoded, Trip)
    assert len(decoded.verifier_sigs) == MAX_TRIP_VERIFIERS


@pytest.mark.parametrize("count", [MAX_TRIP_VERIFIERS + 1, MAX_LIST_LEN])
@pytest.mark.req("IOME-ENC-010")
def test_rejects_trip_with_more_verifier_signatures_than_the_bound(count: int) -> None:
    with pytest.raises(Malformed) as exc:
        decode_message(json.dumps(_trip_with(count)))
    assert exc.value.req_id == "IOME-ENC-010"
    assert exc.value.message.startswith("Trip.verifier_sigs:")


def _odm_with_cell(cell: list[Any]) -> str:
    odm = _B.od_matrix([_B.trip()]).model_dump(mode="json")
    return json.dumps(odm | {"cells": [cell]})


@pytest.mark.req("IOME-ENC-010")
def test_rejects_od_cell_longer_than_its_bound() -> None:
    assert OD_CELL_LEN == 3
    with pytest.raises(Malformed) as exc:
        decode_message(_odm_with_cell([0, 0, 1, 1]))
    assert exc.value.req_id == "IOME-ENC-010"
    assert exc.value.message.startswith("ODMatrix.cells.0:")


@pytest.mark.req("IOME-ENC-010")
def test_rejects_list_too_long_whatever_its_entries() -> None:
    regions: list[Any] = [None] * (MAX_LIST_LEN + 1)
    data = _B.registration().model_dump(mode="json") | {"regions": regions}
    with pytest.raises(Malformed) as exc:
        decode_message(json.dumps(data))
    assert exc.value.req_id == "IOME-ENC-010"
    assert len(exc.value.message) < 200  # the list is not printed whole


@pytest.mark.parametrize("bad_at", [0, 7, MAX_LIST_LEN - 1])
@pytest.mark.req("IOME-ENC-007")
def test_rejects_first_wrong_entry_of_a_list_within_its_bound(bad_at: int) -> None:
    """Validation stops at the first wrong entry; it is the one reported, as without stopping."""
    odm = _B.od_matrix([_B.trip()]).model_dump(mode="json")
    cells: list[Any] = [[0, 0, 1]] * MAX_LIST_LEN
    cells = [*cells[:bad_at], [0, 0, "x"], *(["y"] * (MAX_LIST_LEN - bad_at - 1))]
    with pytest.raises(Malformed) as exc:
        decode_message(json.dumps(odm | {"cells": cells}))
    assert exc.value.req_id == "IOME-ENC-007"
    assert exc.value.message.startswith(f"ODMatrix.cells.{bad_at}.2:")


@pytest.mark.req("IOME-ENC-001")
def test_accepts_every_decoded_esdp_equal_to_its_model() -> None:
    assert decode_message(_TEXT) == _ESDP
    assert isinstance(decode_message(_TEXT.encode()), ESDP)


# --- messages name the fault (mutation testing: a message nobody reads can be anything) -----


@pytest.mark.req("IOME-ENC-007")
def test_accepts_negative_integer_of_max_digits_among_suspect_literals() -> None:
    # "-0" in a string sends the text down the path that reads every literal; the minus sign
    # is not a digit, so 17 characters are 16 digits and the literal is short.
    literal = "-" + "1" * MAX_INT_DIGITS
    assert decode_json_object(f'{{"a":{literal},"b":"-0"}}') == {"a": int(literal), "b": "-0"}


@pytest.mark.req("IOME-ENC-007")
def test_rejects_the_first_long_integer_by_name_not_a_short_one_before_it() -> None:
    short_negative = "-" + "1" * MAX_INT_DIGITS
    short = "2" * MAX_INT_DIGITS
    long = "3" * (MAX_INT_DIGITS + 1)
    exc = refused(f'{{"a":{short_negative},"b":[{short},{long}]}}')
    assert (exc.req_id, exc.message) == ("IOME-ENC-007", _number_fault(long))


def _number_fault(shown: str) -> str:
    return (
        f"number {shown}: expected an integer of at most {MAX_INT_DIGITS} digits, "
        "without fraction, exponent or minus sign on zero"
    )


@pytest.mark.req("IOME-ENC-007")
def test_rejects_number_naming_it_whole_up_to_24_characters_then_cut() -> None:
    for literal, shown in (
        ("1" * 24, "1" * 24),
        ("1" * 25, "1" * 21 + "..."),
        ("-0", "-0"),
        ("1.5", "1.5"),
    ):
        exc = refused(f'{{"a":{literal}}}')
        assert (exc.req_id, exc.message) == ("IOME-ENC-007", _number_fault(shown))
    # A fraction found first is the fault reported, whatever else the text holds.
    exc = refused('{"a":1.5,"b":-0,"c":' + "9" * 20 + "}")
    assert (exc.req_id, exc.message) == ("IOME-ENC-007", _number_fault("1.5"))


@pytest.mark.req("IOME-ENC-007")
def test_accepts_suspect_text_without_any_integer() -> None:
    # "-0" inside a string makes the text suspect; there is no integer literal to judge.
    assert decode_json_object('{"a":"-0"}') == {"a": "-0"}


@pytest.mark.req("IOME-ENC-002", "IOME-ENC-007")
def test_rejects_oversized_message_and_uncanonicalisable_values_naming_why() -> None:
    check_message_size(b"x" * MAX_MESSAGE_BYTES)
    with pytest.raises(Malformed) as exc:
        check_message_size(b"x" * (MAX_MESSAGE_BYTES + 1))
    assert (exc.value.req_id, exc.value.message) == (
        "IOME-ENC-002",
        f"message is {MAX_MESSAGE_BYTES + 1} bytes, limit is {MAX_MESSAGE_BYTES}",
    )
    # Models never hand these to canonical_json; called directly, it still refuses with an id.
    for value, reason in (
        ({"a": 2**60}, f"{2**60} exceeds safe integer domain for JSON floats"),
        ({"a": float("nan")}, "nan is not representable in JCS"),
    ):
        with pytest.raises(Malformed) as exc:
            canonical_json(value)
        assert (exc.value.req_id, exc.value.message) == (
            "IOME-ENC-007",
            f"value cannot be canonicalised: {reason}",
        )


@pytest.mark.req("IOME-ENC-001")
def test_rejects_duplicate_name_naming_the_duplicated_one() -> None:
    exc = refused('{"b":1,"a":1,"a":2}')
    assert (exc.req_id, exc.message) == ("IOME-ENC-001", "member name 'a' appears twice")


@pytest.mark.req("IOME-ENC-001")
def test_rejects_non_finite_constant_and_non_json_naming_where() -> None:
    exc = refused('{"a": NaN}')
    assert (exc.req_id, exc.message) == ("IOME-ENC-001", "non-finite number NaN is not JSON")
    # The same on the path that collects integer literals (a text that may hold -0).
    exc = refused('{"z": -0, "a": -Infinity}')
    assert (exc.req_id, exc.message) == (
        "IOME-ENC-001",
        "non-finite number -Infinity is not JSON",
    )
    exc = refused('{"a" 1}')
    assert (exc.req_id, exc.message) == (
        "IOME-ENC-001",
        "not JSON: Expecting ':' delimiter at line 1 column 6",
    )


@pytest.mark.req("IOME-ENC-001")
def test_rejects_the_first_forbidden_code_point_of_the_text() -> None:
    # A raw noncharacter comes first; an escaped one later must not be the one reported.
    exc = refused('{"a":"\ufdd0","b":"\\ufdd1"}')
    assert (exc.req_id, exc.message) == (
        "IOME-ENC-001",
        "a string holds U+FDD0, a surrogate or noncharacter (RFC 7493 §2.1)",
    )


@pytest.mark.req("IOME-ENC-001")
def test_rejects_nesting_over_the_limit_beside_a_string_holding_a_bracket() -> None:
    # The string's bracket is dropped before counting; the nesting beside it still counts.
    deep = _nested(MAX_NESTING_DEPTH + 1)
    for data in (deep, '{"s":"[",' + deep[1:]):
        exc = refused(data)
        assert (exc.req_id, exc.message) == (
            "IOME-ENC-001",
            f"arrays and objects nest deeper than {MAX_NESTING_DEPTH} levels",
        )
    exc = refused("[" * 100)
    assert exc.message == (
        f"not JSON: brackets do not balance, or nest deeper than {MAX_NESTING_DEPTH} levels"
    )


@pytest.mark.req("IOME-ENC-001")
def test_rejects_text_that_is_not_utf8_or_not_an_object_naming_why() -> None:
    exc = refused(b'{"a":"\xff"}')
    assert (exc.req_id, exc.message) == ("IOME-ENC-001", "message is not UTF-8 at byte 6")
    # A str holding a lone surrogate is encoded as it is, then refused as bytes would be.
    exc = refused('{"a":"\ud800"}')
    assert (exc.req_id, exc.message) == ("IOME-ENC-001", "message is not UTF-8 at byte 6")
    exc = refused("[1]")
    assert (exc.req_id, exc.message) == ("IOME-ENC-001", "expected a JSON object, found list")
    exc = refused(b"\xef\xbb\xbf{}")
    assert (exc.req_id, exc.message) == (
        "IOME-ENC-001",
        "message starts with a byte-order mark (RFC 8259 \u00a78.1)",
    )


# --------------------------------------------------------------------------- the fast path
#
# canonical_json writes plain data (every transaction) with the C json encoder; these prove
# the bytes are RFC 8785's (the rfc8785 library's), and that everything else takes its path.


JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INT - 2, MAX_SAFE_INT + 2)
    | st.sampled_from([MAX_SAFE_INT, -MAX_SAFE_INT, 0, -1, 2**53, -(2**53)])
    | st.text(max_size=8)
    | st.text(alphabet=st.characters(max_codepoint=127), max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(max_size=4) | st.text(alphabet=st.characters(max_codepoint=127), max_size=4),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


def library_or_error(value: Any) -> bytes | str:
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:
        return type(exc).__name__


@settings(deadline=None)
@given(value=st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=5))
def test_accepts_fast_canonical_bytes_equal_to_rfc8785(value: dict[str, Any]) -> None:
    expected = library_or_error(value)
    try:
        found: bytes | str = canonical_json(value)
    except Malformed:
        found = "refused"
    if isinstance(expected, str):
        assert found == "refused"
    else:
        assert found == expected


def test_accepts_plain_json_exactly_for_safe_integers_ascii_text_and_containers() -> None:
    plain: list[Any] = [
        {"a": [1, -1, True, False, None, 'x\u007f\n"\\', {"b": []}]},
        {"n": MAX_SAFE_INT, "m": -MAX_SAFE_INT},
        [],
        {},
    ]
    not_plain: list[Any] = [
        {"a": MAX_SAFE_INT + 1},
        {"a": -MAX_SAFE_INT - 1},
        {"a": "é"},
        {"é": 1},
        {1: 1},
        {"a": 1.0},
        {"a": (1,)},
        [["x", "é"]],
        [{"a": [2**60]}],
    ]
    for value in plain:
        assert is_plain_json(value), value
        assert canonical_json(value) == rfc8785.dumps(value)
    for value in not_plain:
        assert not is_plain_json(value), value


def test_accepts_plain_json_without_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path is taken: the library is never called for a transaction's data."""

    def refuse(_: object) -> bytes:
        raise AssertionError("library path taken")

    monkeypatch.setattr(rfc8785, "dumps", refuse)
    tx = Builder(build_world(3)).esdp()
    data = tx.model_dump(mode="json", exclude=set(tx.unsigned_fields()))
    assert canonical_json(data) == json.dumps(data, sort_keys=True, separators=(",", ":")).encode(
        "ascii"
    )


def _verdict(text: str) -> object:
    try:
        return decode_json_object(text)
    except Malformed as exc:
        return (exc.req_id, exc.message)


@pytest.mark.req("IOME-ENC-007")
def test_rejects_each_fraction_in_its_own_text_when_threads_decode_at_once() -> None:
    """Each thread decodes with its own decoder and literal list (made once per thread): texts
    with and without fractions, decoded by eight threads at once, get exactly the verdicts a
    sequential decode gives (a literal of one text never shows in another's verdict)."""
    texts = [
        '{"a": %s, "b": [1, 2, {"c": %s}]}' % (f"{i}.5" if i % 3 == 0 else i, i)  # noqa: UP031
        for i in range(300)
    ] + ['{"a": 1, "a": 2}', '{"x": 1e3}', '{"y": -0}', "[1", '{"n": NaN}', '{"i": Infinity}']
    expected = [_verdict(text) for text in texts]
    assert sum(isinstance(v, tuple) and v[0] == "IOME-ENC-007" for v in expected) > 100
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch inside decodes, at every Python hook
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            for _ in range(5):
                assert list(pool.map(_verdict, texts)) == expected
    finally:
        sys.setswitchinterval(interval)
