"""Which certificate each transaction needs: role, subject and time (paper §III step 6).

The CERT rules themselves live in ``iome_ref.pki``; this table says where they apply, so a new
transaction type cannot silently skip certification.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Final, NamedTuple

from iome_ref.constants import (
    ROLE_BACKUP,
    ROLE_DISTRIBUTION,
    ROLE_MANAGER,
    ROLE_PREDICTOR,
    ROLE_PRODUCER,
    ROLE_STATION,
    ROLE_VERIFIER,
)
from iome_ref.errors import Rejected
from iome_ref.models import (
    EPS,
    ESDP,
    Anchor,
    Block,
    ChargeSession,
    IssuerRegistration,
    ManagerHandover,
    ODMatrix,
    Presence,
    SignedModel,
    Trip,
)
from iome_ref.pki import CertificateDirectory
from iome_ref.requirements import enforces

__all__ = [
    "CERTIFIED_SIGNERS",
    "Certified",
    "check_block_producer",
    "check_certified_at_block",
    "check_tx_certificates",
    "get_certified_keys",
]


class Certified(NamedTuple):
    """A key in a transaction that must be certified for ``role`` (and subject) at a time."""

    public_key: str
    role: str
    subject_id: str | None


def _esdp(tx: ESDP) -> Iterator[Certified]:
    # Building energy managers publish under pseudonymous keys; only companies are certified.
    if tx.issuer_role == "distribution":
        yield Certified(tx.issuer_pk, ROLE_DISTRIBUTION, None)


def _registration(tx: IssuerRegistration) -> Iterator[Certified]:
    yield Certified(tx.issuer_pk, ROLE_DISTRIBUTION, tx.issuer_id)


def _eps(tx: EPS) -> Iterator[Certified]:
    yield Certified(tx.issuer_pk, ROLE_DISTRIBUTION, None)


def _station(tx: Presence | ChargeSession) -> Iterator[Certified]:
    yield Certified(tx.station_pk, ROLE_STATION, tx.station_id)


def _trip(tx: Trip) -> Iterator[Certified]:
    for sig in tx.verifier_sigs:
        yield Certified(sig.verifier_pk, ROLE_VERIFIER, None)


def _predictor(tx: ODMatrix) -> Iterator[Certified]:
    yield Certified(tx.predictor_pk, ROLE_PREDICTOR, None)


def _handover(tx: ManagerHandover) -> Iterator[Certified]:
    yield Certified(tx.new_manager_pk, ROLE_BACKUP, tx.chain_id)


#: Certified keys per transaction type. An Anchor's role depends on who is in office (chain
#: state), so :func:`get_certified_keys` takes it as an argument.
CERTIFIED_SIGNERS: Final[dict[str, Callable[..., Iterator[Certified]]]] = {
    "ESDP": _esdp,
    "IssuerRegistration": _registration,
    "EPS": _eps,
    "Presence": _station,
    "ChargeSession": _station,
    "Trip": _trip,
    "ODMatrix": _predictor,
    "ManagerHandover": _handover,
}


def get_certified_keys(tx: SignedModel, anchor_role: str = ROLE_MANAGER) -> list[Certified]:
    """The keys of ``tx`` that must be certified, in the order they are checked.

    ``anchor_role`` is the role of the manager in office of an Anchor's chain: ``ROLE_MANAGER``
    until a handover, ``ROLE_BACKUP`` after one (chains.md, IOME-ANC-001).
    """
    if isinstance(tx, Anchor):
        return [Certified(tx.manager_pk, anchor_role, tx.chain_id)]
    signers = CERTIFIED_SIGNERS.get(tx.tx_type)
    return [] if signers is None else list(signers(tx))


def check_tx_certificates(
    tx: SignedModel, directory: CertificateDirectory, anchor_role: str = ROLE_MANAGER
) -> list[Certified]:
    """Check every key of ``tx`` that must be certified, at the time the tx claims.

    Returns the keys checked, so a chain can re-judge them when a later revocation list
    arrives (IOME-REV-003).

    Raises:
        Rejected: IOME-CERT-*.
    """
    keys = get_certified_keys(tx, anchor_role)
    for certified in keys:
        directory.check_certified(
            certified.public_key, certified.role, tx.time, certified.subject_id
        )
    return keys


def check_block_producer(block: Block, directory: CertificateDirectory) -> None:
    """Producers are certified (proof of authority, DESIGN §2); consensus is out of scope."""
    directory.check_certified(block.producer_pk, ROLE_PRODUCER, block.time)


@enforces("IOME-CERT-021")
def check_certified_at_block(
    keys: Sequence[Certified], directory: CertificateDirectory, block_time: int
) -> None:
    """Each key ``check_tx_certificates`` accepted at the claimed time must still be certified
    at the time of the block that includes the transaction, under the chain's directory.

    Why: the claimed time is the signer's own word. Judged at it alone, a station whose
    certificate was revoked or has expired keeps its key and dates what it signs before that
    moment, and every chain accepts it, for ever. The block's time is the chain's, and the
    directory the chain's own data, so the verdict still depends only on the block and the
    chain before it (chains.md, "What a verdict may depend on"). The price: an honest message
    delivered after its signer's certificate stopped is refused too (certificates.md).

    Raises:
        Rejected: IOME-CERT-021, naming the certificate rule broken at ``block_time``.
    """
    # No cache of verdicts here: a directory accepts a time inside a path's window at once
    # (CertificateDirectory._find_path_in_window), and a refusal refuses the transaction.
    for key in keys:
        try:
            directory.check_certified(key.public_key, key.role, block_time, key.subject_id)
        except Rejected as exc:
            raise Rejected(
                "IOME-CERT-021",
                f"{key.public_key[:16]}...: certified for {key.role} at the block's time "
                f"{block_time}, found {exc.req_id} {exc.message}",
            ) from None
