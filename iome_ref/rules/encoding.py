"""Identity checks every transaction passes: its tx id and its domain-separated signatures."""

from __future__ import annotations

from iome_ref.crypto import verify
from iome_ref.errors import Rejected
from iome_ref.models import Block, SignedModel, Trip
from iome_ref.requirements import enforces

__all__ = ["check_block_signature", "check_signatures", "check_tx_id"]


@enforces("IOME-ENC-011")
def check_tx_id(tx: SignedModel) -> None:
    """Refuse a tx whose id is not the hash of its canonical bytes (paper §III: "T ID ... is
    the hash of the transaction"); otherwise two nodes could index one tx under two ids.

    Raises:
        Rejected: IOME-ENC-011.
    """
    expected = tx.compute_tx_id()
    if tx.tx_id != expected:
        raise Rejected("IOME-ENC-011", f"tx_id is {tx.tx_id}, canonical hash is {expected}")


def check_signatures(tx: SignedModel) -> None:
    """Verify every signature a model declares, each under its own domain tag, and a Trip's
    quorum signatures (tag ``Trip``); whose keys those are is the certificates' business.

    Raises:
        Rejected: IOME-SIG-001 to IOME-SIG-008 from the strict verifier.
    """
    for spec in tx.SIGNATURES:
        verify(
            getattr(tx, spec.key_field), getattr(tx, spec.field), spec.tag, tx.signed_payload(spec)
        )
    if isinstance(tx, Trip):
        for quorum_sig in tx.verifier_sigs:
            verify(quorum_sig.verifier_pk, quorum_sig.signature, "Trip", tx.tx_id)


def check_block_signature(block: Block) -> None:
    """Verify the producer's signature over the block hash, tag ``Block``."""
    verify(block.producer_pk, block.signature, "Block", block.block_hash)
