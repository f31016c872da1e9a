"""Building the evidence bundle of an accepted transaction from a node's ledger.

A bundle (spec/evidence.md) must show the transaction exactly as the chain judged it: the
certificates and revocation lists in force at its position in the chain, which are the
genesis directory replaced by every RevocationList the chain accepted before it (chains.md,
"What a verdict may depend on"). The builder therefore walks the chain from genesis to the
transaction, putting each RevocationList in force as the chain did, rather than reading the
chain's current directory: a list accepted after the transaction must not appear in its
evidence, or a later, backdated revocation would refuse what the chain accepted (that is
IOME-REV-003 evidence, kept on the chain, not a reason to deny the bundle).

What must not live here: the checks (``iome_ref.rules.evidence``).
"""

from __future__ import annotations

import itertools

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from iome_ref.chain.ledger import Ledger
from iome_ref.constants import ROLE_BACKUP, ROLE_MANAGER, ROLE_PRODUCER
from iome_ref.errors import UsageError
from iome_ref.merkle import compute_inclusion_proof
from iome_ref.models import Anchor, Block, ManagerHandover, RevocationList, SignedModel
from iome_ref.models.evidence import (
    BUNDLE_FORMAT,
    BlockHeader,
    CertifiedKeyEvidence,
    EvidenceBundle,
    InclusionProof,
)
from iome_ref.pki import CertificateDirectory
from iome_ref.rules.certificates import get_certified_keys
from iome_ref.rules.evidence import compute_fingerprint
from iome_ref.rules.revocation import check_revocation_list_der

__all__ = ["build_bundle"]


def _pem(item: x509.Certificate | x509.CertificateRevocationList) -> str:
    return item.public_bytes(Encoding.PEM).decode("ascii")


def _certified(
    directory: CertificateDirectory, public_key: str, role: str, at: int, subject_id: str | None
) -> CertifiedKeyEvidence:
    """The key's certification path at ``at`` and the lists in force for each of its CAs."""
    path = directory.get_certification_path(public_key, role, at, subject_id)
    crls: list[str] = []
    for _, issuer in itertools.pairwise(path):
        crl = directory.get_crl_in_force(issuer)
        if crl is not None and _pem(crl) not in crls:
            crls.append(_pem(crl))
    return CertifiedKeyEvidence(
        public_key=public_key,
        role=role,
        subject_id=subject_id,
        certificates=[_pem(cert) for cert in path[:-1]],
        crls=crls,
    )


def _bundle(  # noqa: PLR0917 - the position of one transaction in its chain, all needed
    chain_id: str,
    block: Block,
    index: int,
    tx: SignedModel,
    tx_directory: CertificateDirectory,
    block_directory: CertificateDirectory,
    anchor_role: str,
) -> EvidenceBundle:
    signers = [
        _certified(tx_directory, key.public_key, key.role, tx.time, key.subject_id)
        for key in get_certified_keys(tx, anchor_role)
    ]
    leaves = [bytes.fromhex(item.tx_id) for item in block.txs]
    header = block.model_dump(mode="json", exclude={"txs"})
    return EvidenceBundle(
        format=BUNDLE_FORMAT,
        trust_anchor=compute_fingerprint(tx_directory.root),
        chain=chain_id,
        tx_id=tx.tx_id,
        tx=tx.model_dump(mode="json"),
        signers=signers,
        block=BlockHeader.model_validate(header),
        inclusion=InclusionProof(
            index=index,
            size=len(leaves),
            path=[node.hex() for node in compute_inclusion_proof(leaves, index)],
        ),
        producer=_certified(block_directory, block.producer_pk, ROLE_PRODUCER, block.time, None),
    )


def build_bundle(ledger: Ledger, chain_id: str, tx_id: str) -> EvidenceBundle | None:
    """The evidence bundle of ``tx_id`` on ``chain_id``, or None when the chain lacks it.

    Raises:
        UsageError: the ledger keeps no chain ``chain_id``.
    """
    if chain_id not in ledger.chains:
        raise UsageError("store", f"this node keeps no chain {chain_id!r}")
    directory = ledger.context.directory
    handed_over: set[str] = set()
    for block in ledger.blocks(chain_id):
        block_directory = directory
        for index, tx in enumerate(block.txs):
            if tx.tx_id == tx_id:
                role = (
                    ROLE_BACKUP
                    if isinstance(tx, Anchor) and tx.chain_id in handed_over
                    else ROLE_MANAGER
                )
                return _bundle(chain_id, block, index, tx, directory, block_directory, role)
            if isinstance(tx, RevocationList):
                directory = directory.with_revocation_list(check_revocation_list_der(tx))
            elif isinstance(tx, ManagerHandover):
                handed_over.add(tx.chain_id)
    return None
