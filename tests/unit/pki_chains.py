"""Deterministic PKIs for the pki tests: a root, two sub-CA levels, a station, and builders of
certificates and CRLs on or off the profile (spec/certificates.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asn1crypto import crl as asn1_crl
from asn1crypto.core import Void
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding

from iome_ref.constants import ROLE_STATION
from iome_ref.pki import (
    CertificateAuthority,
    CertificateDirectory,
    compute_subject_name,
    key_usage,
)

T0 = 1_700_000_000
DAY = 86_400
YEAR = 365 * DAY
START, END = T0 - YEAR, T0 + YEAR
#: The station's key and CN in every chain here.
STATION = "st-1"

Extension = tuple[x509.ExtensionType, bool]


def seeded_key(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())


def key_hex(seed: str) -> str:
    return seeded_key(seed).public_key().public_bytes_raw().hex()


def moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def ca_profile(
    key: Ed25519PrivateKey,
    issuer: CertificateAuthority | None,
    *,
    ca: bool | None = True,
    ca_critical: bool = True,
    path_length: int | None = None,
    usage: x509.KeyUsage | None = None,
    no_usage: bool = False,
    ski: bool = True,
    ski_critical: bool = False,
    aki: x509.AuthorityKeyIdentifier | None = None,
    no_aki: bool = False,
    extra: Sequence[Extension] = (),
) -> list[Extension]:
    """A CA certificate's extensions, each part overridable to leave the profile."""
    extensions: list[Extension] = []
    if ca is not None:
        extensions.append(
            (x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), ca_critical)
        )
    if not no_usage:
        default = key_usage(digital_signature=True, cert_sign=True, crl_sign=True)
        extensions.append((usage or default, True))
    if ski:
        ski_value = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        extensions.append((ski_value, ski_critical))
    if issuer is not None and not no_aki:
        extensions.append((aki or issuer.authority_key_identifier(), False))
    extensions.extend(extra)
    return extensions


def custom_root(
    name: str, key: Ed25519PrivateKey, start: int = START, end: int = END, **profile: object
) -> CertificateAuthority:
    """A self-signed root with ``ca_profile(**profile)`` extensions."""
    subject = compute_subject_name(name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .serial_number(1)
        .public_key(key.public_key())
        .not_valid_before(moment(start))
        .not_valid_after(moment(end))
    )
    for extension, critical in ca_profile(key, None, **profile):  # type: ignore[arg-type]
        builder = builder.add_extension(extension, critical)
    return CertificateAuthority.from_certificate(key, builder.sign(key, None))


def custom_ca(
    parent: CertificateAuthority,
    name: str,
    start: int = START,
    end: int = END,
    **profile: object,
) -> CertificateAuthority:
    """A sub-CA of ``parent`` with ``ca_profile(**profile)`` extensions."""
    key = seeded_key(name)
    cert = parent.issue_custom(
        compute_subject_name(name),
        key.public_key(),
        start,
        end,
        ca_profile(key, parent, **profile),  # type: ignore[arg-type]
    )
    return CertificateAuthority.from_certificate(key, cert)


def custom_leaf(
    ca: CertificateAuthority, extensions: Sequence[Extension], seed: str = STATION
) -> x509.Certificate:
    """A station certificate from ``ca`` with exactly ``extensions``."""
    return ca.issue_custom(
        compute_subject_name(STATION, ROLE_STATION),
        seeded_key(seed).public_key(),
        T0,
        T0 + 30 * DAY,
        extensions,
    )


def custom_crl(
    ca: CertificateAuthority,
    key: Ed25519PrivateKey,
    entries: Sequence[tuple[int, int]] = (),
    *,
    this_update: int = START,
    next_update: int | None = END,
    number: int | None = START,
    number_critical: bool = False,
    aki: bool = True,
    extensions: Sequence[Extension] = (),
    entry_extensions: Sequence[Extension] = (),
) -> x509.CertificateRevocationList:
    """A CRL in ``ca``'s name signed by ``key``, each part overridable to leave the profile."""
    builder = x509.CertificateRevocationListBuilder().issuer_name(ca.name)
    builder = builder.last_update(moment(this_update))
    if next_update is not None:
        builder = builder.next_update(moment(next_update))
    if number is not None:
        builder = builder.add_extension(x509.CRLNumber(number), number_critical)
    if aki:
        builder = builder.add_extension(ca.authority_key_identifier(), False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical)
    for serial, at in entries:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(moment(at))
        for extension, critical in entry_extensions:
            entry = entry.add_extension(extension, critical)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(key, None)


def retimed_crl(
    crl: x509.CertificateRevocationList,
    key: Ed25519PrivateKey,
    *,
    drop_next_update: bool = False,
    swap_times: bool = False,
) -> x509.CertificateRevocationList:
    """``crl`` re-signed without nextUpdate or with thisUpdate and nextUpdate swapped, which
    ``cryptography``'s builder refuses to write (asn1crypto, a pyhanko dependency, does)."""
    signed = asn1_crl.CertificateList.load(crl.public_bytes(Encoding.DER))
    tbs = signed["tbs_cert_list"]
    # Absent optional fields read back as Void; leave them out rather than copy them.
    fields = {name: tbs[name] for name in tbs if not isinstance(tbs[name], Void)}
    if drop_next_update:
        del fields["next_update"]
    if swap_times:
        fields["this_update"], fields["next_update"] = tbs["next_update"], tbs["this_update"]
    new_tbs = asn1_crl.TbsCertList(fields)
    resigned = asn1_crl.CertificateList(
        {
            "tbs_cert_list": new_tbs,
            "signature_algorithm": signed["signature_algorithm"],
            "signature": key.sign(new_tbs.dump()),
        }
    )
    return x509.load_der_x509_crl(resigned.dump())


@dataclass
class Chain:
    """root -> sub1 -> sub2 -> station, each CA with a CRL valid from START to END."""

    root: CertificateAuthority
    sub1: CertificateAuthority
    sub2: CertificateAuthority
    leaf: x509.Certificate
    extra: list[x509.Certificate] = field(default_factory=list)

    @property
    def cas(self) -> tuple[CertificateAuthority, ...]:
        return (self.root, self.sub1, self.sub2)

    def crls(
        self, this_update: int = START, next_update: int = END
    ) -> list[x509.CertificateRevocationList]:
        return [ca.crl(this_update, next_update) for ca in self.cas]

    def directory(
        self,
        crls: Sequence[x509.CertificateRevocationList] | None = None,
        certs: Sequence[x509.Certificate] | None = None,
    ) -> CertificateDirectory:
        listed = [self.sub1.certificate, self.sub2.certificate, self.leaf, *self.extra]
        return CertificateDirectory(
            self.root.certificate,
            listed if certs is None else certs,
            self.crls() if crls is None else crls,
        )


def two_level_chain(root_path_length: int | None = 2, sub1_path_length: int | None = 1) -> Chain:
    """The ISO 15118 shape: root, two sub-CA levels, a station issued by the second."""
    root = CertificateAuthority(
        seeded_key("root"), "root-ca", START, END, path_length=root_path_length
    )
    sub1 = root.issue_ca(
        "sub-ca-1", seeded_key("sub-ca-1"), START, END, path_length=sub1_path_length
    )
    sub2 = sub1.issue_ca("sub-ca-2", seeded_key("sub-ca-2"), START, END, path_length=0)
    leaf = sub2.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0 + 30 * DAY)
    return Chain(root, sub1, sub2, leaf)


def with_extension_twice(
    obj: x509.Certificate | x509.CertificateRevocationList, key: Ed25519PrivateKey
) -> x509.Certificate | x509.CertificateRevocationList:
    """``obj`` re-signed by ``key`` with its first extension listed twice, which
    ``cryptography``'s builders refuse to write (asn1crypto does)."""
    from asn1crypto import x509 as asn1_x509  # noqa: PLC0415

    if isinstance(obj, x509.Certificate):
        signed = asn1_x509.Certificate.load(obj.public_bytes(Encoding.DER))
        tbs = signed["tbs_certificate"]
        fields = {name: tbs[name] for name in tbs if not isinstance(tbs[name], Void)}
        fields["extensions"] = asn1_x509.Extensions([*tbs["extensions"], tbs["extensions"][0]])
        new_tbs = asn1_x509.TbsCertificate(fields)
        return x509.load_der_x509_certificate(
            asn1_x509.Certificate(
                {
                    "tbs_certificate": new_tbs,
                    "signature_algorithm": signed["signature_algorithm"],
                    "signature_value": key.sign(new_tbs.dump()),
                }
            ).dump()
        )
    signed_crl = asn1_crl.CertificateList.load(obj.public_bytes(Encoding.DER))
    tbs_crl = signed_crl["tbs_cert_list"]
    fields = {name: tbs_crl[name] for name in tbs_crl if not isinstance(tbs_crl[name], Void)}
    extensions = list(tbs_crl["crl_extensions"])
    fields["crl_extensions"] = asn1_crl.TBSCertListExtensions([*extensions, extensions[0]])
    new_tbs_crl = asn1_crl.TbsCertList(fields)
    return x509.load_der_x509_crl(
        asn1_crl.CertificateList(
            {
                "tbs_cert_list": new_tbs_crl,
                "signature_algorithm": signed_crl["signature_algorithm"],
                "signature": key.sign(new_tbs_crl.dump()),
            }
        ).dump()
    )
