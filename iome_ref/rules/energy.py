"""ESDP and EPS checks (paper §III steps 2-3; DESIGN §2 issuer chains).

Stateless checks take the object; chain checks take the slice of state they judge against
(the issuer's tip, its registration), so the same function serves a node, a vector and a test.
"""

from __future__ import annotations

from iome_ref.constants import MAX_EPS_VALIDITY_S, MAX_ESDP_HORIZON_S
from iome_ref.errors import Rejected
from iome_ref.models import EPS, ESDP, IssuerRegistration
from iome_ref.requirements import enforces

__all__ = [
    "check_eps_expiry",
    "check_eps_extends_chain",
    "check_eps_in_force_at_block",
    "check_eps_issuer_registered",
    "check_eps_not_before_predecessor",
    "check_eps_not_equivocating",
    "check_eps_region_registered",
    "check_eps_validity_bounded",
    "check_esdp_horizon",
    "check_esdp_precedes_window",
    "check_esdp_window",
    "check_registration_by_authority",
    "check_registration_new",
    "check_registration_regions",
]


@enforces("IOME-ESDP-001")
def check_esdp_window(esdp: ESDP) -> None:
    """Refuse an empty or inverted prediction window.

    Raises:
        Rejected: IOME-ESDP-001.
    """
    if esdp.window_start >= esdp.window_end:
        raise Rejected(
            "IOME-ESDP-001",
            f"window_start {esdp.window_start} is not before window_end {esdp.window_end}",
        )


@enforces("IOME-ESDP-002")
def check_esdp_horizon(esdp: ESDP) -> None:
    """Refuse a window longer than MAX_ESDP_HORIZON_S: a week-long 'prediction' prices nothing.

    Raises:
        Rejected: IOME-ESDP-002.
    """
    length = esdp.window_end - esdp.window_start
    if length > MAX_ESDP_HORIZON_S:
        raise Rejected(
            "IOME-ESDP-002", f"window is {length} s long, limit is {MAX_ESDP_HORIZON_S} s"
        )


@enforces("IOME-ESDP-003")
def check_esdp_precedes_window(esdp: ESDP) -> None:
    """Refuse a 'prediction' made after its window began: it would be a report, not a forecast.

    Raises:
        Rejected: IOME-ESDP-003.
    """
    if esdp.timestamp > esdp.window_start:
        raise Rejected(
            "IOME-ESDP-003",
            f"timestamp {esdp.timestamp} is after window_start {esdp.window_start}",
        )


@enforces("IOME-EPS-001")
def check_registration_by_authority(reg: IssuerRegistration, authority_pk: str | None) -> None:
    """Only the certificate authority starts an EPS chain (DESIGN §2).

    Raises:
        Rejected: IOME-EPS-001.
    """
    if reg.ca_pk != authority_pk:
        raise Rejected(
            "IOME-EPS-001", f"ca_pk {reg.ca_pk} is not the certificate authority {authority_pk}"
        )


@enforces("IOME-EPS-002")
def check_registration_regions(reg: IssuerRegistration) -> None:
    """Regions are a non-empty sorted set, so the canonical form of a registration is unique.

    Raises:
        Rejected: IOME-EPS-002.
    """
    if not reg.regions or list(reg.regions) != sorted(set(reg.regions)):
        raise Rejected(
            "IOME-EPS-002", f"regions must be non-empty, sorted and unique, found {reg.regions}"
        )


@enforces("IOME-EPS-009")
def check_registration_new(reg: IssuerRegistration, existing: IssuerRegistration | None) -> None:
    """A second registration would start a second chain for one issuer: a licensed fork.

    Raises:
        Rejected: IOME-EPS-009.
    """
    if existing is not None:
        raise Rejected(
            "IOME-EPS-009", f"issuer {reg.issuer_pk} is already registered by {existing.tx_id}"
        )


@enforces("IOME-EPS-003")
def check_eps_expiry(eps: EPS) -> None:
    """Paper §III: Expiry is "the duration of time in which the price is valid"; it must be
    non-empty.

    Raises:
        Rejected: IOME-EPS-003.
    """
    if eps.expiry <= eps.issued_at:
        raise Rejected(
            "IOME-EPS-003", f"expiry {eps.expiry} is not after issued_at {eps.issued_at}"
        )


@enforces("IOME-EPS-008")
def check_eps_validity_bounded(eps: EPS) -> None:
    """Bound how long a price binds, so a stale signal cannot steer vehicles for days.

    Raises:
        Rejected: IOME-EPS-008.
    """
    validity = eps.expiry - eps.issued_at
    if validity > MAX_EPS_VALIDITY_S:
        raise Rejected("IOME-EPS-008", f"validity is {validity} s, limit is {MAX_EPS_VALIDITY_S} s")


@enforces("IOME-EPS-006")
def check_eps_issuer_registered(eps: EPS, registration: IssuerRegistration | None) -> None:
    """Paper §III: "only the participants that own the key pairs corresponding to a transaction
    in the blockchain can create the transaction and chain it"; the chain must start somewhere
    the authority vouched for, or anyone could start one (Sybil).

    Raises:
        Rejected: IOME-EPS-006.
    """
    if registration is None:
        raise Rejected("IOME-EPS-006", f"issuer {eps.issuer_pk} has no IssuerRegistration")


@enforces("IOME-EPS-007")
def check_eps_region_registered(eps: EPS, registration: IssuerRegistration) -> None:
    """An issuer prices only the regions it was registered for.

    Raises:
        Rejected: IOME-EPS-007.
    """
    if eps.region not in registration.regions:
        raise Rejected(
            "IOME-EPS-007",
            f"region {eps.region} is not among registered regions {registration.regions}",
        )


@enforces("IOME-EPS-005")
def check_eps_not_equivocating(eps: EPS, successor: str | None) -> None:
    """Two signals extending one predecessor are equivocation: the issuer told two stories.

    ``successor`` is the tx that already extends ``eps.prev_tx_id``, if any. The caller keeps
    both signed transactions as evidence.

    Raises:
        Rejected: IOME-EPS-005.
    """
    if successor is not None and successor != eps.tx_id:
        raise Rejected(
            "IOME-EPS-005", f"prev_tx_id {eps.prev_tx_id} is already extended by {successor}"
        )


@enforces("IOME-EPS-004")
def check_eps_extends_chain(eps: EPS, issuer_tip: str | None) -> None:
    """Refuse a price signal that skips its issuer's chain (paper §III "P T ID").

    Raises:
        Rejected: IOME-EPS-004.
    """
    if eps.prev_tx_id != issuer_tip:
        raise Rejected("IOME-EPS-004", f"prev_tx_id {eps.prev_tx_id} is not tip {issuer_tip}")


@enforces("IOME-EPS-010")
def check_eps_not_before_predecessor(eps: EPS, predecessor_time: int | None) -> None:
    """An issuer's signals are in time order: an EPS issued before its predecessor (the tip's
    ``issued_at``, or the registration's ``timestamp``) would rewrite the price of a period
    that the predecessor already priced, after vehicles had acted on it.

    ``predecessor_time`` is the time of the issuer's tip, None if it has none (the issuer is
    then unregistered, which IOME-EPS-006 reports first).

    Raises:
        Rejected: IOME-EPS-010.
    """
    if predecessor_time is not None and eps.issued_at < predecessor_time:
        raise Rejected(
            "IOME-EPS-010",
            f"issued_at {eps.issued_at} is before its predecessor's time {predecessor_time}",
        )


@enforces("IOME-EPS-011")
def check_eps_in_force_at_block(eps: EPS, block_time: int) -> None:
    """A price signal is published while it applies: one already expired at the time of the
    block that records it steers nobody, and admitting it would let an issuer fill its chain
    with back-dated prices after the fact.

    Raises:
        Rejected: IOME-EPS-011.
    """
    if eps.expiry <= block_time:
        raise Rejected(
            "IOME-EPS-011", f"expiry {eps.expiry} is not after the block's time {block_time}"
        )
