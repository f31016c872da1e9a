"""Home devices: numbered readings, signed and sealed to the BEM's key (paper §III step 1)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given
from hypothesis import strategies as st

from iome_ref.constants import MAX_SAFE_INT
from iome_ref.crypto import KeyPair, is_valid_signature
from iome_ref.encoding import canonical_json, compute_hash
from iome_ref.errors import Malformed, UsageError
from iome_ref.roles.devices import (
    READING_SIGNATURE_TAG,
    SEAL_ENTROPY_LEN,
    IoTDevice,
    Reading,
    compute_ephemeral_exchange,
    compute_reading_aad,
    compute_reading_json,
    compute_reading_key,
    compute_upload_plaintext,
    derive_x25519_private,
)
from iome_ref.roles.randomness import as_generator, random_bytes

BEM_PRIVATE = derive_x25519_private("test", "bem")
BEM_PUBLIC = BEM_PRIVATE.public_key()


def _device(kind: str = "load") -> IoTDevice:
    return IoTDevice(f"home-1-{kind}", KeyPair.derive("test", "device", kind), kind)  # type: ignore[arg-type]


def _open(sealed_device: IoTDevice, seed: int = 1) -> tuple[bytes, bytes, bytes]:
    """Seal a fixed reading and open it by hand: (plaintext, payload, ciphertext)."""
    reading = sealed_device.reading(7200, 3600, 420)
    sealed = sealed_device.seal(reading, BEM_PUBLIC, random.Random(seed))
    key = compute_reading_key(
        BEM_PRIVATE.exchange(X25519PublicKey.from_public_bytes(sealed.ephemeral_pk)),
        sealed.ephemeral_pk,
        BEM_PUBLIC.public_bytes_raw(),
    )
    payload = ChaCha20Poly1305(key).decrypt(
        sealed.nonce, sealed.ciphertext, compute_reading_aad(sealed.device_id, sealed.seq)
    )
    return reading.plaintext(), payload, sealed.ciphertext


def test_accepts_reading_plaintext_as_canonical_json() -> None:
    reading = Reading("home-1-load", 3, 7200, 3600, -15)
    assert reading.plaintext() == (
        b'{"device_id":"home-1-load","period_s":3600,"seq":3,"t":7200,"value":-15}'
    )
    assert reading.start == 3600


def test_accepts_sequence_numbers_counting_up_from_zero() -> None:
    device = _device()
    seqs = [device.reading(3600 * (i + 1), 3600, 100).seq for i in range(4)]
    assert seqs == [0, 1, 2, 3]


def test_accepts_sealed_payload_as_plaintext_and_signature_inside_the_ciphertext() -> None:
    device = _device()
    plaintext, payload, ciphertext = _open(device)
    assert payload[:-64] == plaintext
    signature = payload[-64:].hex()
    assert is_valid_signature(
        device.public_hex, signature, READING_SIGNATURE_TAG, compute_hash(plaintext)
    )
    # Neither the reading nor its signature is visible to an eavesdropper.
    assert plaintext not in ciphertext
    assert payload[-64:] not in ciphertext


def test_accepts_same_seed_as_identical_sealed_bytes() -> None:
    one, two = _device(), _device()
    first = one.seal(one.reading(3600, 3600, 5), BEM_PUBLIC, random.Random(9))
    second = two.seal(two.reading(3600, 3600, 5), BEM_PUBLIC, random.Random(9))
    other = two.seal(Reading(two.device_id, 0, 3600, 3600, 5), BEM_PUBLIC, random.Random(10))
    assert first == second
    assert other.ciphertext != first.ciphertext
    assert other.ephemeral_pk != first.ephemeral_pk


def test_accepts_numpy_generator_as_nonce_source() -> None:
    device = _device()
    reading = device.reading(3600, 3600, 5)
    first = device.seal(reading, BEM_PUBLIC, np.random.default_rng(4))
    second = device.seal(reading, BEM_PUBLIC, np.random.default_rng(4))
    assert first == second
    assert len(first.nonce) == 12
    assert len(first.ephemeral_pk) == 32


def test_accepts_seeded_random_helpers_as_deterministic() -> None:
    assert random_bytes(random.Random(1), 8) == random_bytes(random.Random(1), 8)
    assert random_bytes(np.random.default_rng(1), 8) == random_bytes(np.random.default_rng(1), 8)
    gen = np.random.default_rng(3)
    assert as_generator(gen) is gen
    assert as_generator(random.Random(5)).random() == as_generator(random.Random(5)).random()
    assert (
        derive_x25519_private("a").public_key().public_bytes_raw()
        == derive_x25519_private("a").public_key().public_bytes_raw()
        != derive_x25519_private("b").public_key().public_bytes_raw()
    )


def test_accepts_reading_key_bound_to_both_public_keys() -> None:
    secret = bytes(range(32))
    base = compute_reading_key(secret, b"e" * 32, b"r" * 32)
    assert compute_reading_key(secret, b"e" * 32, b"s" * 32) != base
    assert compute_reading_key(secret, b"f" * 32, b"r" * 32) != base
    assert len(base) == 32


def test_rejects_sealing_another_devices_reading() -> None:
    device = _device()
    with pytest.raises(UsageError) as exc:
        device.seal(Reading("home-2-load", 0, 3600, 3600, 1), BEM_PUBLIC, random.Random(1))
    assert exc.value.component == "device"


@pytest.mark.parametrize("device_id", ["Home-1", "home|1", "", "x" * 33])
def test_rejects_device_id_that_is_not_an_identifier(device_id: str) -> None:
    with pytest.raises(UsageError) as exc:
        IoTDevice(device_id, KeyPair.derive("d"), "load")
    assert exc.value.component == "device"


def test_rejects_unknown_device_kind() -> None:
    with pytest.raises(UsageError) as exc:
        IoTDevice("home-1-ev", KeyPair.derive("d"), "ev")  # type: ignore[arg-type]
    assert exc.value.component == "device"


@pytest.mark.parametrize(("t", "period_s", "value"), [(-1, 3600, 0), (0, 0, 0), (0, 1, 2**53)])
def test_rejects_reading_out_of_range(t: int, period_s: int, value: int) -> None:
    with pytest.raises(UsageError) as exc:
        _device().reading(t, period_s, value)
    assert exc.value.component == "device"


# Readings of every shape: identifiers and odd device ids (quotes, escapes, non-ASCII), integers
# in range and beyond the safe range (which the general encoder refuses).
_DEVICE_IDS = st.one_of(st.from_regex(r"[a-z0-9][a-z0-9-]{0,31}", fullmatch=True), st.text())
_NUMBERS = st.one_of(
    st.integers(-MAX_SAFE_INT, MAX_SAFE_INT), st.integers(), st.sampled_from([0, -1, 1])
)
_READINGS = st.builds(Reading, _DEVICE_IDS, _NUMBERS, _NUMBERS, _NUMBERS, _NUMBERS)


def _general(value: object) -> bytes | type[Exception]:
    try:
        return canonical_json(value)  # type: ignore[arg-type]
    except Malformed:
        return Malformed


def _direct(call: object) -> bytes | type[Exception]:
    try:
        return call()  # type: ignore[operator, no-any-return]
    except Malformed:
        return Malformed


@given(_READINGS)
def test_accepts_reading_json_written_directly_as_rfc8785(reading: Reading) -> None:
    """compute_reading_json writes what the general RFC 8785 encoder writes, for any reading."""
    assert _direct(reading.plaintext) == _general(reading.to_json())
    if _general(reading.to_json()) is not Malformed:
        assert compute_reading_json(reading).encode() == canonical_json(reading.to_json())


@given(st.lists(_READINGS, min_size=1, max_size=6))
def test_accepts_upload_plaintext_written_directly_as_rfc8785(readings: list[Reading]) -> None:
    expected = (
        _general(readings[0].to_json())
        if len(readings) == 1
        else _general({"readings": [r.to_json() for r in readings]})
    )
    assert _direct(lambda: compute_upload_plaintext(readings)) == expected


@pytest.mark.parametrize("make", [random.Random, np.random.default_rng])
def test_accepts_one_draw_per_upload_as_the_bytes_of_two(make: type) -> None:
    """One draw of secret and nonce together, and one draw for several seals, give the bytes
    that one draw of the secret then one of the nonce per seal gave (SEAL_ENTROPY_LEN)."""
    one, two = make(11), make(11)
    apart = b"".join(random_bytes(one, 32) + random_bytes(one, 12) for _ in range(3))
    assert random_bytes(two, 3 * SEAL_ENTROPY_LEN) == apart
    assert random_bytes(one, 8) == random_bytes(two, 8)  # and the streams go on alike
    device = _device()
    readings = [device.reading(3600, 3600, 5)]
    drawn = random_bytes(make(12), SEAL_ENTROPY_LEN)
    sealed = device.seal_upload_drawn(readings, BEM_PUBLIC, drawn)
    assert sealed == device.seal_upload(readings, BEM_PUBLIC, make(12))
    assert sealed.nonce == drawn[32:]
    assert X25519PrivateKey.from_private_bytes(drawn[:32]).public_key().public_bytes_raw() == (
        sealed.ephemeral_pk
    )


@pytest.mark.parametrize("length", [0, SEAL_ENTROPY_LEN - 1, SEAL_ENTROPY_LEN + 1])
def test_rejects_seal_with_drawn_bytes_of_another_length(length: int) -> None:
    device = _device()
    with pytest.raises(UsageError) as exc:
        device.seal_upload_drawn([device.reading(3600, 3600, 5)], BEM_PUBLIC, bytes(length))
    assert exc.value.component == "device"


#: The X25519 encodings of small-order points (the seven of libsodium's list, and those with
#: the top bit set, which RFC 7748 ignores), plus a few other unusual keys.
_SMALL_ORDER = [
    bytes.fromhex(h)
    for h in (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    )
]
_ODD_KEYS = [
    *_SMALL_ORDER,
    *(key[:31] + bytes([key[31] | 0x80]) for key in _SMALL_ORDER),
    bytes([0xFF]) * 32,
    bytes([9]) + bytes(31),
]


def _by_openssl(secret: bytes, recipient: bytes) -> tuple[bytes, bytes] | None:
    ephemeral = X25519PrivateKey.from_private_bytes(secret)
    try:
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    except ValueError:
        return None
    return ephemeral.public_key().public_bytes_raw(), shared


def _by_sodium(secret: bytes, recipient: bytes) -> tuple[bytes, bytes] | None:
    try:
        return compute_ephemeral_exchange(secret, recipient)
    except ValueError:
        return None


@given(
    secret=st.binary(min_size=32, max_size=32),
    recipient=st.one_of(
        st.binary(min_size=32, max_size=32),
        st.sampled_from(_ODD_KEYS),
        st.binary(min_size=32, max_size=32).map(
            lambda k: X25519PrivateKey.from_private_bytes(k).public_key().public_bytes_raw()
        ),
    ),
)
def test_accepts_ephemeral_exchange_as_openssl_x25519(secret: bytes, recipient: bytes) -> None:
    """A seal's ephemeral X25519 through libsodium (issue 16: faster than a private-key object
    per upload) gives the public key and shared secret OpenSSL gives, and refuses (ValueError)
    exactly the recipient keys OpenSSL refuses: those sharing an all-zero secret."""
    assert _by_sodium(secret, recipient) == _by_openssl(secret, recipient)


def test_rejects_ephemeral_exchange_with_small_order_keys() -> None:
    for key in _SMALL_ORDER:
        assert _by_sodium(bytes([7]) * 32, key) is None
        assert _by_openssl(bytes([7]) * 32, key) is None
