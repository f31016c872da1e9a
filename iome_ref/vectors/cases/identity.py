"""Vectors for decoding (IOME-ENC-*) and signature validity (IOME-SIG-*).

The signature cases pin DESIGN §2's Ed25519 rule: each edge case on which libraries disagree
(S >= L, non-canonical A or R, small-order A or R, off-curve points) gets its own case and id.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from iome_ref.constants import (
    MAX_INT_DIGITS,
    MAX_LIST_LEN,
    MAX_MESSAGE_BYTES,
    MAX_NESTING_DEPTH,
    MAX_SAFE_INT,
    MAX_TRIP_VERIFIERS,
    OD_CELL_LEN,
)
from iome_ref.crypto import (
    FIELD_PRIME,
    GROUP_ORDER,
    KEY_DERIVATION_PREFIX,
    KeyPair,
    is_canonical_encoding,
)
from iome_ref.crypto import decompress_point as decompress
from iome_ref.models import ESDP
from iome_ref.vectors.builders import Builder, forge
from iome_ref.vectors.cases.book import CaseBook

__all__ = ["encoding_cases", "signature_cases"]


def _text(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


def encoding_cases(b: Builder) -> CaseBook:
    book = CaseBook("encoding")
    esdp = b.esdp()
    good = esdp.model_dump(mode="json")

    def field(name: str, value: Any) -> dict[str, Any]:
        return good | {name: value}

    book.valid(
        "esdp-as-text", "a valid ESDP given as wire text decodes and validates", text=_text(good)
    )
    book.invalid("not-json", "IOME-ENC-001", "text that is not JSON", text="{type: ESDP}")
    book.invalid(
        "trailing-data", "IOME-ENC-001", "a second value after the object", text=_text(good) + " {}"
    )
    book.invalid(
        "array", "IOME-ENC-001", "a JSON array, not an object", text="[" + _text(good) + "]"
    )
    book.invalid(
        "duplicate-member",
        "IOME-ENC-001",
        "region given twice: parsers disagree on which wins",
        text=_text(good)[:-1] + ',"region":"south"}',
        flags=["parser-differential"],
    )
    book.invalid(
        "nan",
        "IOME-ENC-001",
        "NaN is not JSON",
        text=_text(good).replace('"supply_wh":12000', '"supply_wh":NaN'),
    )
    book.invalid(
        "lone-surrogate",
        "IOME-ENC-001",
        "a lone surrogate is not UTF-8",
        text=_text(field("region", "\ud800")),
    )
    book.invalid(
        "unknown-type", "IOME-ENC-003", "type names no message", obj=field("type", "Refund")
    )
    book.invalid(
        "missing-type",
        "IOME-ENC-003",
        "no type member",
        obj={k: v for k, v in good.items() if k != "type"},
    )
    book.invalid("extra-field", "IOME-ENC-004", "an unknown field", obj=field("comment", "hi"))
    book.invalid(
        "missing-field",
        "IOME-ENC-005",
        "demand_wh missing",
        obj={k: v for k, v in good.items() if k != "demand_wh"},
    )
    book.invalid(
        "uppercase-key",
        "IOME-ENC-006",
        "issuer_pk in uppercase hex",
        obj=field("issuer_pk", esdp.issuer_pk.upper()),
    )
    book.invalid(
        "short-tx-id", "IOME-ENC-006", "tx_id of 63 hex digits", obj=field("tx_id", esdp.tx_id[:-1])
    )
    book.invalid(
        "long-signature",
        "IOME-ENC-006",
        "signature of 130 hex digits",
        obj=field("signature", esdp.signature + "00"),
    )
    book.invalid(
        "float-energy",
        "IOME-ENC-007",
        "12000.0 is a float",
        text=_text(good).replace('"supply_wh":12000', '"supply_wh":12000.0'),
    )
    book.invalid(
        "exponent-energy",
        "IOME-ENC-007",
        "1.2e4 is a float",
        text=_text(good).replace('"supply_wh":12000', '"supply_wh":1.2e4'),
    )
    book.invalid(
        "bool-energy", "IOME-ENC-007", "true is not an integer", obj=field("supply_wh", True)
    )
    book.invalid(
        "string-energy", "IOME-ENC-007", "a numeric string", obj=field("supply_wh", "12000")
    )
    book.invalid(
        "unsafe-integer",
        "IOME-ENC-007",
        "2^53 is outside the I-JSON safe range",
        obj=field("supply_wh", MAX_SAFE_INT + 1),
        flags=["huge-number"],
    )
    book.invalid(
        "huge-integer",
        "IOME-ENC-007",
        "a 40-digit integer",
        text=_text(good).replace('"supply_wh":12000', '"supply_wh":' + "9" * 40),
        flags=["huge-number"],
    )
    book.invalid(
        "uppercase-region",
        "IOME-ENC-008",
        "identifiers are lowercase",
        obj=field("region", "North"),
    )
    book.invalid("empty-region", "IOME-ENC-008", "an empty identifier", obj=field("region", ""))
    book.invalid(
        "long-region", "IOME-ENC-008", "a 33-character identifier", obj=field("region", "r" * 33)
    )
    book.invalid(
        "unknown-role",
        "IOME-ENC-009",
        "issuer_role outside its enumeration",
        obj=field("issuer_role", "vpp"),
    )
    regions = [f"r{i:05d}" for i in range(MAX_LIST_LEN + 1)]
    book.invalid(
        "too-many-regions",
        "IOME-ENC-010",
        "a list one longer than MAX_LIST_LEN",
        obj=b.registration().model_dump(mode="json") | {"regions": regions},
    )
    book.invalid(
        "wrong-tx-id",
        "IOME-ENC-011",
        "a well-formed tx_id that is not the hash of the canonical bytes",
        obj=field("tx_id", hashlib.sha256(b"other").hexdigest()),
    )
    book.invalid(
        "edited-after-signing",
        "IOME-ENC-011",
        "demand changed after signing, tx_id left as it was",
        obj=field("demand_wh", 1),
        flags=["tamper"],
    )
    book.invalid("negative-energy", "IOME-ENC-012", "negative supply", obj=field("supply_wh", -1))
    book.valid(
        "max-safe-energy", "2^53 - 1 Wh is still in range", obj=b.esdp(supply_wh=MAX_SAFE_INT)
    )
    _lexical_cases(book, b, good)
    room = MAX_MESSAGE_BYTES - len(_text(good).encode())
    book.valid(
        "at-size-limit",
        "padded with spaces to exactly MAX_MESSAGE_BYTES: whitespace counts toward the size",
        text=_text(good),
        pad=room,
        flags=["boundary"],
    )
    book.invalid(
        "over-size-limit",
        "IOME-ENC-002",
        "one byte over MAX_MESSAGE_BYTES, refused before it is parsed",
        text=_text(good),
        pad=room + 1,
        flags=["boundary", "resource-exhaustion"],
    )
    return book


def _lexical_cases(book: CaseBook, b: Builder, good: dict[str, Any]) -> None:
    """The lexical choices of encoding.md ("Lexical choices"): one case per row."""
    text = _text(good)
    supply = '"supply_wh":12000'
    assert supply in text
    assert '"region":"north"' in text

    def number(literal: str) -> str:
        return text.replace(supply, '"supply_wh":' + literal)

    def region(value: str) -> str:
        return text.replace('"region":"north"', '"region":"' + value + '"')

    book.invalid(
        "byte-order-mark",
        "IOME-ENC-001",
        "a UTF-8 byte-order mark before the object: RFC 8259 §8.1 lets a receiver ignore it, "
        "IoME refuses it",
        text="\ufeff" + text,
        flags=["parser-differential"],
    )
    depth = MAX_NESTING_DEPTH - 1  # the message object is level 1
    book.invalid(
        "nesting-at-limit",
        "IOME-ENC-008",
        f"region nested in arrays to depth MAX_NESTING_DEPTH ({MAX_NESTING_DEPTH}): decodes, "
        "then fails the identifier kind",
        text=region("x").replace('"region":"x"', '"region":' + "[" * depth + "]" * depth),
    )
    book.invalid(
        "nesting-over-limit",
        "IOME-ENC-001",
        f"arrays nested to depth MAX_NESTING_DEPTH + 1 ({MAX_NESTING_DEPTH + 1}): refused "
        "before parsing, whatever the caller's stack",
        text=region("x").replace(
            '"region":"x"', '"region":' + "[" * (depth + 1) + "]" * (depth + 1)
        ),
        flags=["parser-differential"],
    )
    book.invalid(
        "escaped-duplicate-member",
        "IOME-ENC-001",
        "region given twice, the second name spelled with an escape: names compare decoded",
        text=text[:-1] + ',"regio\\u006e":"south"}',
        flags=["parser-differential"],
    )
    book.valid(
        "escaped-member-name-and-value",
        "a member name and a value spelled with escapes decode to the plain ESDP",
        text=region("\\u006eorth").replace('"region"', '"\\u0072egion"'),
    )
    book.invalid(
        "control-character",
        "IOME-ENC-001",
        "an unescaped U+0001 inside a string",
        text=region("no\u0001rth"),
    )
    for slug, spelled, comment in (
        ("noncharacter-fdd0", "\ufdd0", "U+FDD0, first of the noncharacter block, raw"),
        ("noncharacter-fdef-escaped", "\\ufdef", "U+FDEF, last of the block, escaped"),
        ("noncharacter-ffff-escaped", "\\uffff", "U+FFFF, escaped"),
        ("noncharacter-1fffe", "\U0001fffe", "U+1FFFE, a plane-1 noncharacter, raw"),
        (
            "noncharacter-10ffff-escaped",
            "\\udbff\\udfff",
            "U+10FFFF, the last code point, escaped as a surrogate pair",
        ),
        ("lone-low-surrogate", "\\udc00", "an escaped low surrogate with no high one"),
    ):
        book.invalid(
            slug,
            "IOME-ENC-001",
            f"a string holds {comment}: RFC 7493 §2.1 forbids noncharacters and surrogates",
            text=region("n" + spelled),
            flags=["parser-differential"],
        )
    for slug, literal, comment in (
        ("leading-zero", "012000", "a leading zero is not JSON"),
        ("plus-sign", "+12000", "a plus sign is not JSON"),
        ("bare-fraction", "12000.", "a fraction without digits is not JSON"),
    ):
        book.invalid(slug, "IOME-ENC-001", comment, text=number(literal))
    book.invalid(
        "trailing-comma", "IOME-ENC-001", "a comma after the last member", text=text[:-1] + ",}"
    )
    book.invalid(
        "syntax-before-number",
        "IOME-ENC-001",
        "-0 and a trailing comma: not JSON is reported before the number",
        text=number("-0")[:-1] + ",}",
    )
    for slug, literal, comment in (
        ("minus-zero", "-0", "-0: each integer has one spelling"),
        ("minus-zero-fraction", "-0.0", "-0.0 is a float"),
        ("integer-exponent", "12e3", "12e3 has an integer value but an exponent"),
        ("exponent-overflow", "1e400", "1e400 overflows a double"),
        (
            "seventeen-digits",
            "1" + "0" * MAX_INT_DIGITS,
            "MAX_INT_DIGITS + 1 digits: cannot be a safe integer",
        ),
        (
            "five-thousand-digits",
            "9" * 5000,
            "a 5000-digit literal, past Python's int() limit: refused before conversion",
        ),
    ):
        book.invalid(slug, "IOME-ENC-007", comment, text=number(literal), flags=["huge-number"])
    book.invalid(
        "long-integer-in-unknown-member",
        "IOME-ENC-007",
        "a 17-digit literal in a member ESDP does not define: the literal is refused while "
        "decoding, before the undefined member (IOME-ENC-004)",
        text=text[:-1] + ',"memo":' + "1" * (MAX_INT_DIGITS + 1) + "}",
        flags=["huge-number"],
    )
    book.invalid(
        "fraction-in-unknown-member",
        "IOME-ENC-007",
        "a float in a member ESDP does not define is refused while decoding",
        text=text[:-1] + ',"memo":0.5}',
    )
    book.invalid(
        "long-list-of-wrong-entries",
        "IOME-ENC-010",
        "MAX_LIST_LEN + 1 regions, every one of the wrong type: the length is judged first",
        obj=b.registration().model_dump(mode="json") | {"regions": [0] * (MAX_LIST_LEN + 1)},
    )
    trip = b.trip().model_dump(mode="json")
    extra = [
        {"verifier_pk": b.key(f"impostor-{i}").public_hex, "signature": "00" * 64}
        for i in range(MAX_TRIP_VERIFIERS + 1)
    ]
    book.invalid(
        "too-many-verifier-sigs",
        "IOME-ENC-010",
        "MAX_TRIP_VERIFIERS + 1 quorum signatures: refused while decoding, before any is verified",
        obj=trip | {"verifier_sigs": extra},
        flags=["bounded-cost"],
    )
    odm = b.od_matrix([b.trip()]).model_dump(mode="json")
    book.invalid(
        "od-cell-too-long",
        "IOME-ENC-010",
        f"an O-D cell of OD_CELL_LEN + 1 ({OD_CELL_LEN + 1}) entries",
        obj=odm | {"cells": [[*odm["cells"][0], 1]]},
    )


def _le(value: int) -> str:
    return value.to_bytes(32, "little").hex()


def _off_curve() -> str:
    """The smallest y (as an encoding) that decodes to no curve point."""
    y = 2
    while decompress(y.to_bytes(32, "little")) is not None:
        y += 1
    return _le(y)


_IDENTITY = _le(1)
_IDENTITY_NON_CANONICAL = _le(FIELD_PRIME + 1)


def _scalar(seed: bytes) -> int:
    """The clamped secret scalar Ed25519 derives from a 32-byte private key (RFC 8032 §5.1.5)."""
    private = hashlib.sha256(KEY_DERIVATION_PREFIX + seed).digest()
    digest = bytearray(hashlib.sha512(private).digest()[:32])
    digest[0] &= 248
    digest[31] &= 127
    digest[31] |= 64
    return int.from_bytes(digest, "little")


def signature_cases(b: Builder) -> CaseBook:
    book = CaseBook("signatures")
    home = b.key("home-1")
    esdp = b.esdp()
    fields = esdp.model_dump(mode="json", exclude={"tx_id", "signature"})
    sig = bytes.fromhex(esdp.signature)
    r_part, s_value = sig[:32], int.from_bytes(sig[32:], "little")

    book.valid("baseline", "a correctly signed ESDP", esdp)
    book.invalid(
        "bit-flip",
        "IOME-SIG-001",
        "one bit of S flipped",
        forge(ESDP, fields, signature=(sig[:40] + bytes([sig[40] ^ 1]) + sig[41:]).hex()),
    )
    book.invalid(
        "other-key",
        "IOME-SIG-001",
        "signed by a key other than issuer_pk",
        forge(ESDP, fields, signature=b.key("home-2").sign("ESDP", esdp.tx_id)),
    )
    book.invalid(
        "cross-type-replay",
        "IOME-SIG-001",
        "the issuer signature over this tx id under the EPS tag: domain separation refuses it",
        forge(ESDP, fields, signature=home.sign("EPS", esdp.tx_id)),
        flags=["cross-type-replay"],
    )
    book.invalid(
        "no-domain-tag",
        "IOME-SIG-001",
        "a signature over the bare tx id, without the IoME/1 prefix",
        forge(ESDP, fields, signature=home.private.sign(bytes.fromhex(esdp.tx_id)).hex()),
        flags=["cross-protocol-replay"],
    )
    book.invalid(
        "s-plus-order",
        "IOME-SIG-002",
        "S replaced by S + L: malleable, refused before the equation",
        forge(
            ESDP, fields, signature=(r_part + (s_value + GROUP_ORDER).to_bytes(32, "little")).hex()
        ),
        flags=["malleability", "library-divergence"],
    )
    assert not is_canonical_encoding(bytes.fromhex(_IDENTITY_NON_CANONICAL))
    fake_sig = (bytes(32) + (1).to_bytes(32, "little")).hex()
    book.invalid(
        "key-non-canonical",
        "IOME-SIG-003",
        "issuer_pk encodes y = p + 1",
        forge(ESDP, fields | {"issuer_pk": _IDENTITY_NON_CANONICAL}, signature=fake_sig),
        flags=["non-canonical", "library-divergence"],
    )
    book.invalid(
        "key-off-curve",
        "IOME-SIG-007",
        "issuer_pk decodes to no curve point",
        forge(ESDP, fields | {"issuer_pk": _off_curve()}, signature=fake_sig),
    )
    book.invalid(
        "key-identity",
        "IOME-SIG-005",
        "issuer_pk is the identity point, of order 1",
        forge(ESDP, fields | {"issuer_pk": _IDENTITY}, signature=fake_sig),
        flags=["small-order"],
    )
    # With A the identity, [S]B = R + [k]A holds for R = [r]B, S = r and any message: a
    # signature that verifies under the cofactorless equation alone (OpenSSL accepts it).
    seed = b"small-order-forgery"
    forged_r = KeyPair.from_seed(seed).public_bytes
    forged = forged_r + (_scalar(seed) % GROUP_ORDER).to_bytes(32, "little")
    book.invalid(
        "identity-key-universal-forgery",
        "IOME-SIG-005",
        "A = identity with R = [r]B, S = r satisfies the equation for every message",
        forge(ESDP, fields | {"issuer_pk": _IDENTITY}, signature=forged.hex()),
        flags=["small-order", "library-divergence", "forgery"],
    )
    book.invalid(
        "r-non-canonical",
        "IOME-SIG-004",
        "R encodes y = p + 1",
        forge(ESDP, fields, signature=_IDENTITY_NON_CANONICAL + sig[32:].hex()),
        flags=["non-canonical", "library-divergence"],
    )
    book.invalid(
        "r-off-curve",
        "IOME-SIG-007",
        "R decodes to no curve point",
        forge(ESDP, fields, signature=_off_curve() + sig[32:].hex()),
    )
    book.invalid(
        "r-identity",
        "IOME-SIG-006",
        "R is the identity point",
        forge(ESDP, fields, signature=_IDENTITY + sig[32:].hex()),
        flags=["small-order", "library-divergence"],
    )
    book.invalid(
        "zero-signature",
        "IOME-SIG-006",
        "an all-zero signature: R encodes y = 0, the point (sqrt(-1), 0) of order 4",
        forge(ESDP, fields, signature="00" * 64),
        flags=["small-order"],
    )
    return book
