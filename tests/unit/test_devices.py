"""Home devices: numbered readings, signed and sealed to the BEM's key (paper §III step 1)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from iome_ref.crypto import KeyPair, is_valid_signature
from iome_ref.encoding import compute_hash
from iome_ref.errors import UsageError
from iome_ref.roles.devices import (
    READING_SIGNATURE_TAG,
    IoTDevice,
    Reading,
    compute_reading_aad,
    compute_reading_key,
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
