"""Charging stations: dockings, presence attestations (paper Fig. 5 steps 1-4) and sessions.

A chain cannot see a docking, so the one guarantee that a Presence means "this key was here"
rests on the station's conduct (IOME-PRES-003): it signs only a key shown by a vehicle docked
at it at that time, and at most once per docking. A vehicle that arrives at B (destination of
one trip) and later leaves B (source of the next) therefore docks twice, once per key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from iome_ref.crypto import KeyPair
from iome_ref.errors import Rejected, UsageError
from iome_ref.models import ChargeSession, Presence, SignedModel
from iome_ref.requirements import enforces
from iome_ref.rules.stateless import STATELESS_RULES

__all__ = ["ChargingStation", "Docking", "check_presence_docked"]

PresenceKind = Literal["source", "destination"]
Direction = Literal["charge", "discharge"]


@dataclass(slots=True)
class Docking:
    """One physical connection of a vehicle: the one key it showed, and whether it is attested."""

    vehicle_id: str
    one_time_pk: str
    since: int
    attested: bool = False


@enforces("IOME-PRES-003")
def check_presence_docked(
    station_id: str, docking: Docking | None, one_time_pk: str, t: int
) -> None:
    """Paper §I: "the station can confirm the presence of the vehicle at its location when the
    key is received before signing the key/timestamp pair"; signing an absent key, or a second
    presence for one docking, would let a station manufacture trips.

    Raises:
        Rejected: IOME-PRES-003.
    """
    if docking is None:
        raise Rejected("IOME-PRES-003", f"one_time_pk {one_time_pk} is not docked at {station_id}")
    if t < docking.since:
        raise Rejected(
            "IOME-PRES-003", f"t {t} is before the docking of {one_time_pk} at {docking.since}"
        )
    if docking.attested:
        raise Rejected("IOME-PRES-003", f"this docking of {one_time_pk} already has a Presence")


def _check_chain_would_accept(tx: SignedModel) -> None:
    """The chain's stateless field rules for ``tx``'s type, in the chain's order.

    A station refuses to sign what every node would refuse. The signatures it has just made
    are not verified again: that is the chain's work (``check_stateless``).
    """
    for rule in STATELESS_RULES[type(tx)]:
        rule(tx)


class ChargingStation:
    """A certified station (CN ``station_id``, role station) in ``region``."""

    def __init__(self, station_id: str, key: KeyPair, region: str) -> None:
        self.station_id = station_id
        self.key = key
        self.region = region
        self._by_vehicle: dict[str, Docking] = {}
        self._by_key: dict[str, Docking] = {}

    @property
    def docked(self) -> int:
        """Vehicles connected now."""
        return len(self._by_vehicle)

    def dock(self, vehicle_id: str, one_time_pk: str, t: int) -> None:
        """A vehicle connects and shows a one-time key (Fig. 5 steps 1 and 3).

        Raises:
            UsageError: the vehicle or the key is already docked here (a simulation bug).
        """
        if vehicle_id in self._by_vehicle or one_time_pk in self._by_key:
            raise UsageError(
                "station", f"{vehicle_id} or its key is already docked at {self.station_id}"
            )
        docking = Docking(vehicle_id, one_time_pk, t)
        self._by_vehicle[vehicle_id] = docking
        self._by_key[one_time_pk] = docking

    def undock(self, vehicle_id: str, t: int) -> None:
        """The vehicle disconnects: its key can no longer be attested here.

        Raises:
            UsageError: the vehicle is not docked here, or ``t`` precedes its docking.
        """
        docking = self._by_vehicle.get(vehicle_id)
        if docking is None or t < docking.since:
            raise UsageError("station", f"{vehicle_id} is not docked at {self.station_id} at {t}")
        del self._by_vehicle[vehicle_id], self._by_key[docking.one_time_pk]

    def is_docked(self, one_time_pk: str) -> bool:
        return one_time_pk in self._by_key

    def sign_presence(self, kind: PresenceKind, one_time_pk: str, t: int) -> Presence:
        """Fig. 5 steps 2 and 4: attest that ``one_time_pk`` is docked here at ``t``.

        Raises:
            Rejected: IOME-PRES-003 (not docked then, or already attested), IOME-PRES-002.
        """
        docking = self._by_key.get(one_time_pk)
        check_presence_docked(self.station_id, docking, one_time_pk, t)
        assert docking is not None  # narrowed by the check above
        presence = Presence.create(
            {"station_sig": self.key, "station_pk_sig": self.key},
            kind=kind,
            station_id=self.station_id,
            station_pk=self.key.public_hex,
            one_time_pk=one_time_pk,
            t=t,
        )
        _check_chain_would_accept(presence)
        docking.attested = True
        return presence

    def record_session(  # noqa: PLR0917 - the session's fields, in the contract's order
        self,
        one_time_key: KeyPair,
        direction: Direction,
        energy_wh: int,
        price: int,
        start: int,
        end: int,
    ) -> ChargeSession:
        """A public charge or discharge, co-signed by the station and the vehicle's one-time key.

        The vehicle signs with the same key it showed at docking (trips.md step 2), so the
        public session carries no other identity. The station refuses to sign a session the
        chain would refuse (interval, energy, own key), reusing the chain's rules.

        Raises:
            Rejected: IOME-CHG-001, IOME-CHG-002, IOME-CHG-004.
        """
        session = ChargeSession.create(
            {"station_sig": self.key, "vehicle_sig": one_time_key},
            station_id=self.station_id,
            station_pk=self.key.public_hex,
            one_time_pk=one_time_key.public_hex,
            direction=direction,
            energy_wh=energy_wh,
            price_micro_per_kwh=price,
            start_time=start,
            end_time=end,
        )
        _check_chain_would_accept(session)
        return session
