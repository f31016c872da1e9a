"""Vectors for revocation lists carried as chain data (IOME-REV-001..003, IOME-CERT-003/008)."""

from __future__ import annotations

from cryptography.hazmat.primitives.serialization import Encoding

from iome_ref.crypto import KeyPair
from iome_ref.models import Block, RevocationList, SignedModel
from iome_ref.pki import CertificateAuthority
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.cases.book import BLOCK_TIME, CaseBook
from iome_ref.vectors.world import CERT_EXPIRY, T0

__all__ = ["revocation_list_cases"]

#: When the second revocation list is issued, and the date from which it revokes st-c.
_ISSUED = T0 + 50_000
_REVOKED_FROM = T0 + 4_000


def revocation_list_cases(b: Builder) -> CaseBook:
    book = CaseBook("revocation-list")
    crl = b.revocation_list({"st-c": _REVOKED_FROM}, _ISSUED)

    def block(chain_id: str, height: int, prev: str, time: int, txs: list[SignedModel]) -> Block:
        """A block placed by hand, so cases do not depend on the builder's cursor."""
        return Block.create(
            b.key("producer"), chain_id=chain_id, height=height, prev_hash=prev, time=time, txs=txs
        )

    book.valid("revokes", "the authority's next list revokes station st-c", crl)
    book.valid(
        "on-consortium",
        "every chain kind carries revocation lists, the verifiers' chain too",
        crl,
        chain="verifiers",
    )
    book.invalid(
        "not-der",
        "IOME-REV-001",
        "the crl field is hex, but not an X.509 CRL",
        RevocationList.create({}, crl="3000", this_update=_ISSUED),
        flags=["malformed"],
    )
    book.invalid(
        "time-not-the-crls",
        "IOME-REV-002",
        "this_update claims an hour later than the CRL was signed",
        RevocationList.create({}, crl=crl.crl, this_update=_ISSUED + 3600),
    )
    book.invalid(
        "after-its-block",
        "IOME-BLK-008",
        "a list issued after the block that carries it",
        crl,
        block_time=_ISSUED - 1,
        flags=["boundary"],
    )
    impostor = CertificateAuthority(
        KeyPair.derive("world", b.world.seed, "impostor").private,
        "iome-ca",
        T0,
        CERT_EXPIRY,
    )
    forged = impostor.crl(_ISSUED, _ISSUED + 3600)
    book.invalid(
        "forged",
        "IOME-CERT-008",
        "a list signed by an impostor authority of the same name",
        RevocationList.create({}, crl=forged.public_bytes(Encoding.DER).hex(), this_update=_ISSUED),
        flags=["forgery"],
    )
    in_force = block("public", 0, "0" * 64, _ISSUED, [crl])
    book.invalid(
        "in-force",
        "IOME-CERT-003",
        "once the list is on the chain, st-c's sessions from the revocation date on are refused",
        b.charge("st-c", start=_ISSUED + 100, end=_ISSUED + 3700),
        setup=[in_force],
    )
    book.valid(
        "not-yet-on-chain",
        "the same session on a chain that has not received the list is judged by the genesis "
        "list: accepted",
        b.charge("st-c", start=_ISSUED + 100, end=_ISSUED + 3700),
    )
    presence = b.presence("source", "st-c", "ev-9/otk-1", T0 + 5_000)
    earlier = block("verifiers", 0, "0" * 64, T0 + 5_100, [presence])
    book.valid(
        "backdated",
        "a list revoking st-c from before a presence the chain already accepted: the chain keeps "
        "its verdict on history and records the presence as evidence",
        block("verifiers", 1, earlier.block_hash, BLOCK_TIME, [crl]),
        setup=[earlier],
        chain="verifiers",
        evidence=["IOME-REV-003"],
    )
    # The same presence (claimed T0 + 5_000, included at T0 + 5_100), and a list revoking st-c
    # from a date between the two, or just after the block: IOME-CERT-021 judged the key at
    # the block's time too, so only the first is evidence.
    for slug, revoked_from, evidence, comment in (
        (
            "revoked-before-its-block",
            T0 + 5_100,
            ["IOME-REV-003"],
            "a list revoking st-c from the time of the block that included an earlier presence "
            "of st-c (claimed before that date): evidence, as the list on the chain in time "
            "would have refused it",
        ),
        (
            "revoked-after-its-block",
            T0 + 5_101,
            [],
            "a list revoking st-c from one second after that block: the presence relied on a "
            "key certified at both times it was judged at, no evidence",
        ),
    ):
        book.valid(
            slug,
            comment,
            block(
                "verifiers",
                1,
                earlier.block_hash,
                BLOCK_TIME,
                [b.revocation_list({"st-c": revoked_from}, _ISSUED)],
            ),
            setup=[earlier],
            chain="verifiers",
            evidence=evidence,
            flags=["boundary"],
        )
    return book
