"""Strict Ed25519 (DESIGN §2): each refusal carries the id of the first check it fails.

Edge cases are built here from the curve's definition (RFC 8032 §5.1), independently of
``iome_ref.crypto``: the 8 small-order points are the published list (libsodium's blocklist,
"Taming the many EdDSAs", Chalkias et al. 2020), on-curve tests use Euler's criterion, and
signatures that satisfy the equation are forged from the secret scalar by hand.

Wycheproof's ``ed25519_test.json`` is read in place from ../shared/data/wycheproof. Its
"acceptable" verdict means "a library may go either way"; IoME may not, so such a case gets
whatever the strict rule says and the test only demands a Rejected with a SIG id or an accept,
never another exception. The pinned file (see SOURCE.txt there) holds no acceptable cases.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

import pytest
from conftest import require_shared
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from helpers import vector_messages
from hypothesis import given, settings
from hypothesis import strategies as st

import iome_ref.crypto as crypto_module
from iome_ref.crypto import KeyPair, is_valid_signature, signing_message, verify, verify_raw
from iome_ref.errors import Rejected, UsageError
from iome_ref.models import Block, SignedModel

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, -1, P) % P

#: The 8 points of order dividing 8, canonically encoded (identity, order 2, 4, 4, 8, 8, 8, 8).
SMALL_ORDER_CANONICAL = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
]


def encode(y: int, sign: int = 0) -> bytes:
    """A 32-byte point encoding with the given y field and x sign bit, canonical or not."""
    return (y | sign << 255).to_bytes(32, "little")


#: Second spellings of small-order points: y + p for y = 0 and y = 1, and "negative zero".
SMALL_ORDER_NON_CANONICAL = [
    encode(P, 0),
    encode(P, 1),
    encode(P + 1, 0),
    encode(P + 1, 1),
    encode(1, 1),
    encode(P - 1, 1),
]


def on_curve(y: int) -> bool:
    """Whether some x satisfies -x^2 + y^2 = 1 + d x^2 y^2 (Euler's criterion on x^2)."""
    x2 = (y * y - 1) * pow(D * y * y + 1, -1, P) % P
    return x2 == 0 or pow(x2, (P - 1) // 2, P) == 1


#: A y < 19 naming a curve point, so y + p is a non-canonical spelling of a large-order point.
Y_ALIASABLE = next(y for y in range(2, 19) if on_curve(y))
#: A canonical y naming no curve point.
Y_OFF_CURVE = next(y for y in range(2, 100) if not on_curve(y))

ALICE = KeyPair.derive("test", "alice")
PAYLOAD = hashlib.sha256(b"payload").hexdigest()


def secret_scalar(seed: bytes) -> int:
    """The clamped scalar a of KeyPair.from_seed(seed), per RFC 8032 §5.1.5."""
    private = hashlib.sha256(b"IoME/1/key/" + seed).digest()
    a = int.from_bytes(hashlib.sha512(private).digest()[:32], "little")
    return (a & ((1 << 254) - 8)) | (1 << 254)


def raw_signature() -> tuple[bytes, bytes, bytes]:
    """(public key, signature, message) of one honest signature by ALICE."""
    message = signing_message("EPS", PAYLOAD)
    return ALICE.public_bytes, bytes.fromhex(ALICE.sign("EPS", PAYLOAD)), message


def rejected_id(public_key: bytes, signature: bytes, message: bytes) -> str:
    with pytest.raises(Rejected) as info:
        verify_raw(public_key, signature, message)
    return info.value.req_id


# --------------------------------------------------------------------------- message and keys


def test_accepts_signing_message_exact_bytes() -> None:
    assert signing_message("EPS", "ab" * 32) == b"IoME/1/EPS/" + b"ab" * 32
    assert signing_message("Presence.pk", "00") == b"IoME/1/Presence.pk/00"


@pytest.mark.parametrize(("tag", "payload"), [("EPS\u00e9", "00"), ("EPS", "\u00e900"), (1, "00")])
def test_rejects_non_ascii_signing_message_as_usage(tag: Any, payload: str) -> None:
    with pytest.raises(UsageError) as info:
        signing_message(tag, payload)
    need = "str" if isinstance(tag, int) else "ASCII"
    assert str(info.value) == f"crypto: signing message: tag and payload must be {need}"
    assert not is_valid_signature(ALICE.public_hex, "00" * 64, tag, payload)


def test_accepts_deterministic_keys_from_seed() -> None:
    first = KeyPair.from_seed(b"seed")
    private = hashlib.sha256(b"IoME/1/key/seed").digest()
    raw = first.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    assert raw == private
    assert first == KeyPair.from_seed(b"seed")
    assert hash(first) == hash(KeyPair.from_seed(b"seed"))
    assert first != KeyPair.from_seed(b"seed2")
    assert KeyPair.derive("station", 3) == KeyPair.from_seed(b"station/3")
    assert len(first.public_hex) == 64
    assert first.public_bytes == bytes.fromhex(first.public_hex)
    assert private.hex() not in repr(first)


def test_rejects_key_pair_with_foreign_public_key() -> None:
    other = KeyPair.derive("other")
    with pytest.raises(UsageError) as info:
        KeyPair(ALICE.private, other.public_hex)
    assert str(info.value) == "crypto: KeyPair: public_hex does not match the private key"


@pytest.mark.req("IOME-SIG-001")
def test_accepts_honest_signature() -> None:
    signature = ALICE.sign("EPS", PAYLOAD)
    assert len(signature) == 128
    assert signature == signature.lower()
    verify(ALICE.public_hex, signature, "EPS", PAYLOAD)
    assert is_valid_signature(ALICE.public_hex, signature, "EPS", PAYLOAD)


# --------------------------------------------------------------------------- SIG-001


@pytest.mark.req("IOME-SIG-001")
def test_rejects_signature_replayed_under_another_tag() -> None:
    signature = ALICE.sign("EPS", PAYLOAD)
    with pytest.raises(Rejected) as info:
        verify(ALICE.public_hex, signature, "ESDP", PAYLOAD)
    assert info.value.req_id == "IOME-SIG-001"
    assert not is_valid_signature(ALICE.public_hex, signature, "ESDP", PAYLOAD)


@pytest.mark.req("IOME-SIG-001")
def test_rejects_flipped_bits() -> None:
    public_key, signature, message = raw_signature()
    low_s_bit = signature[:32] + bytes([signature[32] ^ 1]) + signature[33:]
    assert rejected_id(public_key, low_s_bit, message) == "IOME-SIG-001"
    flipped_message = bytes([message[0] ^ 1]) + message[1:]
    assert rejected_id(public_key, signature, flipped_message) == "IOME-SIG-001"
    other_payload = PAYLOAD[:-1] + ("0" if PAYLOAD[-1] != "0" else "1")
    with pytest.raises(Rejected) as info:
        verify(ALICE.public_hex, signature.hex(), "EPS", other_payload)
    assert info.value.req_id == "IOME-SIG-001"


@pytest.mark.req("IOME-SIG-001")
def test_rejects_signature_by_another_key() -> None:
    _, signature, message = raw_signature()
    assert rejected_id(KeyPair.derive("bob").public_bytes, signature, message) == "IOME-SIG-001"


# --------------------------------------------------------------------------- SIG-002


@pytest.mark.req("IOME-SIG-002")
@pytest.mark.parametrize("s", [L, "s+L", 2**256 - 1])
def test_rejects_s_not_below_order(s: int | str) -> None:
    public_key, signature, message = raw_signature()
    value = int.from_bytes(signature[32:], "little") + L if s == "s+L" else s
    assert isinstance(value, int)
    bad = signature[:32] + value.to_bytes(32, "little")
    assert rejected_id(public_key, bad, message) == "IOME-SIG-002"


# --------------------------------------------------------------------------- SIG-003 / SIG-004


@pytest.mark.req("IOME-SIG-003")
@pytest.mark.parametrize("encoding", [*SMALL_ORDER_NON_CANONICAL, encode(Y_ALIASABLE + P)])
def test_rejects_non_canonical_public_key(encoding: bytes) -> None:
    _, signature, message = raw_signature()
    assert rejected_id(encoding, signature, message) == "IOME-SIG-003"


@pytest.mark.req("IOME-SIG-004")
@pytest.mark.parametrize("encoding", [*SMALL_ORDER_NON_CANONICAL, encode(Y_ALIASABLE + P)])
def test_rejects_non_canonical_r(encoding: bytes) -> None:
    public_key, signature, message = raw_signature()
    assert rejected_id(public_key, encoding + signature[32:], message) == "IOME-SIG-004"


@pytest.mark.req("IOME-SIG-003")
def test_rejects_non_canonical_identity_key_even_when_equation_holds() -> None:
    """A = identity spelled y = p + 1, R = rB, S = r: [S]B = R + [k]A for every message."""
    r = secret_scalar(b"nonce") % L
    nonce_point = KeyPair.from_seed(b"nonce").public_bytes
    signature = nonce_point + r.to_bytes(32, "little")
    assert rejected_id(encode(P + 1), signature, b"any message") == "IOME-SIG-003"


# --------------------------------------------------------------------------- SIG-005 / SIG-006


@pytest.mark.req("IOME-SIG-005")
@pytest.mark.parametrize("encoding", SMALL_ORDER_CANONICAL)
def test_rejects_small_order_public_key(encoding: str) -> None:
    _, signature, message = raw_signature()
    assert rejected_id(bytes.fromhex(encoding), signature, message) == "IOME-SIG-005"


@pytest.mark.req("IOME-SIG-006")
@pytest.mark.parametrize("encoding", SMALL_ORDER_CANONICAL)
def test_rejects_small_order_r(encoding: str) -> None:
    public_key, signature, message = raw_signature()
    bad = bytes.fromhex(encoding) + signature[32:]
    assert rejected_id(public_key, bad, message) == "IOME-SIG-006"


@pytest.mark.req("IOME-SIG-005")
def test_rejects_identity_key_although_equation_holds() -> None:
    """A = identity, R = rB, S = r verifies cofactorlessly for any message: a universal forgery."""
    r = secret_scalar(b"nonce") % L
    signature = KeyPair.from_seed(b"nonce").public_bytes + r.to_bytes(32, "little")
    identity = bytes.fromhex(SMALL_ORDER_CANONICAL[0])
    # The library alone accepts it.
    Ed25519PublicKey.from_public_bytes(identity).verify(signature, b"any message")
    assert rejected_id(identity, signature, b"any message") == "IOME-SIG-005"


@pytest.mark.req("IOME-SIG-006")
def test_rejects_identity_r_although_equation_holds() -> None:
    """R = identity, S = k·a mod L satisfies [S]B = R + [k]A: a valid-looking nonce-free sig."""
    a = secret_scalar(b"test/alice")
    identity = bytes.fromhex(SMALL_ORDER_CANONICAL[0])
    message = signing_message("EPS", PAYLOAD)
    k = int.from_bytes(hashlib.sha512(identity + ALICE.public_bytes + message).digest(), "little")
    signature = identity + (k * a % L).to_bytes(32, "little")
    # The library alone accepts it.
    Ed25519PublicKey.from_public_bytes(ALICE.public_bytes).verify(signature, message)
    assert rejected_id(ALICE.public_bytes, signature, message) == "IOME-SIG-006"


# --------------------------------------------------------------------------- SIG-007


@pytest.mark.req("IOME-SIG-007")
@pytest.mark.parametrize("sign", [0, 1])
def test_rejects_points_off_the_curve(sign: int) -> None:
    public_key, signature, message = raw_signature()
    off = encode(Y_OFF_CURVE, sign)
    assert rejected_id(off, signature, message) == "IOME-SIG-007"
    assert rejected_id(public_key, off + signature[32:], message) == "IOME-SIG-007"


# --------------------------------------------------------------------------- SIG-008


@pytest.mark.req("IOME-SIG-008", "IOME-SIG-001")
def test_accepts_exact_raw_lengths() -> None:
    key = KeyPair.derive("raw-lengths")
    message = signing_message("ESDP", "ab" * 32)
    verify_raw(key.public_bytes, bytes.fromhex(key.sign("ESDP", "ab" * 32)), message)


@pytest.mark.req("IOME-SIG-008")
@pytest.mark.parametrize(("key_len", "sig_len"), [(31, 64), (33, 64), (0, 64), (32, 63), (32, 65)])
def test_rejects_wrong_raw_lengths(key_len: int, sig_len: int) -> None:
    public_key, signature, message = raw_signature()
    key = (public_key * 2)[:key_len]
    sig = (signature * 2)[:sig_len]
    assert rejected_id(key, sig, message) == "IOME-SIG-008"


@pytest.mark.req("IOME-SIG-008")
@pytest.mark.parametrize(
    ("key", "sig"),
    [
        ("upper", None),
        (None, "upper"),
        ("odd", None),
        (None, "nonhex"),
        (None, "spaces"),
        ("int", None),
        (None, "bytes"),
        ("short", None),
        (None, "short"),
        (None, "long"),
        (None, "ascii bytes"),
        ("half again", None),
        (None, "half again"),
    ],
)
def test_rejects_malformed_hex(key: str | None, sig: str | None) -> None:
    signature = ALICE.sign("EPS", PAYLOAD)
    mutate: dict[str | None, Any] = {
        None: None,
        "upper": lambda v: v.upper(),
        "odd": lambda v: v[:-1],
        "nonhex": lambda v: "zz" + v[2:],
        "spaces": lambda v: v[:2] + " " + v[3:],
        "int": lambda v: 7,
        "bytes": lambda v: bytes.fromhex(v)[:10],
        "short": lambda v: v[:-2],  # lowercase hex, one byte short or long
        "long": lambda v: v + "00",
        "ascii bytes": lambda v: v.encode(),  # the hex text's bytes, of the text's length
        # The right key or signature followed by more bytes: libsodium reads only the first
        # 32 bytes of a key, so a longer key must never reach it.
        "half again": lambda v: v + v[: len(v) // 2],
    }
    key_hex = ALICE.public_hex if key is None else mutate[key](ALICE.public_hex)
    sig_hex = signature if sig is None else mutate[sig](signature)
    with pytest.raises(Rejected) as info:
        verify(key_hex, sig_hex, "EPS", PAYLOAD)
    assert info.value.req_id == "IOME-SIG-008"
    assert not is_valid_signature(key_hex, sig_hex, "EPS", PAYLOAD)


# --------------------------------------------------------------------------- order of checks


@pytest.mark.req(
    "IOME-SIG-001",
    "IOME-SIG-002",
    "IOME-SIG-003",
    "IOME-SIG-004",
    "IOME-SIG-005",
    "IOME-SIG-006",
    "IOME-SIG-007",
    "IOME-SIG-008",
)
def test_rejects_with_the_first_failing_check() -> None:
    """Several faults at once: the documented order decides the one id every node reports."""
    public_key, signature, message = raw_signature()
    s_ok = signature[32:]
    s_big = (2**256 - 1).to_bytes(32, "little")
    small = bytes.fromhex(SMALL_ORDER_CANONICAL[4])
    alias = encode(P + 1)
    off = encode(Y_OFF_CURVE)
    cases = [
        (public_key[:31], alias + s_big, "IOME-SIG-008"),
        (alias, alias + s_big, "IOME-SIG-002"),
        (alias, alias + s_ok, "IOME-SIG-003"),
        (off, small + s_ok, "IOME-SIG-007"),
        (small, alias + s_ok, "IOME-SIG-005"),
        (public_key, alias + s_ok, "IOME-SIG-004"),
        (public_key, off + s_ok, "IOME-SIG-007"),
        (public_key, small + s_ok, "IOME-SIG-006"),
        (public_key, signature, "IOME-SIG-001"),
    ]
    for key, sig, expected in cases:
        wrong_message = message + b"!"
        assert rejected_id(key, sig, wrong_message) == expected


# --------------------------------------------------------------------------- properties


TAGS = st.sampled_from(["EPS", "ESDP", "Presence", "Presence.pk", "TripClaim", "Block"])


@settings(deadline=None)
@given(seed=st.binary(max_size=64), payload=st.binary(min_size=32, max_size=32), tag=TAGS)
def test_accepts_round_trip_for_any_key_and_payload(seed: bytes, payload: bytes, tag: str) -> None:
    keys = KeyPair.from_seed(seed)
    signature = keys.sign(tag, payload.hex())
    verify(keys.public_hex, signature, tag, payload.hex())


@pytest.mark.req("IOME-SIG-001")
@settings(deadline=None)
@given(
    seed=st.binary(max_size=64),
    payload=st.binary(min_size=32, max_size=32),
    tag=TAGS,
    index=st.integers(0, 63),
    delta=st.integers(1, 255),
)
def test_rejects_any_single_byte_mutation(
    seed: bytes, payload: bytes, tag: str, index: int, delta: int
) -> None:
    keys = KeyPair.from_seed(seed)
    signature = bytearray.fromhex(keys.sign(tag, payload.hex()))
    signature[index] ^= delta
    with pytest.raises(Rejected) as info:
        verify(keys.public_hex, signature.hex(), tag, payload.hex())
    assert info.value.req_id.startswith("IOME-SIG-")
    assert not is_valid_signature(keys.public_hex, signature.hex(), tag, payload.hex())


# --------------------------------------------------------------------------- Wycheproof


def load_wycheproof() -> list[dict[str, Any]]:
    """Every Ed25519 verification case, each with its group's public key under ``pk``."""
    path = require_shared("wycheproof/ed25519_test.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        {**case, "pk": group["publicKey"]["pk"]}
        for group in data["testGroups"]
        for case in group["tests"]
    ]


def judge(case: dict[str, Any]) -> str:
    """'accept' or the id of the refusal; anything but Rejected propagates and fails."""
    try:
        verify_raw(
            bytes.fromhex(case["pk"]), bytes.fromhex(case["sig"]), bytes.fromhex(case["msg"])
        )
    except Rejected as exc:
        return exc.req_id
    return "accept"


#: Refusals of the pinned file's invalid cases by id: a change means the check order moved.
WYCHEPROOF_INVALID_IDS = {
    "IOME-SIG-001": 12,
    "IOME-SIG-002": 17,
    "IOME-SIG-004": 5,
    "IOME-SIG-006": 7,
    "IOME-SIG-007": 10,
    "IOME-SIG-008": 12,
}


@pytest.mark.req(
    "IOME-SIG-001",
    "IOME-SIG-002",
    "IOME-SIG-004",
    "IOME-SIG-006",
    "IOME-SIG-007",
    "IOME-SIG-008",
)
def test_wycheproof_cases() -> None:
    cases = load_wycheproof()
    verdicts: dict[str, Counter[str]] = {"valid": Counter(), "invalid": Counter()}
    for case in cases:
        verdict = judge(case)
        result = case["result"]
        if result == "acceptable":
            assert verdict == "accept" or verdict.startswith("IOME-SIG-"), case["tcId"]
            continue
        expected_accept = result == "valid"
        assert (verdict == "accept") == expected_accept, (case["tcId"], case["comment"], verdict)
        verdicts[result][verdict] += 1
    assert sum(verdicts["valid"].values()) == 88
    assert dict(verdicts["invalid"]) == WYCHEPROOF_INVALID_IDS


# --------------------------------------------------------------------------- messages


@pytest.mark.req("IOME-SIG-001", "IOME-SIG-002", "IOME-SIG-005", "IOME-SIG-006", "IOME-SIG-008")
def test_rejects_with_message_naming_field_expected_found() -> None:
    """STYLE §4: one sentence, field, expected, found: pinned exactly, since implementers and
    users read it (and a mutated message must not pass)."""
    public_key, signature, message = raw_signature()
    s_big = (2**256 - 1).to_bytes(32, "little")
    small = bytes.fromhex(SMALL_ORDER_CANONICAL[4])
    alias, off = encode(P + 1), encode(Y_OFF_CURVE)
    cases = [
        (public_key[:31], alias + s_big, "IOME-SIG-008: public key: expected 32 bytes, found 31"),
        (
            alias,
            alias + s_big,
            f"IOME-SIG-002: signature S: expected S < L, found S = L + {2**256 - 1 - L}",
        ),
        (
            alias,
            alias + signature[32:],
            "IOME-SIG-003: public key A: expected a canonical encoding "
            f"(y < p, no negative zero), found {alias.hex()}",
        ),
        (
            off,
            small + signature[32:],
            f"IOME-SIG-007: public key A: expected a point on edwards25519, found {off.hex()}",
        ),
        (
            small,
            alias + signature[32:],
            "IOME-SIG-005: public key A: expected a point of large order, found small",
        ),
        (
            public_key,
            alias + signature[32:],
            "IOME-SIG-004: signature R: expected a canonical encoding "
            f"(y < p, no negative zero), found {alias.hex()}",
        ),
        (
            public_key,
            off + signature[32:],
            f"IOME-SIG-007: signature R: expected a point on edwards25519, found {off.hex()}",
        ),
        (
            public_key,
            small + signature[32:],
            "IOME-SIG-006: signature R: expected a point of large order, found small",
        ),
        (
            public_key,
            signature,
            "IOME-SIG-001: signature: the Ed25519 equation does not hold for this key and message",
        ),
    ]
    for key, sig, expected in cases:
        with pytest.raises(Rejected) as info:
            verify_raw(key, sig, message + b"!")
        assert info.value.req_id == expected.split(":")[0]
        assert str(info.value) == expected
    hex_cases = [
        (
            "ab" * 31,
            signature.hex(),
            "IOME-SIG-008: public key: expected 64 lowercase hex "
            "characters (32 bytes), found 62 characters 'abababababababab'",
        ),
        (7, signature, "IOME-SIG-008: public key: expected 32 bytes, found int"),
        (
            public_key.hex(),
            "zz" * 64,
            "IOME-SIG-008: signature: expected 128 lowercase hex "
            "characters (64 bytes), found 128 characters 'zzzzzzzzzzzzzzzz'",
        ),
        (public_key.hex(), b"\x00" * 63, "IOME-SIG-008: signature: expected 64 bytes, found 63"),
    ]
    for key_hex, sig_hex, expected in hex_cases:
        with pytest.raises(Rejected) as info:
            verify(key_hex, sig_hex, "EPS", "00")  # type: ignore[arg-type]
        assert info.value.req_id == "IOME-SIG-008"
        assert str(info.value) == expected


def test_rejects_non_bytes_message_naming_its_type() -> None:
    public_key, signature, _ = raw_signature()
    with pytest.raises(UsageError) as info:
        verify_raw(public_key, signature, "text")  # type: ignore[arg-type]
    assert str(info.value) == "crypto: message: expected bytes, found str"


class Text(str):
    """A str subclass, as a caller's own string type would be."""

    __slots__ = ()


def test_accepts_str_subclasses_as_their_text() -> None:
    """Arguments of a str subclass take the checking path, which judges them as their text."""
    signature = ALICE.sign("EPS", PAYLOAD)
    verify(Text(ALICE.public_hex), Text(signature), Text("EPS"), Text(PAYLOAD))
    with pytest.raises(Rejected) as info:
        verify(Text(ALICE.public_hex), Text(signature), Text("ESDP"), Text(PAYLOAD))
    assert info.value.req_id == "IOME-SIG-001"


def test_rejects_a_payload_of_bytes_as_usage() -> None:
    signature = ALICE.sign("EPS", PAYLOAD)
    with pytest.raises(UsageError, match="tag and payload must be str"):
        verify(ALICE.public_hex, signature, "EPS", PAYLOAD.encode())  # type: ignore[arg-type]


def test_accepts_the_built_in_torsion_table() -> None:
    # Runs at import, before any mutant or fault injection can act: call it as a test too.
    crypto_module._check_torsion_table()


#: RFC 8032 §5.1: the base point B (x even, y = 4/5).
BASE_X = 15112221349535400772501151409588531511454012693041857206046113283949847762202
BASE_Y = 46316835694926478169428394003475163141307993866256225615783033603165251855960


def test_accepts_decompressed_base_point_with_either_sign() -> None:
    assert crypto_module.decompress_point(encode(BASE_Y)) == (BASE_X, BASE_Y)
    assert crypto_module.decompress_point(encode(BASE_Y, 1)) == (P - BASE_X, BASE_Y)


def test_rejects_decompressing_at_the_boundaries() -> None:
    # y = p exactly would alias y = 0; x = 0 (y = 1) has no negative twin.
    assert crypto_module.decompress_point(encode(P)) is None
    assert crypto_module.decompress_point(encode(P - 1)) == (0, P - 1)
    assert crypto_module.decompress_point(encode(1)) == (0, 1)
    assert crypto_module.decompress_point(encode(1, 1)) is None
    assert crypto_module.decompress_point(encode(Y_OFF_CURVE)) is None


def test_rejects_non_canonical_encodings_of_any_length() -> None:
    assert crypto_module.is_canonical_encoding(encode(BASE_Y))
    assert not crypto_module.is_canonical_encoding(encode(BASE_Y)[:31])
    assert not crypto_module.is_canonical_encoding(encode(P))


def test_accepts_small_order_exactly_for_the_eight_torsion_points() -> None:
    for hex_point in SMALL_ORDER_CANONICAL:
        point = crypto_module.decompress_point(bytes.fromhex(hex_point))
        assert point is not None
        assert crypto_module.is_small_order(point)
    assert not crypto_module.is_small_order((BASE_X, BASE_Y))
    assert not crypto_module.is_small_order((P - BASE_X, BASE_Y))


def test_accepts_bytearray_and_memoryview_keys_and_signatures() -> None:
    public_key, signature, message = raw_signature()
    verify_raw(bytearray(public_key), memoryview(signature), message)
    assert crypto_module.decode_key_and_signature(bytearray(public_key), bytearray(signature)) == (
        public_key,
        signature,
    )


# --------------------------------------------------------------------------- the fast path
#
# An accepted signature costs libsodium's verify plus integer and table checks
# (``passes_encoding_rules``); refusals are diagnosed by the pure-Python checks (``_diagnose``),
# which define the rule. The tests below prove the two decide alike: on Wycheproof, on every
# signature of the committed vectors, and by a property over keys and nonces of every order,
# every kind of non-canonical or off-curve encoding, S out of range and bit flips.


def fast_accepts(public_key: bytes, signature: bytes, message: bytes) -> bool:
    return crypto_module.passes_encoding_rules(
        public_key, signature
    ) and crypto_module.sodium_accepts(public_key, signature, message)


def spec_accepts(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        crypto_module._diagnose(public_key, signature, message)
    except Rejected:
        return False
    return True


def decode_point(encoding: bytes) -> tuple[int, int]:
    """RFC 8032 §5.1.3 decoding, written here independently of the module (curve points only)."""
    value = int.from_bytes(encoding, "little")
    y, sign = value & ((1 << 255) - 1), value >> 255
    x2 = (y * y - 1) * pow(D * y * y + 1, -1, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * pow(2, (P - 1) // 4, P) % P
    assert (x * x - x2) % P == 0, "not a curve point"
    return ((P - x) % P if x & 1 != sign else x), y


def add_points(p: tuple[int, int], q: tuple[int, int]) -> tuple[int, int]:
    """Affine twisted Edwards addition (a = -1)."""
    (x1, y1), (x2, y2) = p, q
    t = D * x1 * x2 * y1 * y2 % P
    return (x1 * y2 + y1 * x2) * pow(1 + t, -1, P) % P, (y1 * y2 + x1 * x2) * pow(1 - t, -1, P) % P


def encode_point(point: tuple[int, int]) -> bytes:
    return encode(point[1], point[0] & 1)


def torsion_order(encoding: str) -> int:
    point = decode_point(bytes.fromhex(encoding))
    multiple, order = point, 1
    while multiple != (0, 1):
        multiple, order = add_points(multiple, point), order + 1
    return order


def mixed_order_signature(torsion: str, seed: bytes, *, holds: bool) -> tuple[bytes, bytes, bytes]:
    """A key A' = [a]B + T (T of small order, A' of large order but outside the prime-order
    subgroup) and an honest-looking signature whose cofactorless equation holds exactly when
    ``holds``: [S]B = R + [k]A' iff [k]T = 0, so messages are ground until k mod ord(T) fits.
    Both libraries reduce k = SHA-512(R || A || M) mod L first; the test pins that they agree."""
    order = torsion_order(torsion)
    key_point = add_points(
        decode_point(KeyPair.from_seed(seed).public_bytes), decode_point(bytes.fromhex(torsion))
    )
    public_key = encode_point(key_point)
    r = secret_scalar(b"nonce") % L
    nonce = KeyPair.from_seed(b"nonce").public_bytes
    for counter in range(1_000):
        message = signing_message("EPS", f"{counter:064x}")
        k = int.from_bytes(hashlib.sha512(nonce + public_key + message).digest(), "little") % L
        if (k % order == 0) == holds:
            s = (r + k * secret_scalar(seed)) % L
            return public_key, nonce + s.to_bytes(32, "little"), message
    raise AssertionError("no message found")  # pragma: no cover - 1/8 per try


LARGE_TORSION = SMALL_ORDER_CANONICAL[1:]  # every small-order point but the identity


@pytest.mark.req("IOME-SIG-001")
@pytest.mark.parametrize("torsion", LARGE_TORSION)
def test_accepts_mixed_order_key_exactly_when_the_cofactorless_equation_holds(torsion: str) -> None:
    """Not small order, so IOME-SIG-005 does not apply; both paths accept or both refuse."""
    seed = f"mixed/{torsion}".encode()
    key, signature, message = mixed_order_signature(torsion, seed, holds=True)
    verify_raw(key, signature, message)
    assert fast_accepts(key, signature, message)
    Ed25519PublicKey.from_public_bytes(key).verify(signature, message)  # OpenSSL agrees
    key, signature, message = mixed_order_signature(torsion, seed, holds=False)
    assert rejected_id(key, signature, message) == "IOME-SIG-001"
    assert not fast_accepts(key, signature, message)


@pytest.mark.req("IOME-SIG-001")
@pytest.mark.parametrize("torsion", LARGE_TORSION)
def test_rejects_mixed_order_nonce(torsion: str) -> None:
    """R' = R + T with S honest: the equation is off by T, for either library."""
    public_key, signature, message = raw_signature()
    shifted = encode_point(
        add_points(decode_point(signature[:32]), decode_point(bytes.fromhex(torsion)))
    )
    assert rejected_id(public_key, shifted + signature[32:], message) == "IOME-SIG-001"


def test_accepts_on_the_fast_path_without_diagnosis(monkeypatch: pytest.MonkeyPatch) -> None:
    """An honest signature never reaches the pure-Python diagnosis (that is the speed)."""

    def diagnosis(*_: object) -> None:
        raise AssertionError("diagnosed an honest signature")

    monkeypatch.setattr(crypto_module, "_diagnose", diagnosis)
    public_key, signature, message = raw_signature()
    verify_raw(public_key, signature, message)
    fresh = KeyPair.derive("test", "fresh")
    verify(fresh.public_hex, fresh.sign("EPS", PAYLOAD), "EPS", PAYLOAD)


@pytest.mark.req("IOME-SIG-002", "IOME-SIG-003", "IOME-SIG-004", "IOME-SIG-005", "IOME-SIG-006")
def test_rejects_encoding_faults_even_if_the_library_were_lax(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The spec's encoding rules do not rest on libsodium: with a library that accepts
    anything, every encoding fault is still refused by the table and integer checks."""
    monkeypatch.setattr(crypto_module, "sodium_accepts", lambda *_: True)
    public_key, signature, message = raw_signature()
    s_big = (int.from_bytes(signature[32:], "little") + L).to_bytes(32, "little")
    cases = [
        (public_key, signature[:32] + s_big, "IOME-SIG-002"),
        (public_key, signature[:32] + L.to_bytes(32, "little"), "IOME-SIG-002"),
        (encode(Y_ALIASABLE + P), signature, "IOME-SIG-003"),
        (public_key, encode(Y_ALIASABLE + P) + signature[32:], "IOME-SIG-004"),
        *((bytes.fromhex(small), signature, "IOME-SIG-005") for small in SMALL_ORDER_CANONICAL),
        *(
            (public_key, bytes.fromhex(small) + signature[32:], "IOME-SIG-006")
            for small in SMALL_ORDER_CANONICAL
        ),
        *((bad, signature, "IOME-SIG-003") for bad in SMALL_ORDER_NON_CANONICAL),
        *((public_key, bad + signature[32:], "IOME-SIG-004") for bad in SMALL_ORDER_NON_CANONICAL),
    ]
    for key, sig, expected in cases:
        assert not crypto_module.passes_encoding_rules(key, sig), expected
        assert rejected_id(key, sig, message) == expected
    assert crypto_module.passes_encoding_rules(public_key, signature)


def test_accepts_in_diagnosis_what_the_library_alone_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should libsodium ever refuse a signature the rule accepts, the rule decides."""
    monkeypatch.setattr(crypto_module, "sodium_accepts", lambda *_: False)
    verify_raw(*raw_signature())


def test_fast_path_agrees_with_the_rule_on_wycheproof() -> None:
    checked = 0
    for case in load_wycheproof():
        key, sig, msg = (bytes.fromhex(case[name]) for name in ("pk", "sig", "msg"))
        if len(key) != 32 or len(sig) != 64:
            continue  # IOME-SIG-008, decided before either path
        assert fast_accepts(key, sig, msg) == spec_accepts(key, sig, msg), case["tcId"]
        checked += 1
    assert checked == 151 - WYCHEPROOF_INVALID_IDS["IOME-SIG-008"]


def vector_signatures() -> list[tuple[str, bytes, bytes, bytes]]:
    """(case id, key, signature, message) of every signature in the committed vectors that
    parses as a model, including the forged and malformed ones."""
    found = []
    for case_id, model in vector_messages():
        triples: list[tuple[str, str, str, str]] = []
        if isinstance(model, Block):
            triples.append((model.producer_pk, model.signature, "Block", model.block_hash))
        elif isinstance(model, SignedModel):
            for spec in model.SIGNATURES:
                triples.append(
                    (
                        getattr(model, spec.key_field),
                        getattr(model, spec.field),
                        spec.tag,
                        model.signed_payload(spec),
                    )
                )
            for quorum in getattr(model, "verifier_sigs", ()):
                triples.append((quorum.verifier_pk, quorum.signature, "Trip", model.tx_id))
        for key, sig, tag, payload in triples:
            found.append(
                (
                    case_id,
                    bytes.fromhex(key),
                    bytes.fromhex(sig),
                    signing_message(tag, payload),
                )
            )
    return found


def test_fast_path_agrees_with_the_rule_on_every_vector_signature() -> None:
    signatures = vector_signatures()
    verdicts = Counter(spec_accepts(key, sig, msg) for _, key, sig, msg in signatures)
    assert verdicts[True] > 100  # the files hold both kinds
    assert verdicts[False] >= 10
    for case_id, key, sig, msg in signatures:
        assert fast_accepts(key, sig, msg) == spec_accepts(key, sig, msg), case_id


#: Replacements for A or R: every small-order and non-canonical spelling, off-curve points.
ODD_ENCODINGS = [
    *(bytes.fromhex(h) for h in SMALL_ORDER_CANONICAL),
    *SMALL_ORDER_NON_CANONICAL,
    encode(Y_ALIASABLE + P),
    encode(Y_OFF_CURVE),
    encode(Y_OFF_CURVE, 1),
    encode(BASE_Y, 1),
]


@st.composite
def signature_inputs(draw: st.DrawFn) -> tuple[bytes, bytes, bytes]:
    """Honest signatures, mixed-order keys, then one fault of any kind (or none)."""
    seed = draw(st.binary(max_size=16))
    if draw(st.booleans()):
        key_pair = KeyPair.from_seed(seed)
        message = signing_message("EPS", draw(st.binary(min_size=32, max_size=32)).hex())
        public_key = key_pair.public_bytes
        signature = bytes.fromhex(key_pair.sign("EPS", message[len(b"IoME/1/EPS/") :].decode()))
    else:
        torsion = draw(st.sampled_from(LARGE_TORSION))
        public_key, signature, message = mixed_order_signature(
            torsion, seed, holds=draw(st.booleans())
        )
    fault = draw(st.sampled_from(["none", "flip", "key", "nonce", "s", "random"]))
    if fault == "flip":
        mutable = bytearray(public_key + signature)
        mutable[draw(st.integers(0, 95))] ^= 1 << draw(st.integers(0, 7))
        public_key, signature = bytes(mutable[:32]), bytes(mutable[32:])
    elif fault == "key":
        public_key = draw(st.sampled_from(ODD_ENCODINGS))
    elif fault == "nonce":
        signature = draw(st.sampled_from(ODD_ENCODINGS)) + signature[32:]
    elif fault == "s":
        s = int.from_bytes(signature[32:], "little") + draw(st.integers(1, 15)) * L
        signature = signature[:32] + min(s, 2**256 - 1).to_bytes(32, "little")
    elif fault == "random":
        public_key = draw(st.binary(min_size=32, max_size=32))
        signature = draw(st.binary(min_size=64, max_size=64))
    return public_key, signature, message


@settings(deadline=None)
@given(inputs=signature_inputs())
def test_fast_path_decides_as_the_pure_python_rule(inputs: tuple[bytes, bytes, bytes]) -> None:
    public_key, signature, message = inputs
    assert fast_accepts(public_key, signature, message) == spec_accepts(
        public_key, signature, message
    )


@pytest.mark.req("IOME-SIG-003", "IOME-SIG-004", "IOME-SIG-005", "IOME-SIG-006")
@given(
    y=st.one_of(
        st.integers(0, (1 << 255) - 1),
        st.integers(P - 40, (1 << 255) - 1),
        st.integers(0, 40),
        st.sampled_from(
            [int.from_bytes(bytes.fromhex(h), "little") for h in SMALL_ORDER_CANONICAL]
        ),
    ),
    sign=st.integers(0, 1),
)
def test_accepts_the_refused_table_exactly_as_the_point_checks(y: int, sign: int) -> None:
    """One set lookup decides "canonical and not of small order" as the pure-Python checks
    do (canonicality, then decoding and [8]P), for every kind of encoding."""
    encoding = encode(y & ((1 << 255) - 1), sign)
    point = crypto_module.decompress_point(encoding)
    by_checks = crypto_module.is_canonical_encoding(encoding) and not (
        point is not None and crypto_module.is_small_order(point)
    )
    assert (encoding not in crypto_module.REFUSED_POINT_ENCODINGS) == by_checks


def test_accepts_every_refused_encoding_as_refused_by_the_checks() -> None:
    assert len(crypto_module.REFUSED_POINT_ENCODINGS) == 48
    for encoding in crypto_module.REFUSED_POINT_ENCODINGS:
        point = crypto_module.decompress_point(encoding)
        canonical = crypto_module.is_canonical_encoding(encoding)
        assert not canonical or (point is not None and crypto_module.is_small_order(point))


@pytest.mark.req("IOME-SIG-003", "IOME-SIG-004")
def test_accepts_the_refused_table_built_as_the_canonicality_rule() -> None:
    """The table is built at import, before a fault injection or mutant can act: build it
    again under test. Every non-canonical encoding has y >= p or a "negative zero" (y = 1 or
    y = p - 1 with the sign bit), so the 2 x 128 candidates below hold them all."""
    candidates = {
        encode(y, sign) for y in [*range(64), *range(P - 64, 1 << 255)] for sign in (0, 1)
    }
    refused = {e for e in candidates if not crypto_module.is_canonical_encoding(e)}
    assert crypto_module._non_canonical_encodings() == refused
    assert len(refused) == 40
    crypto_module._check_refused_table()


@pytest.mark.parametrize("drift", ["one missing", "a canonical one instead"])
def test_rejects_a_drifted_refused_table_at_import(
    monkeypatch: pytest.MonkeyPatch, drift: str
) -> None:
    """The import-time check stops the module loading with a table that no longer matches
    the canonicality rule (one encoding dropped, or a canonical one in its place)."""
    table = crypto_module.REFUSED_POINT_ENCODINGS
    non_canonical = sorted(table - crypto_module.SMALL_ORDER_ENCODINGS)
    drifted = table - {non_canonical[0]}
    if drift == "a canonical one instead":
        drifted |= {encode(2)}
    monkeypatch.setattr(crypto_module, "REFUSED_POINT_ENCODINGS", drifted)
    with pytest.raises(RuntimeError, match=r"^bad table of refused point encodings$"):
        crypto_module._check_refused_table()


@given(seed=st.binary(max_size=64), payload=st.binary(min_size=32, max_size=32), tag=TAGS)
def test_accepts_libsodium_signatures_equal_to_openssl_ones(
    seed: bytes, payload: bytes, tag: str
) -> None:
    """KeyPair.sign goes through libsodium; Ed25519 is deterministic, so OpenSSL (the
    library the keys come from) writes the very same bytes."""
    key = KeyPair.from_seed(seed)
    expected = key.private.sign(signing_message(tag, payload.hex())).hex()
    assert key.sign(tag, payload.hex()) == expected
