"""Identity checks every transaction passes: its tx id and its domain-separated signatures."""

from __future__ import annotations

from iome_ref.crypto import verify
from iome_ref.errors import Rejected
from iome_ref.models import Block, SignedModel, Trip
from iome_ref.requirements import enforces

__all__ = ["check_block_signature", "check_signatures", "check_tx_id", "signature_checks"]


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

    An object whose signatures all verified once is marked and not verified again: the
    verdict is a function of its (frozen) content, so a presence the verifiers checked costs
    no second verification when their chain applies it.

    Raises:
        Rejected: IOME-SIG-001 to IOME-SIG-008 from the strict verifier.
    """
    if tx.signatures_verified:
        return
    for public_key, signature, tag, payload in signature_checks(tx):
        verify(public_key, signature, tag, payload)
    tx.mark_signatures_verified()


def signature_checks(tx: SignedModel) -> list[tuple[str, str, str, str]]:
    """(key hex, signature hex, tag, payload hex) of every signature ``tx`` carries, in the
    order ``check_signatures`` verifies them."""
    fields = tx.__dict__  # the validated values: getattr and signed_payload, without calls
    checks = [
        (fields[key], fields[signature], tag, str(fields[payload]))
        for signature, key, tag, payload in tx.SIGNATURES
    ]
    if isinstance(tx, Trip):
        checks.extend(
            (quorum_sig.verifier_pk, quorum_sig.signature, "Trip", tx.tx_id)
            for quorum_sig in tx.verifier_sigs
        )
    return checks


def check_block_signature(block: Block) -> None:
    """Verify the producer's signature over the block hash, tag ``Block``."""
    verify(block.producer_pk, block.signature, "Block", block.block_hash)
