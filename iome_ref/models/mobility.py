"""Mobility transactions: presence at stations, trip claims, public trips, charging, O-D matrix.

One-time keys appear in Presence, TripClaim and ChargeSession only; a public Trip carries no
key and no presence id by construction (``extra="forbid"``), so extraction cannot leak them.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from iome_ref.constants import MAX_TRIP_VERIFIERS, OD_CELL_LEN
from iome_ref.models.base import (
    LIST_REQ,
    BoundedList,
    EnergyWh,
    Hash,
    Identifier,
    ListBound,
    Micro,
    ProtocolModel,
    PublicKey,
    Quantity,
    Seconds,
    Signature,
    SignedModel,
    SigSpec,
)

__all__ = ["ChargeSession", "ODMatrix", "Presence", "Trip", "TripClaim", "VerifierSignature"]


class Presence(SignedModel):
    """A station's statement that a one-time key was docked there at time t (paper Fig. 5).

    The paper's ``SignA(h(PK1, t1))`` is ``station_sig`` over the tx id, which hashes the key
    and time together with the station and kind; ``SignA(PK1)`` is ``station_pk_sig``.
    """

    SIGNATURES: ClassVar = (
        SigSpec("station_sig", "station_pk", "Presence"),
        SigSpec("station_pk_sig", "station_pk", "Presence.pk", payload="one_time_pk"),
    )
    TIME_FIELD: ClassVar = "t"

    type: Literal["Presence"] = "Presence"
    kind: Literal["source", "destination"] = Field(description="Trip end this presence marks.")
    station_id: Identifier = Field(description="Certified station id (IOME-CERT-005).")
    station_pk: PublicKey = Field(description="Station key (role station).")
    one_time_pk: PublicKey = Field(description="Vehicle one-time key (IOME-PRES-001/002).")
    t: Seconds = Field(description="Docking time, unix s.")
    station_sig: Signature = Field(description="Station signature over tx_id, tag Presence.")
    station_pk_sig: Signature = Field(
        description="Station signature over one_time_pk, tag Presence.pk."
    )


class TripClaim(SignedModel):
    """A vehicle's private claim to verifiers that it holds both one-time keys of a trip.

    Never public: it links PK1 and PK2, which is exactly what the public chain must not show.
    """

    SIGNATURES: ClassVar = (
        SigSpec("source_sig", "source_pk", "TripClaim"),
        SigSpec("destination_sig", "destination_pk", "TripClaim"),
    )

    type: Literal["TripClaim"] = "TripClaim"
    source_presence_id: Hash = Field(description="tx id of the source Presence.")
    destination_presence_id: Hash = Field(description="tx id of the destination Presence.")
    source_pk: PublicKey = Field(description="One-time key PK1 (IOME-CLAIM-002).")
    destination_pk: PublicKey = Field(description="One-time key PK2 (IOME-CLAIM-002).")
    timestamp: Seconds = Field(description="Claim time, unix s.")
    source_sig: Signature = Field(description="PK1 signature over tx_id, tag TripClaim.")
    destination_sig: Signature = Field(description="PK2 signature over tx_id, tag TripClaim.")


class VerifierSignature(ProtocolModel):
    """One verifier's signature in a Trip's quorum."""

    verifier_pk: PublicKey = Field(description="Certified verifier key (role verifier).")
    signature: Signature = Field(description="Signature over the Trip tx_id, tag Trip.")


class Trip(SignedModel):
    """An anonymous verified trip on the public chain (paper Fig. 5 step 8)."""

    EXTRA_UNSIGNED: ClassVar = frozenset({"verifier_sigs"})
    TIME_FIELD: ClassVar = "end_time"

    type: Literal["Trip"] = "Trip"
    origin_station_id: Identifier = Field(description="Station where the trip started.")
    destination_station_id: Identifier = Field(description="Station where the trip ended.")
    start_time: Seconds = Field(description="Published start, unix s, bucketed (IOME-TRIP-004).")
    end_time: Seconds = Field(description="Published end, unix s, bucketed (IOME-TRIP-004).")
    time_bucket_s: Quantity = Field(description="Publication granularity, s (IOME-TRIP-004).")
    nonce: Hash = Field(
        description="Random value chosen by the verifiers so that two vehicles making the same "
        "trip in the same bucket publish distinct transactions; never derived from a key or "
        "presence."
    )
    verifier_sigs: Annotated[list[VerifierSignature], ListBound(MAX_TRIP_VERIFIERS), LIST_REQ] = (
        Field(
            description="Quorum of verifier signatures, at most MAX_TRIP_VERIFIERS, so a receiver "
            "never verifies more than a quorum can need (IOME-ENC-010, IOME-TRIP-002/003)."
        )
    )


class ChargeSession(SignedModel):
    """A public charge or discharge under a one-time key, signed by station and vehicle."""

    SIGNATURES: ClassVar = (
        SigSpec("station_sig", "station_pk", "ChargeSession"),
        SigSpec("vehicle_sig", "one_time_pk", "ChargeSession"),
    )
    TIME_FIELD: ClassVar = "end_time"

    type: Literal["ChargeSession"] = "ChargeSession"
    station_id: Identifier = Field(description="Certified station id.")
    station_pk: PublicKey = Field(description="Station key (role station).")
    one_time_pk: PublicKey = Field(description="Vehicle one-time key (IOME-CHG-003/004).")
    direction: Literal["charge", "discharge"] = Field(description="Energy into or out of the car.")
    energy_wh: EnergyWh = Field(description="Energy moved, Wh (IOME-CHG-002).")
    price_micro_per_kwh: Micro = Field(description="Price applied, micro-units per kWh.")
    start_time: Seconds = Field(description="Session start, unix s.")
    end_time: Seconds = Field(description="Session end, unix s (IOME-CHG-001).")
    station_sig: Signature = Field(description="Station signature, tag ChargeSession.")
    vehicle_sig: Signature = Field(description="One-time key signature, tag ChargeSession.")


class ODMatrix(SignedModel):
    """Origin-destination trip counts for a period (paper Fig. 5 steps 10-11).

    Sparse, and possibly one of several over disjoint origins (trips.md, "ODMatrix"): a dense
    matrix over every station outgrows a message long before a city is large.
    """

    SIGNATURES: ClassVar = (SigSpec("signature", "predictor_pk", "ODMatrix"),)
    TIME_FIELD: ClassVar = "period_end"

    type: Literal["ODMatrix"] = "ODMatrix"
    period_start: Seconds = Field(description="Start of the period, unix s (inclusive).")
    period_end: Seconds = Field(description="End of the period, unix s (exclusive).")
    origins: BoundedList[Identifier] = Field(
        description="Origin station ids, sorted unique (IOME-ODM-001)."
    )
    destinations: BoundedList[Identifier] = Field(
        description="Destination station ids, sorted unique (IOME-ODM-001)."
    )
    cells: BoundedList[Annotated[list[Quantity], ListBound(OD_CELL_LEN), LIST_REQ]] = Field(
        description="Sparse [i, j, count]: count trips from origins[i] to destinations[j], "
        "ascending by (i, j), count >= 1 (IOME-ODM-002/004); a cell holds at most "
        "OD_CELL_LEN entries (IOME-ENC-010)."
    )
    predictor_pk: PublicKey = Field(description="Certified predictor key (role predictor).")
    signature: Signature = Field(description="Predictor signature, tag ODMatrix.")
