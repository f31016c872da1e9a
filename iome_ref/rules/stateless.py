"""The checks a transaction passes on its own, before any chain state is consulted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from iome_ref.models import (
    EPS,
    ESDP,
    ChargeSession,
    ExternalRecord,
    IssuerRegistration,
    ODMatrix,
    Presence,
    SignedModel,
    Trip,
)
from iome_ref.rules import energy, ledger, mobility
from iome_ref.rules.encoding import check_signatures, check_tx_id

__all__ = ["STATELESS_RULES", "check_stateless"]

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
}


def check_stateless(tx: SignedModel) -> None:
    """Identity first (tx id, then signatures), then the type's own field rules.

    Identity goes first because a judgement about a forged object's fields is meaningless.

    Raises:
        Rejected: the id of the first rule broken.
    """
    check_tx_id(tx)
    check_signatures(tx)
    for rule in STATELESS_RULES.get(type(tx), ()):
        rule(tx)
