"""Smart-home IoT devices: signed, sealed meter readings sent to the building energy manager.

Paper §III step 1: "To protect the security of the communications, the data is encrypted with
the PK of the BEM. Each device signs the hash of the exchanged data that protects data
integrity." Here a reading's plaintext is the RFC 8785 JSON of its fields; the device signs its
SHA-256 (tag ``Reading``) and seals plaintext and signature together to the BEM's X25519 key:
an ephemeral X25519 exchange, HKDF-SHA256, then ChaCha20-Poly1305 with the device id and
sequence number as associated data (IOME-DATA-001..003 are checked by ``roles.bem``).

A device may send one reading per message or an upload of several consecutive readings (what
smart meters do: they buffer and push at intervals). An upload is the same envelope around the
RFC 8785 JSON ``{"readings": [...]}`` of its readings, one signature over its hash, and the
reading count bound in the associated data: the paper's step ("encrypted with the PK of the
BEM", each device "signs the hash of the exchanged data") applies to the exchanged data as a
whole, and every reading in it is checked as a single one would be. The simulation sends one
upload per device per metering call (issue 16: sealing and opening every reading alone was
62% of its cost per trip; the BEM uses readings only when it next forecasts, so it sees the
same readings before the same decisions).

A reading's RFC 8785 bytes are written by :func:`compute_reading_json` directly: a reading is
an identifier and four integers, whose canonical JSON is fixed text (proven equal to the
general encoder by a property test); the general encoder walks the value first and cost a
tenth of an upload.

The signature travels inside the ciphertext on purpose: meter values are low-entropy, so a
signature in the clear would let an eavesdropper confirm a guessed reading by verifying it.

Nothing here reads a clock or an entropy source: times are arguments, and the ephemeral key and
nonce come from the seeded random source the caller passes, so a seed fixes every byte.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl.bindings import crypto_scalarmult, crypto_scalarmult_base
from nacl.exceptions import RuntimeError as NaclRuntimeError

from iome_ref.constants import IDENTIFIER_PATTERN, MAX_SAFE_INT
from iome_ref.crypto import KeyPair
from iome_ref.encoding import canonical_json, compute_hash
from iome_ref.errors import UsageError
from iome_ref.roles.randomness import RandomSource, random_bytes

__all__ = [
    "DEVICE_KINDS",
    "READING_HKDF_INFO",
    "READING_SIGNATURE_TAG",
    "SEAL_ENTROPY_LEN",
    "DeviceKind",
    "IoTDevice",
    "Reading",
    "SealedReading",
    "compute_ephemeral_exchange",
    "compute_reading_aad",
    "compute_reading_json",
    "compute_reading_key",
    "compute_upload_plaintext",
    "derive_x25519_private",
]

DeviceKind = Literal["solar", "load", "thermostat", "battery"]
#: Every kind of device a home may register with its BEM (paper §III step 1 lists solar panel,
#: smart appliances, smart thermostat and temperature sensors, local batteries).
DEVICE_KINDS: Final[tuple[DeviceKind, ...]] = ("solar", "load", "thermostat", "battery")

#: Signature tag of a reading: b"IoME/1/Reading/" + SHA-256(plaintext) hex (IOME-DATA-001).
READING_SIGNATURE_TAG: Final = "Reading"
#: HKDF ``info`` of the reading key; the salt binds both X25519 public keys (IOME-DATA-002).
READING_HKDF_INFO: Final = b"IoME/1/reading"
_NONCE_LEN: Final = 12
_X25519_LEN: Final = 32
#: Bytes one seal draws from its random source: the ephemeral X25519 secret, then the nonce.
#: One draw of both gives the very bytes two draws did (32 and 12 bytes are whole 32-bit
#: words, which both kinds of seeded source hand out in order), for one call instead of two.
SEAL_ENTROPY_LEN: Final = _X25519_LEN + _NONCE_LEN
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
#: Text JSON writes as it is, without escapes (so identifiers, whose alphabet this is).
_UNESCAPED = re.compile(r"[a-z0-9-]*")


def derive_x25519_private(*labels: str | int) -> X25519PrivateKey:
    """A deterministic X25519 key from labels, like ``KeyPair.derive`` (simulations, tests).

    Private bytes = SHA-256(b"IoME/1/x25519/" + labels joined by "/"); never for production.
    """
    seed = "/".join(str(label) for label in labels).encode("utf-8")
    return X25519PrivateKey.from_private_bytes(hashlib.sha256(b"IoME/1/x25519/" + seed).digest())


@dataclass(frozen=True, slots=True)
class Reading:
    """One meter reading: ``value`` over the period ``[t - period_s, t)``.

    ``value`` is energy in Wh for solar, load and battery devices (battery: positive when it
    discharges into the home, negative when it charges) and the measured outdoor temperature
    in tenths of a degree Celsius for a thermostat. Integers only, so the signed plaintext
    holds no float (DESIGN §2).
    """

    device_id: str
    seq: int
    t: int
    period_s: int
    value: int

    def to_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "seq": self.seq,
            "t": self.t,
            "period_s": self.period_s,
            "value": self.value,
        }

    def plaintext(self) -> bytes:
        """RFC 8785 bytes of the reading: what is hashed, signed and sealed."""
        return compute_reading_json(self).encode()

    @property
    def start(self) -> int:
        return self.t - self.period_s


@dataclass(frozen=True, slots=True)
class SealedReading:
    """A reading sealed to one BEM: only ``device_id`` and ``seq`` travel in the clear.

    ``ciphertext`` is ChaCha20-Poly1305 over plaintext || 64-byte Ed25519 signature, with
    associated data :func:`compute_reading_aad` of ``device_id`` and ``seq``.
    """

    device_id: str
    seq: int
    ephemeral_pk: bytes
    nonce: bytes
    ciphertext: bytes
    #: How many consecutive readings, from ``seq`` on, the envelope carries (an upload).
    count: int = 1


def compute_reading_json(reading: Reading) -> str:
    """RFC 8785 JSON of ``reading`` (``Reading.plaintext`` as text).

    Members in code-point order, no spaces, integers in decimal: for a device id that needs no
    escaping and integers within ±MAX_SAFE_INT this is fixed text, written directly; anything
    else (a reading built by hand with odd fields) goes through the general encoder.
    """
    device_id, numbers = (
        reading.device_id,
        (reading.period_s, reading.seq, reading.t, reading.value),
    )
    if (
        type(device_id) is str
        and _UNESCAPED.fullmatch(device_id) is not None
        and all(type(n) is int and -MAX_SAFE_INT <= n <= MAX_SAFE_INT for n in numbers)
    ):
        period_s, seq, t, value = numbers
        return (
            f'{{"device_id":"{device_id}","period_s":{period_s},"seq":{seq},'
            f'"t":{t},"value":{value}}}'
        )
    return canonical_json(reading.to_json()).decode()


def compute_reading_aad(device_id: str, seq: int, count: int = 1) -> bytes:
    """Associated data ``device_id|seq`` (``device_id|seq|count`` for an upload of several):
    moving a ciphertext to another device, sequence number or count breaks its tag
    (IOME-DATA-002). Device ids are identifiers, so hold no ``|``."""
    return f"{device_id}|{seq}".encode() if count == 1 else f"{device_id}|{seq}|{count}".encode()


def compute_upload_plaintext(readings: Sequence[Reading]) -> bytes:
    """What is signed and sealed: one reading's RFC 8785 JSON, or for several
    ``{"readings": [...]}`` in order."""
    if len(readings) == 1:
        return readings[0].plaintext()
    # RFC 8785 of an object with one member holding an array: the members' bytes, joined.
    body = ",".join(map(compute_reading_json, readings))
    return f'{{"readings":[{body}]}}'.encode()


def compute_ephemeral_exchange(secret: bytes, recipient_pk: bytes) -> tuple[bytes, bytes]:
    """X25519 (RFC 7748) of an ephemeral ``secret``: its public key and the secret it shares
    with ``recipient_pk``, as ``X25519PrivateKey.from_private_bytes(secret)`` gives them.

    Through libsodium: the same function, and a quarter of a seal's time faster here than
    building a private-key object per upload (whose construction already computes the public
    key); a property test compares both on random keys. Both refuse a recipient key whose
    shared secret would be all zeros (a small-order point): ValueError.
    """
    try:
        return crypto_scalarmult_base(secret), crypto_scalarmult(secret, recipient_pk)
    except (NaclRuntimeError, TypeError) as exc:
        raise ValueError(f"X25519 with recipient key {recipient_pk.hex()}: {exc}") from None


def compute_reading_key(shared_secret: bytes, ephemeral_pk: bytes, recipient_pk: bytes) -> bytes:
    """HKDF-SHA256 of the X25519 secret, salted with both public keys, info b"IoME/1/reading".

    Binding both keys (as HPKE and ECIES do) makes the AEAD key specific to this exchange,
    so a key derived for one recipient is useless for another.
    """
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=ephemeral_pk + recipient_pk,
        info=READING_HKDF_INFO,
    ).derive(shared_secret)


class IoTDevice:
    """A home device holding its Ed25519 key: numbers, signs and seals its readings.

    Paper §III step 1: devices inside a home are trusted by their BEM once registered; they
    need no chain of their own, only integrity (signature) and confidentiality (encryption).
    """

    def __init__(self, device_id: str, key: KeyPair, kind: DeviceKind) -> None:
        if not isinstance(device_id, str) or _IDENTIFIER.fullmatch(device_id) is None:
            raise UsageError("device", f"device_id {device_id!r} is not an identifier")
        if kind not in DEVICE_KINDS:
            raise UsageError("device", f"kind {kind!r} is not one of {DEVICE_KINDS}")
        self.device_id = device_id
        self.key = key
        self.kind: DeviceKind = kind
        self._next_seq = 0

    @property
    def public_hex(self) -> str:
        return self.key.public_hex

    def reading(self, t: int, period_s: int, value: int) -> Reading:
        """The device's next reading; sequence numbers count up from 0 (IOME-DATA-003)."""
        if not 0 <= t <= MAX_SAFE_INT:
            raise UsageError("device", f"t {t} is out of range")
        if not 1 <= period_s <= MAX_SAFE_INT:
            raise UsageError("device", f"period_s {period_s} is out of range")
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise UsageError("device", f"value {value} is out of range")
        reading = Reading(self.device_id, self._next_seq, t, period_s, value)
        self._next_seq += 1
        return reading

    def sign(self, reading: Reading) -> bytes:
        """Raw Ed25519 signature, tag ``Reading``, over the SHA-256 hex of the plaintext."""
        return self._sign_plaintext(reading.plaintext())

    def _sign_plaintext(self, plaintext: bytes) -> bytes:
        return bytes.fromhex(self.key.sign(READING_SIGNATURE_TAG, compute_hash(plaintext)))

    def seal(
        self, reading: Reading, bem_public: X25519PublicKey, nonce_rng: RandomSource
    ) -> SealedReading:
        """Sign ``reading`` and encrypt it to ``bem_public`` (paper §III step 1).

        The ephemeral X25519 key and the nonce come from ``nonce_rng``: same seed, same bytes.
        """
        return self.seal_upload([reading], bem_public, nonce_rng)

    def seal_upload(
        self, readings: Sequence[Reading], bem_public: X25519PublicKey, nonce_rng: RandomSource
    ) -> SealedReading:
        """Sign and seal consecutive readings of this device as one upload (module docstring).

        Raises:
            UsageError: no readings, another device's, or sequence numbers not consecutive.
        """
        return self.seal_upload_drawn(
            readings, bem_public, random_bytes(nonce_rng, SEAL_ENTROPY_LEN)
        )

    def seal_upload_drawn(
        self, readings: Sequence[Reading], bem_public: X25519PublicKey, entropy: bytes
    ) -> SealedReading:
        """``seal_upload`` with its ``SEAL_ENTROPY_LEN`` random bytes already drawn (the
        ephemeral secret, then the nonce): a caller sealing several uploads draws them in one
        call, the same bytes as one draw per seal.

        Raises:
            UsageError: as ``seal_upload``; ``entropy`` not SEAL_ENTROPY_LEN bytes.
        """
        if len(entropy) != SEAL_ENTROPY_LEN:
            raise UsageError(
                "device", f"entropy: expected {SEAL_ENTROPY_LEN} bytes, found {len(entropy)}"
            )
        if not readings:
            raise UsageError("device", "an upload needs at least one reading")
        first = readings[0]
        for offset, reading in enumerate(readings):
            if reading.device_id != self.device_id:
                raise UsageError(
                    "device", f"reading of {reading.device_id!r} sealed by {self.device_id!r}"
                )
            if reading.seq != first.seq + offset:
                raise UsageError(
                    "device", f"upload sequence numbers must be consecutive from {first.seq}"
                )
        # Encoded once for both the signature and the payload.
        plaintext = compute_upload_plaintext(readings)
        signature = self._sign_plaintext(plaintext)
        ephemeral_pk, shared = compute_ephemeral_exchange(
            entropy[:_X25519_LEN], bem_public.public_bytes_raw()
        )
        key = compute_reading_key(shared, ephemeral_pk, bem_public.public_bytes_raw())
        nonce = entropy[_X25519_LEN:]
        count = len(readings)
        ciphertext = ChaCha20Poly1305(key).encrypt(
            nonce, plaintext + signature, compute_reading_aad(self.device_id, first.seq, count)
        )
        return SealedReading(self.device_id, first.seq, ephemeral_pk, nonce, ciphertext, count)
