"""Wire decoding and canonical bytes: the only place JSON text becomes Python data and back.

Canonical bytes are RFC 8785 (JCS) from a maintained library, never ``json.dumps(sort_keys=True)``,
which differs from JCS on number and string forms and would fork implementations.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import re
import threading
from collections.abc import Mapping
from typing import Any, Final, cast

import rfc8785

from iome_ref.constants import (
    MAX_INT_DIGITS,
    MAX_MESSAGE_BYTES,
    MAX_NESTING_DEPTH,
    MAX_SAFE_INT,
)
from iome_ref.errors import Malformed
from iome_ref.requirements import enforces

__all__ = [
    "canonical_json",
    "check_message_size",
    "compute_hash",
    "decode_json_object",
    "is_plain_json",
    "plain_canonical_json",
    "plain_canonical_text",
]


@enforces("IOME-ENC-002")
def check_message_size(data: bytes, limit: int = MAX_MESSAGE_BYTES) -> None:
    """Refuse oversized input before parsing, so a hostile peer cannot make a node parse gigabytes.

    ``limit`` is larger only for documents that wrap a message (an evidence bundle).

    Raises:
        Malformed: IOME-ENC-002.
    """
    if len(data) > limit:
        raise Malformed("IOME-ENC-002", f"message is {len(data)} bytes, limit is {limit}")


#: Bytes the nesting pre-scan keeps: quotes and brackets; objects count as arrays.
_KEEP = b'"[]{}'
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_DROP = bytes(c for c in range(256) if c not in _KEEP)
#: Unicode noncharacters (U+FDD0..U+FDEF and the last two code points of every plane) and
#: surrogates, which RFC 7493 §2.1 forbids in an I-JSON text.
_FORBIDDEN_CODE_POINT = re.compile(
    "[\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
    + "]"
)
#: A ``\\u`` escape that can spell a surrogate or a noncharacter of the first plane; any other
#: escape yields a permitted code point, so text without one skips the walk over its strings.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|[fF][dD][d-eD-E]|[fF]{3}[eEfF])")


def _check_nesting(raw: bytes) -> None:
    """Refuse a text nested deeper than ``MAX_NESTING_DEPTH`` without parsing it.

    The parser recurses once per level, so the limit is checked on the bytes first, in C-speed
    passes that do not depend on the caller's stack: drop escaped quotes, keep only quotes and
    brackets, drop string contents, then strip innermost ``[]`` pairs once per allowed level.
    A pair left after ``MAX_NESTING_DEPTH`` rounds lies deeper than the limit; unmatched
    brackets left over mean the text is not JSON. Both break IOME-ENC-001.
    """
    if b"\\" in raw:
        # Escapes are read left to right in pairs, so removing "\\\\" first and then '\\"'
        # leaves exactly the quotes that open and close strings.
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = raw.translate(_BRACKETS, _DROP)
    # Two adjacent quotes either delimit an empty string or separate two strings with no
    # bracket between them: removing them never moves a bracket into or out of a string.
    marks = marks.replace(b'""', b"")
    if b'"' in marks:
        marks = b"".join(marks.split(b'"')[::2])
    for _ in range(MAX_NESTING_DEPTH):
        if not marks:
            return
        marks = marks.replace(b"[]", b"")
    if b"[]" in marks:
        raise Malformed(
            "IOME-ENC-001", f"arrays and objects nest deeper than {MAX_NESTING_DEPTH} levels"
        )
    if marks:
        raise Malformed(
            "IOME-ENC-001",
            f"not JSON: brackets do not balance, or nest deeper than {MAX_NESTING_DEPTH} levels",
        )


#: Maps each digit to "0" and every other byte to "x", so that one C-speed ``find`` spots a run
#: of more than ``MAX_INT_DIGITS`` digits (a regular expression is ~50 times slower here).
_DIGITS_AS_ZERO = bytes(b"0"[0] if chr(c).isdigit() and c < 128 else b"x"[0] for c in range(256))
_LONG_RUN = b"0" * (MAX_INT_DIGITS + 1)


def _may_hold_unsafe_integer(raw: bytes) -> bool:
    """Whether the text may hold an integer literal longer than ``MAX_INT_DIGITS`` digits, or
    ``-0``. Strings are searched too, so this can only over-report: a hit sends the text down
    the path that reads every integer literal before converting any.
    """
    return b"-0" in raw or _LONG_RUN in raw.translate(_DIGITS_AS_ZERO)


def _is_long_integer(literal: str) -> bool:
    return len(literal) - (literal[0] == "-") > MAX_INT_DIGITS


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen = dict(pairs)
    if len(seen) != len(pairs):
        names = [key for key, _ in pairs]
        raise _DuplicateKeyError(next(k for k in names if names.count(k) > 1))
    return seen


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_constant(name: str) -> Any:
    raise _NonFiniteError(name)


class _NonFiniteError(ValueError):
    pass


@enforces("IOME-ENC-001")
def decode_json_object(data: bytes | str, *, limit: int = MAX_MESSAGE_BYTES) -> dict[str, Any]:
    """Decode one I-JSON object (RFC 7493) of bounded size and depth.

    Refused as IOME-ENC-001: a byte-order mark, text that is not UTF-8 or not one JSON object,
    nesting deeper than ``MAX_NESTING_DEPTH``, duplicate member names (parsers disagree on
    which value wins, and two nodes reading one message differently is a fork), NaN or
    Infinity, surrogates and Unicode noncharacters. Then, as IOME-ENC-007, any number literal
    that is not a short integer. Every check before conversion is linear in the input.

    Raises:
        Malformed: IOME-ENC-002 when too large, IOME-ENC-001, then IOME-ENC-007.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    check_message_size(raw, limit)
    if raw.startswith(b"\xef\xbb\xbf"):
        raise Malformed("IOME-ENC-001", "message starts with a byte-order mark (RFC 8259 §8.1)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed("IOME-ENC-001", f"message is not UTF-8 at byte {exc.start}") from None
    _check_nesting(raw)
    integers: list[str] = []
    # Number literals are collected by C-level list.append, never converted by a Python hook:
    # a fraction or exponent is always a fault, and an integer literal is converted only once
    # no literal can be long or -0 (int() raises ValueError past 4300 digits, and is
    # quadratic before that).
    suspect = _may_hold_unsafe_integer(raw)
    value, floats = _parse(text, integers if suspect else None)
    if not isinstance(value, dict):
        raise Malformed("IOME-ENC-001", f"expected a JSON object, found {type(value).__name__}")
    _check_code_points(text, value)
    fault = next(iter(floats), None)
    if fault is None and suspect:
        if "-0" in integers:
            fault = "-0"
        elif max(map(len, integers), default=0) > MAX_INT_DIGITS:
            fault = next(filter(_is_long_integer, integers), None)
    if fault is not None:
        shown = fault if len(fault) <= 24 else fault[:21] + "..."
        raise Malformed(
            "IOME-ENC-007",
            f"number {shown}: expected an integer of at most {MAX_INT_DIGITS} digits, "
            "without fraction, exponent or minus sign on zero",
        )
    if suspect:
        # Every integer literal is now known to be short: convert them in a plain C parse.
        value = json.loads(text)
    return cast("dict[str, Any]", value)


class _Decoder(threading.local):
    """Per thread, a decoder refusing what is not I-JSON and the fraction and exponent literals
    of the text it decodes: made once, because ``json.loads`` with hooks makes a decoder and its
    C scanner on every call, a fifth of decoding a small message."""

    def __init__(self) -> None:
        self.floats: list[str] = []
        self.decoder = json.JSONDecoder(
            object_pairs_hook=_refuse_duplicates,
            parse_constant=_refuse_constant,
            parse_float=self.floats.append,
        )


_DECODER = _Decoder()


def _parse(text: str, integers: list[str] | None) -> tuple[Any, list[str]]:
    """One parse refusing what is not I-JSON: the value, and the number literals other than
    integers (each replaced by None in the value). When ``integers`` is given every integer
    literal is appended to it instead of being converted (a separate decoder, made for it).

    Raises:
        Malformed: IOME-ENC-001.
    """
    try:
        if integers is None:
            local = _DECODER
            local.floats.clear()
            return local.decoder.decode(text), list(local.floats)
        floats: list[str] = []
        value = json.loads(
            text,
            object_pairs_hook=_refuse_duplicates,
            parse_constant=_refuse_constant,
            parse_float=floats.append,
            parse_int=integers.append,
        )
        return value, floats
    except _DuplicateKeyError as exc:
        raise Malformed("IOME-ENC-001", f"member name {exc.key!r} appears twice") from None
    except _NonFiniteError as exc:
        raise Malformed("IOME-ENC-001", f"non-finite number {exc} is not JSON") from None
    except json.JSONDecodeError as exc:
        raise Malformed(
            "IOME-ENC-001", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _check_code_points(text: str, value: Any) -> None:
    """Refuse surrogates and noncharacters, written raw or as escapes (RFC 7493 §2.1).

    Raw UTF-8 cannot spell a surrogate, and ASCII text holds no noncharacter, so the usual
    message costs one ``isascii`` and one search; only a suspect escape costs a walk over the
    decoded strings, where escape pairs have been combined into code points.
    """
    found = None if text.isascii() else _FORBIDDEN_CODE_POINT.search(text)
    if found is None and _SUSPECT_ESCAPE.search(text):
        found = next(filter(None, map(_FORBIDDEN_CODE_POINT.search, _strings(value))), None)
    if found is not None:
        raise Malformed(
            "IOME-ENC-001",
            f"a string holds U+{ord(found.group()):04X}, a surrogate or noncharacter "
            "(RFC 7493 §2.1)",
        )


def _strings(value: Any) -> list[str]:
    """Every member name and string value in decoded JSON, without recursion."""
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


#: The C encoder writing plain data as RFC 8785 does (see :func:`is_plain_json`): what
#: ``json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode``
#: runs, made once (``encode`` makes it again on every call, which cost more than the writing
#: of a transaction's lists). ``encode_basestring`` is the writer of ``ensure_ascii=False``:
#: with it Python, like JCS, writes DEL (U+007F) raw. No cycle markers: plain data comes from
#: a JSON text or a validated model, and :func:`is_plain_json` has walked it first.
_PLAIN_ENCODE: Final = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, None, json.encoder.encode_basestring, None, ":", ",", True, False, False
)


def is_plain_json(value: Any) -> bool:
    """Whether ``value`` is built only of dicts with ASCII string keys, lists, ASCII strings,
    integers within ±MAX_SAFE_INT, booleans and None (exact types, no subclasses).

    For such data ``json.dumps`` with sorted keys, no spaces and ``ensure_ascii=False`` writes
    exactly RFC 8785's bytes: integers in that range print as ES6 prints them, Python escapes
    an ASCII string with the very table JCS uses (the rfc8785 library copied it from Python),
    and ASCII keys sort alike by code point and by UTF-16 unit. Every transaction the models
    admit is such data; anything else takes the library's path.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if not item.isascii():
                return False
        elif kind is int:
            if not -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
                return False
        elif kind is dict:
            try:
                if not all(map(str.isascii, item)):
                    return False
            except TypeError:  # a key that is not a str
                return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif item is not None and kind is not bool:
            return False
    return True


def plain_canonical_text(value: Any) -> str | None:
    """RFC 8785 text of ``value`` if it is plain data (:func:`is_plain_json`), written by the
    C encoder; None otherwise (the caller takes the general path)."""
    if is_plain_json(value):
        return "".join(_PLAIN_ENCODE(value, 0))
    return None


def plain_canonical_json(value: Any) -> bytes | None:
    """:func:`plain_canonical_text` as bytes (the text is ASCII)."""
    text = plain_canonical_text(value)
    return None if text is None else text.encode()


def canonical_json(value: Mapping[str, Any] | list[Any]) -> bytes:
    """RFC 8785 canonical bytes of already-validated JSON data.

    Plain data (:func:`is_plain_json`, every transaction) is written by the C encoder of
    ``json``, byte for byte what the rfc8785 library writes and ~5 times faster (issue 16:
    tx ids were 37% of a block's application); anything else goes through the library.
    Models reject floats and out-of-range integers first, so the library's domain errors can
    only mean a bug; they still surface as Malformed, never as a bare ValueError.

    Raises:
        Malformed: IOME-ENC-007 if the data holds a number JCS cannot encode.
    """
    plain = plain_canonical_json(value)
    if plain is not None:
        return plain
    try:
        return bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError as exc:
        raise Malformed("IOME-ENC-007", f"value cannot be canonicalised: {exc}") from None


def compute_hash(data: bytes) -> str:
    """Lowercase hex SHA-256, the protocol's one hash (tx ids, block hashes, data commitments)."""
    return hashlib.sha256(data).hexdigest()
