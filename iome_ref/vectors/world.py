"""A deterministic miniature IoME world: authority, certified actors and a road table.

Vectors, tests and benchmarks build their objects in this world, so a vector file embeds one
PKI and every case in it refers to the same actors. Everything derives from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from cryptography import x509

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
from iome_ref.pki import (
    CertificateAuthority,
    CertificateDirectory,
    compute_subject_name,
    get_subject_id,
    key_usage,
)

__all__ = [
    "ACTORS",
    "CERT_EXPIRY",
    "CHAINS",
    "PROFILE_STATIONS",
    "REVOKED_AT",
    "T0",
    "UNKNOWN_EXTENSION_OID",
    "World",
    "build_world",
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
    "fleet-backup": (ROLE_BACKUP, "fleet"),
    # A second manager key of the fleet (a rotated key): certified, but not in office.
    "fleet-manager-2": (ROLE_MANAGER, "fleet"),
    # A second backup of the fleet, to hand the chain back and forth (IOME-ANC-009).
    "fleet-backup-2": (ROLE_BACKUP, "fleet"),
}

#: Every certified actor of a world: name -> (role, certificate subject CN), for the keys a
#: scenario with role operations gives ``reset`` (conformance.scenarios.actor_keys).
ACTORS: Final = _ACTORS

#: When the revoked station's certificate is revoked: a year's midpoint, so a vector can show
#: a transaction before it (accepted) and after it (refused), IOME-CERT-003. The same instant
#: ends the short-lived sub-CA (IOME-CERT-002), revokes a sub-CA (IOME-CERT-003) and ends the
#: stale sub-CA's revocation list (IOME-CERT-018).
REVOKED_AT: Final = T0 + _YEAR // 2

#: Stations whose certificate path breaks one profile rule (spec/certificates.md), named for
#: the rule: each is a station certificate with CN = its name, judged like any other.
PROFILE_STATIONS: Final = {
    "st-ca-short": "IOME-CERT-002",
    "st-ca-revoked": "IOME-CERT-003",
    "st-ca-stale-crl": "IOME-CERT-018",
    "st-under-station": "IOME-CERT-010",
    "st-ca-no-certsign": "IOME-CERT-011",
    "st-too-deep": "IOME-CERT-012",
    "st-is-ca": "IOME-CERT-013",
    "st-no-aki": "IOME-CERT-014",
    "st-critical-ext": "IOME-CERT-015",
    "st-name-constrained": "IOME-CERT-015",
}

#: A private OID no validator knows, for a critical extension that must refuse (IOME-CERT-015).
UNKNOWN_EXTENSION_OID: Final = x509.ObjectIdentifier("1.3.6.1.4.1.55555.1")


@dataclass
class World:
    """The seeded actors of a vector file or test."""

    seed: int
    authority: CertificateAuthority
    directory: CertificateDirectory
    travel: dict[tuple[str, str], int]
    _keys: dict[str, KeyPair] = field(default_factory=dict)
    #: Every CA of the world by name: the root "iome-ca", its sub-CAs "iome-sub-1" and
    #: "iome-sub-2" (which certifies the actors), and the sub-CAs of PROFILE_STATIONS.
    authorities: dict[str, CertificateAuthority] = field(default_factory=dict)

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


def _profile_fixtures(
    world: World,
    sub1: CertificateAuthority,
    sub2: CertificateAuthority,
    actors: list[x509.Certificate],
) -> tuple[list[x509.Certificate], list[x509.CertificateRevocationList]]:
    """The certificates and CRLs of PROFILE_STATIONS: one broken rule per station path."""
    end = T0 + 2 * _YEAR
    certs: list[x509.Certificate] = []
    crls: list[x509.CertificateRevocationList] = []

    def sub_ca(parent: CertificateAuthority, name: str, until: int = end) -> CertificateAuthority:
        ca = parent.issue_ca(name, world.key(name).private, T0, until, path_length=0)
        world.authorities[name] = ca
        certs.append(ca.certificate)
        return ca

    def station(ca: CertificateAuthority, name: str) -> None:
        certs.append(ca.issue(name, ROLE_STATION, world.key(name).public_hex, T0, CERT_EXPIRY))

    short = sub_ca(sub1, "iome-sub-short", REVOKED_AT)
    station(short, "st-ca-short")
    crls.append(short.crl(T0, end))
    revoked = sub_ca(sub1, "iome-sub-revoked")
    sub1.revoke(revoked.certificate.serial_number, REVOKED_AT)
    station(revoked, "st-ca-revoked")
    crls.append(revoked.crl(T0, end))
    stale = sub_ca(sub1, "iome-sub-stale")
    station(stale, "st-ca-stale-crl")
    crls.append(stale.crl(T0, REVOKED_AT))
    # st-a's own key issues a station certificate: a path through a non-CA (IOME-CERT-010).
    st_a = next(c for c in actors if get_subject_id(c) == "st-a")
    station(
        CertificateAuthority.from_certificate(world.key("st-a").private, st_a), "st-under-station"
    )
    # A sub-CA whose key may sign CRLs but not certificates (IOME-CERT-011).
    no_sign_key = world.key("iome-sub-no-certsign").private
    no_sign = CertificateAuthority.from_certificate(
        no_sign_key,
        sub1.issue_custom(
            compute_subject_name("iome-sub-no-certsign"),
            no_sign_key.public_key(),
            T0,
            end,
            [
                (x509.BasicConstraints(ca=True, path_length=0), True),
                (key_usage(digital_signature=True, crl_sign=True), True),
                (x509.SubjectKeyIdentifier.from_public_key(no_sign_key.public_key()), False),
                (sub1.authority_key_identifier(), False),
            ],
        ),
    )
    certs.append(no_sign.certificate)
    station(no_sign, "st-ca-no-certsign")
    # iome-sub-2 allows no CA below it, yet certifies one (IOME-CERT-012).
    station(sub_ca(sub2, "iome-sub-3"), "st-too-deep")
    # Leaves off the profile, all issued by iome-sub-2.
    leaf_extensions: dict[str, list[tuple[x509.ExtensionType, bool]]] = {
        "st-is-ca": [(x509.BasicConstraints(ca=True, path_length=None), True)],
        "st-no-aki": [],
        "st-critical-ext": [
            (x509.UnrecognizedExtension(UNKNOWN_EXTENSION_OID, b"\x05\x00"), True),
        ],
    }
    for name, extra in leaf_extensions.items():
        public_key = world.key(name).private.public_key()
        aki: list[tuple[x509.ExtensionType, bool]] = (
            [] if name == "st-no-aki" else [(sub2.authority_key_identifier(), False)]
        )
        certs.append(
            sub2.issue_custom(
                compute_subject_name(name, ROLE_STATION),
                public_key,
                T0,
                CERT_EXPIRY,
                [*extra, *aki, (x509.SubjectKeyIdentifier.from_public_key(public_key), False)],
            )
        )
    # A sub-CA with (critical) name constraints, which IoME does not implement (IOME-CERT-015).
    nc_key = world.key("iome-sub-nc").private
    nc_extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (key_usage(digital_signature=True, cert_sign=True, crl_sign=True), True),
        (x509.SubjectKeyIdentifier.from_public_key(nc_key.public_key()), False),
        (sub1.authority_key_identifier(), False),
        (
            x509.NameConstraints(
                permitted_subtrees=[x509.DNSName("iome.example")], excluded_subtrees=None
            ),
            True,
        ),
    ]
    nc = CertificateAuthority.from_certificate(
        nc_key,
        sub1.issue_custom(
            compute_subject_name("iome-sub-nc"), nc_key.public_key(), T0, end, nc_extensions
        ),
    )
    certs.append(nc.certificate)
    station(nc, "st-name-constrained")
    crls.append(nc.crl(T0, end))
    return certs, crls


def build_world(seed: int) -> World:
    """Build the world of ``seed``: same seed, byte-identical certificates and keys.

    The PKI has the shape of an ISO 15118 one: a root, two sub-CA levels, and the actors'
    certificates issued by the second; every CA publishes its own revocation list.
    """
    end = T0 + 2 * _YEAR
    root = CertificateAuthority(
        KeyPair.derive("world", seed, "authority").private, "iome-ca", T0, end, path_length=2
    )
    world = World(seed, root, CertificateDirectory(root.root, [], []), {})
    sub1 = root.issue_ca("iome-sub-1", world.key("iome-sub-1").private, T0, end, path_length=1)
    sub2 = sub1.issue_ca("iome-sub-2", world.key("iome-sub-2").private, T0, end, path_length=0)
    world.authorities.update({"iome-ca": root, "iome-sub-1": sub1, "iome-sub-2": sub2})
    certificates = [sub1.certificate, sub2.certificate]
    for name, (role, subject) in _ACTORS.items():
        cert = sub2.issue(subject, role, world.key(name).public_hex, T0, CERT_EXPIRY)
        certificates.append(cert)
        if name == "st-revoked":
            sub2.revoke(cert.serial_number, REVOKED_AT)
    # A station certified by an impostor authority of the same name (IOME-CERT-001).
    impostor = CertificateAuthority(
        KeyPair.derive("world", seed, "impostor").private, "iome-ca", T0, end
    )
    certificates.append(
        impostor.issue(
            "st-foreign", ROLE_STATION, world.key("st-foreign").public_hex, T0, CERT_EXPIRY
        )
    )
    fixtures, fixture_crls = _profile_fixtures(world, sub1, sub2, certificates)
    certificates.extend(fixtures)
    crls = [root.crl(T0, end), sub1.crl(T0, end), sub2.crl(T0, end), *fixture_crls]
    world.directory = CertificateDirectory(root.root, certificates, crls)
    stations = ["st-a", "st-b", "st-c", "st-revoked"]
    world.travel = {
        (a, b): 600 * (1 + abs(i - j))
        for i, a in enumerate(stations)
        for j, b in enumerate(stations)
    }
    return world
