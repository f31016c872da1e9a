"""The checks a transaction passes on its own: one pipeline for chains, vectors and ``validate``.

The order is the spec's (transactions.md, "Checking a transaction"): cheap and structural
first, certificates before signatures, first error wins. A forged or oversized object is thus
refused for the cost of hashing it, never for the cost of verifying what it carries
(issue-12 bounded cost; encoding.md "Cost").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from iome_ref.constants import ROLE_MANAGER, TRIP_QUORUM
from iome_ref.models import (
    EPS,
    ESDP,
    ChargeSession,
    ExternalRecord,
    IssuerRegistration,
    ODMatrix,
    Presence,
    RevocationList,
    SignedModel,
    Trip,
)
from iome_ref.pki import CertificateDirectory
from iome_ref.rules import energy, ledger, mobility, revocation
from iome_ref.rules.certificates import Certified, check_tx_certificates
from iome_ref.rules.encoding import check_signatures, check_tx_id

__all__ = ["STATELESS_RULES", "check_stateless"]


def _check_revocation_list(revocation_list: RevocationList) -> None:
    revocation.check_revocation_list_time(
        revocation_list, revocation.check_revocation_list_der(revocation_list)
    )


#: Per type, the stateless rules in the order they run; order fixes which id a tx with
#: several faults reports.
STATELESS_RULES: Final[dict[type[SignedModel], tuple[Callable[[Any], None], ...]]] = {
    ESDP: (energy.check_esdp_window, energy.check_esdp_horizon, energy.check_esdp_precedes_window),
    IssuerRegistration: (energy.check_registration_regions,),
    EPS: (energy.check_eps_expiry, energy.check_eps_validity_bounded),
    Presence: (mobility.check_presence_key_not_station,),
    Trip: (
        mobility.check_trip_interval,
        mobility.check_trip_stations_differ,
        mobility.check_trip_buckets,
        mobility.check_trip_verifiers_distinct,
    ),
    ChargeSession: (
        mobility.check_charge_interval,
        mobility.check_charge_duration,
        mobility.check_charge_energy,
        mobility.check_charge_battery_bound,
        mobility.check_charge_key_not_station,
    ),
    ODMatrix: (mobility.check_od_zones, mobility.check_od_cells, mobility.check_od_period),
    ExternalRecord: (ledger.check_record_parties,),
    RevocationList: (_check_revocation_list,),
}


def check_stateless(
    tx: SignedModel,
    directory: CertificateDirectory | None = None,
    *,
    quorum: int = TRIP_QUORUM,
    anchor_role: str = ROLE_MANAGER,
) -> list[Certified]:
    """Tx id, the type's field rules, its certificates (with ``directory``), its signatures.

    The tx id comes first because every later message names the tx by it; certificates come
    before signatures because a lookup is cheap and a key nobody certified is refused whatever
    it signed. Without ``directory`` certificates are not judged (``iome validate`` without
    ``--pki``). ``quorum`` is the Trip quorum of the chain's context, ``anchor_role`` the role
    of an Anchor's manager in office (chain state).

    Returns:
        The certified keys checked, for later re-judgement (IOME-REV-003).

    Raises:
        Rejected: the id of the first rule broken.
    """
    if directory is not None:
        passed = tx.stateless_passed(directory, quorum, anchor_role)
        if passed is not None:  # judged already, on this content with these arguments
            return passed
    check_tx_id(tx)
    for rule in STATELESS_RULES.get(type(tx), ()):
        rule(tx)
    if isinstance(tx, Trip):
        mobility.check_trip_quorum(tx, quorum)
    certified = []
    if directory is not None:
        certified = check_tx_certificates(tx, directory, anchor_role)
        if isinstance(tx, ChargeSession):
            mobility.check_charge_station_certified_at_start(tx, directory)
        elif isinstance(tx, RevocationList):
            # The list's own signature and profile are its certificate check.
            directory.with_revocation_list(revocation.check_revocation_list_der(tx))
    check_signatures(tx)
    return certified
