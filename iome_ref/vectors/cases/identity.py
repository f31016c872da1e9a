"""Vectors for decoding (IOME-ENC-*) and signature validity (IOME-SIG-*).

The signature cases pin DESIGN §2's Ed25519 rule: each edge case on which libraries disagree
(S >= L, non-canonical A or R, small-order A or R, off-curve points) gets its own case and id.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from iome_ref.constants import MAX_LIST_LEN, MAX_MESSAGE_BYTES, MAX_SAFE_INT
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
    return book


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
