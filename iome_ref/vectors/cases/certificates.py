"""Vectors for the certificate profile (spec/certificates.md): paths, CAs, revocation lists.

Every case is a station's Presence on the verifiers' chain, so the only thing that varies is
the station's certification path or the PKI it is judged against. Path cases use the world's
PROFILE_STATIONS; PKI cases (a broken trust anchor or CRL) replace the file's PKI with their own
small one (case member ``pki``), which the reference refuses to load.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding

from iome_ref.constants import ROLE_STATION, ZERO_HASH
from iome_ref.crypto import KeyPair
from iome_ref.models import Block
from iome_ref.pki import CertificateAuthority, compute_subject_name, get_subject_id
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.cases.book import CaseBook
from iome_ref.vectors.world import CERT_EXPIRY, REVOKED_AT, T0, World

__all__ = ["certificate_cases"]

_T1 = T0 + 7200
#: When a revocation list carried by a chain revokes st-a (IOME-CERT-021).
_REVOKED = T0 + 30_000
_END = T0 + 2 * 365 * 24 * 3600


def _pem(obj: x509.Certificate | x509.CertificateRevocationList) -> str:
    return obj.public_bytes(Encoding.PEM).decode("ascii")


def _cert(world: World, subject_id: str) -> x509.Certificate:
    return next(c for c in world.directory.certificates if get_subject_id(c) == subject_id)


def _pki(
    world: World,
    crls: Sequence[x509.CertificateRevocationList] | None = None,
    extra: Sequence[x509.Certificate] = (),
    root: x509.Certificate | None = None,
) -> dict[str, Any]:
    """A small PKI for st-a: the root, iome-sub-1, iome-sub-2, st-a, each CA's CRL."""
    cas = world.authorities
    if crls is None:
        crls = [cas[name].crl(T0, _END) for name in ("iome-ca", "iome-sub-1", "iome-sub-2")]
    certs = [_cert(world, name) for name in ("iome-sub-1", "iome-sub-2", "st-a")]
    return {
        "root": _pem(cas["iome-ca"].certificate if root is None else root),
        "certificates": [_pem(c) for c in [*certs, *extra]],
        "crls": [_pem(c) for c in crls],
    }


def _sub2_crl(
    world: World, entries: Sequence[tuple[int, int]], *, number: bool = True
) -> x509.CertificateRevocationList:
    """A CRL signed by iome-sub-2's key with exactly ``entries`` (serial, time), in that order."""
    sub2 = world.authorities["iome-sub-2"]
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(sub2.name)
        .last_update(_datetime(T0))
        .next_update(_datetime(_END))
        .add_extension(sub2.authority_key_identifier(), critical=False)
    )
    if number:
        builder = builder.add_extension(x509.CRLNumber(T0), critical=False)
    for serial, at in entries:
        entry = (
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(_datetime(at))
        )
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(world.key("iome-sub-2").private, None)


def _datetime(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _path_cases(b: Builder, book: CaseBook) -> None:
    def presence(station: str, t: int) -> Any:
        return b.presence("source", station, "ev-1/otk-1", t)

    book.valid(
        "two-sub-ca-levels",
        "station A certified by iome-sub-2, certified by iome-sub-1, certified by the root",
        presence("st-a", _T1),
    )
    book.valid(
        "sub-ca-last-second",
        "a station whose sub-CA expires at REVOKED_AT, at that second (validity is inclusive)",
        presence("st-ca-short", REVOKED_AT),
        block_time=REVOKED_AT,
        flags=["boundary"],
    )
    book.invalid(
        "sub-ca-expired",
        "IOME-CERT-002",
        "the same station one second after its sub-CA expired: every certificate of the path "
        "must be valid",
        presence("st-ca-short", REVOKED_AT + 1),
        block_time=REVOKED_AT + 100,
        flags=["boundary"],
    )
    book.valid(
        "sub-ca-revoked-before",
        "a station whose sub-CA is revoked at REVOKED_AT, one second before",
        presence("st-ca-revoked", REVOKED_AT - 1),
        block_time=REVOKED_AT - 1,
        flags=["boundary"],
    )
    book.invalid(
        "sub-ca-revoked",
        "IOME-CERT-003",
        "the same station at the sub-CA's revocation date: a revoked intermediate revokes "
        "everything below it",
        presence("st-ca-revoked", REVOKED_AT),
        block_time=REVOKED_AT + 100,
        flags=["boundary"],
    )
    book.valid(
        "crl-last-second",
        "a station whose CA's CRL has nextUpdate = REVOKED_AT, at that second",
        presence("st-ca-stale-crl", REVOKED_AT),
        block_time=REVOKED_AT,
        flags=["boundary"],
    )
    book.invalid(
        "crl-expired",
        "IOME-CERT-018",
        "one second later no CRL of its CA speaks for the claimed time: revocation is required",
        presence("st-ca-stale-crl", REVOKED_AT + 1),
        block_time=REVOKED_AT + 100,
        flags=["boundary"],
    )
    for slug, station, req_id, comment in (
        ("issued-by-station", "st-under-station", "IOME-CERT-010",
         "a certificate signed by station A's key: the path runs through a non-CA"),
        ("ca-without-certsign", "st-ca-no-certsign", "IOME-CERT-011",
         "a sub-CA whose keyUsage has cRLSign but not keyCertSign"),
        ("path-too-long", "st-too-deep", "IOME-CERT-012",
         "iome-sub-2 has pathLenConstraint 0, yet a sub-CA below it certified the station"),
        ("leaf-is-ca", "st-is-ca", "IOME-CERT-013",
         "a station certificate with basicConstraints cA=true"),
        ("leaf-without-aki", "st-no-aki", "IOME-CERT-014",
         "a station certificate without authorityKeyIdentifier"),
        ("unknown-critical-extension", "st-critical-ext", "IOME-CERT-015",
         "a station certificate with a private extension marked critical"),
        ("name-constraints", "st-name-constrained", "IOME-CERT-015",
         "a sub-CA with name constraints, which IoME does not implement: refused, not ignored"),
    ):  # fmt: skip
        book.invalid(slug, req_id, comment, presence(station, _T1), flags=["pki-profile"])


def _pki_cases(b: Builder, book: CaseBook) -> None:
    world = b.world
    cas = world.authorities
    source = b.presence("source", "st-a", "ev-1/otk-1", _T1)
    book.valid("own-pki", "the same presence against a small PKI of its own path", source,
               pki=_pki(world))  # fmt: skip
    no_sub2_crl = [cas[name].crl(T0, _END) for name in ("iome-ca", "iome-sub-1")]
    book.invalid(
        "issuer-without-crl",
        "IOME-CERT-018",
        "iome-sub-2 publishes no CRL: station A's revocation status is unknown",
        source,
        pki=_pki(world, crls=no_sub2_crl),
    )
    x25519 = X25519PrivateKey.from_private_bytes(world.key("st-x25519").private.private_bytes_raw())
    foreign = cas["iome-sub-2"].issue_custom(
        compute_subject_name("st-x25519", ROLE_STATION),
        x25519.public_key(),  # type: ignore[arg-type]
        T0,
        CERT_EXPIRY,
        [(cas["iome-sub-2"].authority_key_identifier(), False)],
    )
    book.invalid(
        "x25519-certificate",
        "IOME-CERT-007",
        "the PKI lists a certificate with an X25519 key",
        source,
        pki=_pki(world, extra=[foreign]),
    )
    impostor = CertificateAuthority(
        KeyPair.derive("world", world.seed, "impostor").private, "iome-ca", T0, _END
    )
    crls = [cas[name].crl(T0, _END) for name in ("iome-sub-1", "iome-sub-2")]
    book.invalid(
        "crl-by-impostor",
        "IOME-CERT-008",
        "a CRL in the root's name signed by an impostor authority of the same name",
        source,
        pki=_pki(world, crls=[impostor.crl(T0, _END), *crls]),
    )
    book.invalid(
        "root-not-self-signed",
        "IOME-CERT-009",
        "the PKI's root is iome-sub-1's certificate, issued by another",
        source,
        pki=_pki(world, root=cas["iome-sub-1"].certificate),
    )
    crls = [cas[name].crl(T0, _END) for name in ("iome-ca", "iome-sub-1")]
    st_a = _cert(world, "st-a").serial_number
    book.invalid(
        "crl-without-number",
        "IOME-CERT-016",
        "iome-sub-2's CRL has no CRLNumber",
        source,
        pki=_pki(world, crls=[*crls, _sub2_crl(world, [], number=False)]),
    )
    book.invalid(
        "crl-duplicate-serial",
        "IOME-CERT-017",
        "iome-sub-2's CRL lists a serial twice; libraries reading the first entry would see "
        "station A revoked only after the claimed time",
        source,
        pki=_pki(world, crls=[*crls, _sub2_crl(world, [(st_a, _T1 + 1), (st_a, T0)])]),
        flags=["library-divergence"],
    )
    sub2_crl = cas["iome-sub-2"].crl(T0, _END)
    book.invalid(
        "crl-replayed",
        "IOME-CERT-019",
        "iome-sub-2's CRL listed twice: the second does not increase the CRL number",
        source,
        pki=_pki(world, crls=[*crls, sub2_crl, sub2_crl]),
        flags=["replay"],
    )
    fresh = CertificateAuthority.from_certificate(
        world.key("iome-sub-2").private, cas["iome-sub-2"].certificate
    )
    book.invalid(
        "crl-un-revokes",
        "IOME-CERT-020",
        "a later iome-sub-2 CRL drops st-revoked's entry: a revocation is never undone",
        source,
        pki=_pki(world, crls=[*crls, sub2_crl, fresh.crl(T0 + 1, _END)]),
    )


def _inclusion_cases(b: Builder, book: CaseBook) -> None:
    """IOME-CERT-021: a presence signed a minute before its station's certificate stopped,
    included in a block on either side of that moment; then a revocation the chain itself
    holds, in an earlier block or earlier in the same block."""
    signed = REVOKED_AT - 60
    backdated = b.presence("source", "st-revoked", "ev-5/otk-1", signed)
    book.valid(
        "included-before-revocation",
        "st-revoked (revoked from REVOKED_AT) signs a minute before and is included the second "
        "before its revocation date",
        backdated,
        block_time=REVOKED_AT - 1,
        flags=["boundary"],
    )
    book.invalid(
        "included-at-revocation",
        "IOME-CERT-021",
        "the same presence included at the revocation date: the chain's genesis list revokes "
        "st-revoked at the block's time, whatever earlier time the presence claims",
        backdated,
        block_time=REVOKED_AT,
        flags=["boundary"],
    )
    short = b.presence("source", "st-ca-short", "ev-5/otk-2", signed)
    book.valid(
        "included-at-expiry",
        "st-ca-short's sub-CA expires at REVOKED_AT; a presence signed a minute before is "
        "included at that second (validity is inclusive)",
        short,
        block_time=REVOKED_AT,
        flags=["boundary"],
    )
    book.invalid(
        "included-after-expiry",
        "IOME-CERT-021",
        "the same presence included one second after the sub-CA expired",
        short,
        block_time=REVOKED_AT + 1,
        flags=["boundary"],
    )
    book.invalid(
        "included-after-crl-lapsed",
        "IOME-CERT-021",
        "a presence by st-ca-stale-crl signed before its CA's CRL lapsed, included after: no "
        "list speaks for the block's time",
        b.presence("source", "st-ca-stale-crl", "ev-5/otk-3", signed),
        block_time=REVOKED_AT + 1,
        flags=["boundary"],
    )
    # A revocation of st-a from _REVOKED, carried by the chain itself, issued before that date.
    listed = b.revocation_list({"st-a": _REVOKED}, _REVOKED - 1000)
    on_chain = Block.create(
        b.key("producer"),
        chain_id="verifiers",
        height=0,
        prev_hash=ZERO_HASH,
        time=_REVOKED - 500,
        txs=[listed],
    )
    late = b.presence("source", "st-a", "ev-5/otk-4", _REVOKED - 60)
    book.valid(
        "chain-list-before-date",
        "the chain holds a list revoking st-a from a date; a presence signed a minute before "
        "is included the second before that date",
        late,
        setup=[on_chain],
        block_time=_REVOKED - 1,
        flags=["boundary"],
    )
    book.invalid(
        "chain-list-at-date",
        "IOME-CERT-021",
        "the same presence included at the date the list the chain holds revokes st-a from",
        late,
        setup=[on_chain],
        block_time=_REVOKED,
        flags=["boundary"],
    )
    book.valid(
        "list-not-on-chain",
        "the same presence included later on a chain that has not received the list: a "
        "revocation the chain does not hold changes nothing",
        late,
        block_time=_REVOKED + 100,
    )

    def genesis_block(txs: list[Any]) -> Block:
        return Block.create(
            b.key("producer"),
            chain_id="verifiers",
            height=0,
            prev_hash=ZERO_HASH,
            time=_REVOKED + 100,
            txs=txs,
        )

    book.valid(
        "claimed-at-not-before",
        "a presence claiming the second st-a's certificate becomes valid, included later",
        b.presence("source", "st-a", "ev-5/otk-5", T0),
        block_time=T0 + 100,
        flags=["boundary"],
    )
    book.invalid(
        "predated",
        "IOME-CERT-002",
        "a presence dated a second before st-a was certified, included once it is: valid at "
        "the block's time does not make up for the claimed time",
        b.presence("source", "st-a", "ev-5/otk-5", T0 - 1),
        block_time=T0 + 100,
        flags=["boundary"],
    )
    book.invalid(
        "list-earlier-in-block",
        "IOME-CERT-021",
        "a block carrying the list, then the presence: the list is in force from the next "
        "transaction on",
        genesis_block([listed, late]),
    )
    book.valid(
        "list-later-in-block",
        "a block carrying the presence, then the list: the presence was judged before the list "
        "was in force; the list revokes st-a from before the block's time, so it is evidence "
        "(IOME-REV-003), never a new verdict",
        genesis_block([late, listed]),
        evidence=["IOME-REV-003"],
    )


def certificate_cases(b: Builder) -> CaseBook:
    book = CaseBook("certificates", chain="verifiers")
    _path_cases(b, book)
    _pki_cases(b, book)
    _inclusion_cases(b, book)
    return book
