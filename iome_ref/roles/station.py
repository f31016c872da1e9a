"""Charging stations: dockings, presence attestations (paper Fig. 5 steps 1-4) and sessions.

A chain cannot see a docking, so the one guarantee that a Presence means "this key was here"
rests on the station's conduct (IOME-PRES-003): it signs only a key shown by a vehicle docked
at it at that time, and at most once per docking. A vehicle that arrives at B (destination of
one trip) and later leaves B (source of the next) therefore docks twice, once per key. The
same holds for sessions (IOME-CHG-008): the station signs only for a key docked through the
whole session.

Each call happens at its time argument; a docking's events are therefore in time order, and
the station refuses to end a docking before a time it has already signed for it. So every
time a station attests lies within the docking interval, which the station cannot know in
advance: a presence dated a day ahead of an undocking a minute later is impossible.

What a station signs is dated now and handed over at once (to the vehicle, which claims its
trip, or to the chain): a chain judges the station's certificate at the claimed time and again
at the time of the block that includes it (IOME-CERT-021), so a presence or session held back
until after the station's certificate expired or was revoked is refused. The station never
signs for a time other than the call's, so it cannot backdate around its own revocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from iome_ref.crypto import KeyPair
from iome_ref.errors import Rejected, UsageError
from iome_ref.models import ChargeSession, Presence, SignedModel
from iome_ref.requirements import enforces
from iome_ref.rules.stateless import STATELESS_RULES

__all__ = ["ChargingStation", "Docking", "check_presence_docked", "check_session_docked"]

PresenceKind = Literal["source", "destination"]
Direction = Literal["charge", "discharge"]


@dataclass(slots=True)
class Docking:
    """One physical connection of a vehicle: the one key it showed, whether it is attested, and
    the latest time the station has signed for it (``since`` until it signs anything)."""

    vehicle_id: str
    one_time_pk: str
    since: int
    attested: bool = False
    latest: int = -1

    def __post_init__(self) -> None:
        self.latest = max(self.latest, self.since)

    def attest_until(self, t: int) -> None:
        """The station has signed that the vehicle is docked at ``t``: it cannot leave before."""
        self.latest = max(self.latest, t)


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


@enforces("IOME-CHG-008")
def check_session_docked(
    station_id: str, docking: Docking | None, one_time_pk: str, start: int
) -> None:
    """A station co-signs a session only for the key of a vehicle docked at it from the
    session's start: else it would sign energy it never metered, for a key it never saw.

    The session's end is the signing time; ending the docking before it is refused by
    :meth:`ChargingStation.undock`.

    Raises:
        Rejected: IOME-CHG-008.
    """
    if docking is None:
        raise Rejected("IOME-CHG-008", f"one_time_pk {one_time_pk} is not docked at {station_id}")
    if start < docking.since:
        raise Rejected(
            "IOME-CHG-008",
            f"session starts at {start}, before {one_time_pk} docked at {docking.since}",
        )


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
            UsageError: the vehicle is not docked here, or ``t`` precedes a time the station
                already signed for this docking (a presence, a session's end): the caller's
                clock ran backwards, and undocking would put that signature outside the
                docking (IOME-PRES-003, IOME-CHG-008).
        """
        docking = self._by_vehicle.get(vehicle_id)
        if docking is None:
            raise UsageError("station", f"{vehicle_id} is not docked at {self.station_id} at {t}")
        if t < docking.latest:
            raise UsageError(
                "station",
                f"{vehicle_id} cannot leave {self.station_id} at {t}: the station signed "
                f"that it was docked at {docking.latest}",
            )
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
        docking.attest_until(t)
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
        public session carries no other identity. The station signs at ``end``, for a key
        docked since ``start`` at the latest (IOME-CHG-008), and refuses to sign a session the
        chain would refuse (interval, duration, energy, own key), reusing the chain's rules.
        Its certificate must hold over the whole session (IOME-CHG-005); the certificate is the
        authority's business, not the station's, so the chain checks that.

        Raises:
            Rejected: IOME-CHG-008, IOME-CHG-001, IOME-CHG-006, IOME-CHG-002, IOME-CHG-007,
                IOME-CHG-004.
        """
        docking = self._by_key.get(one_time_key.public_hex)
        check_session_docked(self.station_id, docking, one_time_key.public_hex, start)
        assert docking is not None  # narrowed by the check above
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
        docking.attest_until(end)
        return session
