"""A deterministic miniature IoME world: authority, certified actors and a road table.

Vectors, tests and benchmarks build their objects in this world, so a vector file embeds one
PKI and every case in it refers to the same actors. Everything derives from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from iome_ref.chain.context import ChainContext
from iome_ref.constants import (
    CHAIN_CHILD,
    CHAIN_CONSORTIUM,
    CHAIN_PUBLIC,
    ROLE_BACKUP,
    ROLE_DISTRIBUTION,
    ROLE_MANAGER,
    ROLE_PREDICTOR,
    ROLE_PRODUCER,
    ROLE_STATION,
    ROLE_VERIFIER,
)
from iome_ref.crypto import KeyPair
from iome_ref.pki import CertificateAuthority, CertificateDirectory

__all__ = [
    "CERT_EXPIRY",
    "CHAINS",
    "REVOKED_AT",
    "T0",
    "World",
    "build_world",
    "rebuild_authority",
]

#: Start of every world's clock (2024-01-01T00:00:00Z); certificates run a year from it.
T0: Final = 1_704_067_200
_YEAR: Final = 365 * 24 * 3600
#: When every actor's certificate expires, so a vector can be dated after it (IOME-CERT-002).
CERT_EXPIRY: Final = T0 + _YEAR

#: The chains of a world: id -> kind.
CHAINS: Final = {"public": CHAIN_PUBLIC, "fleet": CHAIN_CHILD, "verifiers": CHAIN_CONSORTIUM}

#: name -> (role, certificate subject CN). Managers and backups are certified for a chain id.
_ACTORS: Final = {
    "st-a": (ROLE_STATION, "st-a"),
    "st-b": (ROLE_STATION, "st-b"),
    "st-c": (ROLE_STATION, "st-c"),
    "st-revoked": (ROLE_STATION, "st-revoked"),
    "verifier-1": (ROLE_VERIFIER, "verifier-1"),
    "verifier-2": (ROLE_VERIFIER, "verifier-2"),
    "verifier-3": (ROLE_VERIFIER, "verifier-3"),
    "grid-north": (ROLE_DISTRIBUTION, "grid-north"),
    "grid-south": (ROLE_DISTRIBUTION, "grid-south"),
    "predictor": (ROLE_PREDICTOR, "predictor"),
    "producer": (ROLE_PRODUCER, "producer"),
    "fleet-manager": (ROLE_MANAGER, "fleet"),
    # A second manager key of the fleet (a rotated key): certified, but not in office.
    "fleet-manager-2": (ROLE_MANAGER, "fleet"),
    "fleet-backup": (ROLE_BACKUP, "fleet"),
    "fleet-backup-2": (ROLE_BACKUP, "fleet"),
}

#: When the revoked station's certificate is revoked: a year's midpoint, so a vector can show
#: a transaction before it (accepted) and after it (refused), IOME-CERT-003.
REVOKED_AT: Final = T0 + _YEAR // 2


@dataclass
class World:
    """The seeded actors of a vector file or test."""

    seed: int
    authority: CertificateAuthority
    directory: CertificateDirectory
    travel: dict[tuple[str, str], int]
    _keys: dict[str, KeyPair] = field(default_factory=dict)

    def key(self, name: str) -> KeyPair:
        """The key pair of a named actor, or a fresh uncertified one (vehicles, homes)."""
        if name not in self._keys:
            self._keys[name] = KeyPair.derive("world", self.seed, name)
        return self._keys[name]

    def known_keys(self) -> list[KeyPair]:
        """Every key handed out so far, so builders can sign for a public key they are given."""
        return list(self._keys.values())

    def context(self) -> ChainContext:
        return ChainContext(self.directory, self.travel)


def rebuild_authority(seed: int) -> CertificateAuthority:
    """The world authority of ``seed`` with its genesis revocations, fresh for a new CRL."""
    authority = CertificateAuthority(
        KeyPair.derive("world", seed, "authority").private, "iome-ca", T0, T0 + 2 * _YEAR
    )
    revoked = KeyPair.derive("world", seed, "st-revoked").public_hex
    cert = authority.issue("st-revoked", ROLE_STATION, revoked, T0, CERT_EXPIRY)
    authority.revoke(cert.serial_number, REVOKED_AT)
    return authority


def build_world(seed: int) -> World:
    """Build the world of ``seed``: same seed, byte-identical certificates and keys."""
    authority = rebuild_authority(seed)
    world = World(seed, authority, CertificateDirectory(authority.root, []), {})
    certificates = []
    for name, (role, subject) in _ACTORS.items():
        cert = authority.issue(subject, role, world.key(name).public_hex, T0, CERT_EXPIRY)
        certificates.append(cert)
    # A station certified by an impostor authority of the same name (IOME-CERT-001).
    impostor = CertificateAuthority(
        KeyPair.derive("world", seed, "impostor").private, "iome-ca", T0, T0 + 2 * _YEAR
    )
    certificates.append(
        impostor.issue(
            "st-foreign", ROLE_STATION, world.key("st-foreign").public_hex, T0, CERT_EXPIRY
        )
    )
    world.directory = CertificateDirectory(
        authority.root, certificates, authority.crl(T0, T0 + 2 * _YEAR)
    )
    stations = ["st-a", "st-b", "st-c", "st-revoked"]
    world.travel = {
        (a, b): 600 * (1 + abs(i - j))
        for i, a in enumerate(stations)
        for j, b in enumerate(stations)
    }
    return world
