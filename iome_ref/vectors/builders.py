"""Builders of valid, signed objects in a World, with any field overridable.

Every builder signs through ``SignedModel.create``, so a test or vector that overrides one
field gets an object whose only fault is that field: the tx id and signatures are right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from cryptography.hazmat.primitives.serialization import Encoding

from iome_ref.constants import ZERO_HASH
from iome_ref.crypto import KeyPair
from iome_ref.encoding import compute_hash
from iome_ref.models import (
    EPS,
    ESDP,
    Anchor,
    Block,
    ChargeSession,
    DataCommitment,
    ExternalRecord,
    IssuerRegistration,
    ManagerHandover,
    ODMatrix,
    Presence,
    RevocationList,
    SignedModel,
    Trip,
    TripClaim,
    VerifierSignature,
)
from iome_ref.pki import CertificateAuthority, get_subject_id
from iome_ref.rules.mobility import compute_od_cells
from iome_ref.vectors.world import T0, World

__all__ = ["Builder", "ChainCursor", "forge", "sign_as"]

M = TypeVar("M", bound=SignedModel)


def sign_as(model: type[M], fields: dict[str, Any], *keys: KeyPair) -> M:
    """Create ``model`` signing each signature with the key whose public half the fields name."""
    by_pk = {key.public_hex: key for key in keys}
    signers = {spec.field: by_pk[fields[spec.key_field]] for spec in model.SIGNATURES}
    return model.create(signers, **fields)


class ChainCursor:
    """Tracks the head of each chain so successive blocks link up."""

    def __init__(self) -> None:
        self.heads: dict[str, tuple[int, str]] = {}

    def next_block(
        self, producer: KeyPair, chain_id: str, txs: Sequence[SignedModel], time: int
    ) -> Block:
        height, prev_hash = self.heads.get(chain_id, (-1, ZERO_HASH))
        block = Block.create(
            producer,
            chain_id=chain_id,
            height=height + 1,
            prev_hash=prev_hash,
            time=time,
            txs=list(txs),
        )
        self.heads[chain_id] = (block.height, block.block_hash)
        return block


class Builder:
    """Valid objects of every type in ``world``; keyword arguments override fields."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.cursor = ChainCursor()

    def key(self, name: str) -> KeyPair:
        return self.world.key(name)

    def esdp(self, issuer: str = "home-1", t: int = T0 + 3600, **over: Any) -> ESDP:
        fields: dict[str, Any] = {
            "region": "north",
            "issuer_role": "bem",
            "window_start": t + 900,
            "window_end": t + 4500,
            "supply_wh": 12_000,
            "demand_wh": 9_500,
            "timestamp": t,
            "issuer_pk": self.key(issuer).public_hex,
        } | over
        return self._sign(ESDP, fields)

    def registration(
        self, issuer: str = "grid-north", t: int = T0 + 60, **over: Any
    ) -> IssuerRegistration:
        fields: dict[str, Any] = {
            "issuer_pk": self.key(issuer).public_hex,
            "issuer_id": issuer,
            "regions": ["north", "south"],
            "timestamp": t,
            "ca_pk": self.key("authority").public_hex,
        } | over
        return self._sign(IssuerRegistration, fields)

    def eps(
        self, prev_tx_id: str, issuer: str = "grid-north", t: int = T0 + 3600, **over: Any
    ) -> EPS:
        fields: dict[str, Any] = {
            "prev_tx_id": prev_tx_id,
            "region": "north",
            "price_micro_per_kwh": 250_000,
            "feed_in_micro_per_kwh": 80_000,
            "incentive_micro_per_kwh": 0,
            "issued_at": t,
            "expiry": t + 3600,
            "issuer_pk": self.key(issuer).public_hex,
        } | over
        return self._sign(EPS, fields)

    def presence(self, kind: str, station: str, vehicle_key: str, t: int, **over: Any) -> Presence:
        fields: dict[str, Any] = {
            "kind": kind,
            "station_id": station,
            "station_pk": self.key(station).public_hex,
            "one_time_pk": self.key(vehicle_key).public_hex,
            "t": t,
        } | over
        return self._sign(Presence, fields)

    def claim(
        self, source: Presence, destination: Presence, t: int | None = None, **over: Any
    ) -> TripClaim:
        fields: dict[str, Any] = {
            "source_presence_id": source.tx_id,
            "destination_presence_id": destination.tx_id,
            "source_pk": source.one_time_pk,
            "destination_pk": destination.one_time_pk,
            "timestamp": destination.t if t is None else t,
        } | over
        return self._sign(TripClaim, fields)

    def trip(
        self,
        origin: str = "st-a",
        destination: str = "st-b",
        start: int = T0 + 7200,
        end: int = T0 + 9000,
        verifiers: Sequence[str] = ("verifier-1", "verifier-2"),
        **over: Any,
    ) -> Trip:
        fields: dict[str, Any] = {
            "origin_station_id": origin,
            "destination_station_id": destination,
            "start_time": start,
            "end_time": end,
            "time_bucket_s": 60,
            "nonce": compute_hash(f"trip {origin} {destination} {start} {end}".encode()),
            "verifier_sigs": [],
        } | over
        unsigned = Trip.create({}, **fields)
        sigs = [
            VerifierSignature(
                verifier_pk=self.key(name).public_hex,
                signature=self.key(name).sign("Trip", unsigned.tx_id),
            )
            for name in verifiers
        ]
        return unsigned.model_copy(update={"verifier_sigs": over.get("verifier_sigs", sigs)})

    def charge(
        self,
        station: str = "st-a",
        vehicle_key: str = "ev-1/otk-1",
        start: int = T0 + 7200,
        end: int = T0 + 9000,
        **over: Any,
    ) -> ChargeSession:
        fields: dict[str, Any] = {
            "station_id": station,
            "station_pk": self.key(station).public_hex,
            "one_time_pk": self.key(vehicle_key).public_hex,
            "direction": "charge",
            "energy_wh": 20_000,
            "price_micro_per_kwh": 250_000,
            "start_time": start,
            "end_time": end,
        } | over
        return self._sign(ChargeSession, fields)

    def od_matrix(
        self,
        trips: Sequence[Trip],
        zones: Sequence[str] = ("st-a", "st-b", "st-c"),
        period: tuple[int, int] = (T0, T0 + 86_400),
        **over: Any,
    ) -> ODMatrix:
        fields: dict[str, Any] = {
            "period_start": period[0],
            "period_end": period[1],
            "origins": list(zones),
            "destinations": list(zones),
            "cells": compute_od_cells(trips, zones, zones, *period),
            "predictor_pk": self.key("predictor").public_hex,
        } | over
        return self._sign(ODMatrix, fields)

    def anchor(
        self,
        height: int,
        head_hash: str,
        prev_anchor_id: str | None,
        t: int,
        *,
        manager: str = "fleet-manager",
        chain_id: str = "fleet",
        **over: Any,
    ) -> Anchor:
        fields: dict[str, Any] = {
            "chain_id": chain_id,
            "height": height,
            "head_hash": head_hash,
            "prev_anchor_id": prev_anchor_id,
            "timestamp": t,
            "manager_pk": self.key(manager).public_hex,
        } | over
        return self._sign(Anchor, fields)

    def commitment(
        self, owner: str = "home-1", data: bytes = b"meter readings", t: int = T0 + 600, **over: Any
    ) -> DataCommitment:
        fields: dict[str, Any] = {
            "data_hash": compute_hash(data),
            "owner_pk": self.key(owner).public_hex,
            "timestamp": t,
        } | over
        return self._sign(DataCommitment, fields)

    def external(
        self,
        a: str = "home-1",
        b: str = "weather",
        message: bytes = b"forecast",
        t: int = T0 + 600,
        **over: Any,
    ) -> ExternalRecord:
        fields: dict[str, Any] = {
            "message_hash": compute_hash(message),
            "party_a_pk": self.key(a).public_hex,
            "party_b_pk": self.key(b).public_hex,
            "timestamp": t,
        } | over
        return self._sign(ExternalRecord, fields)

    def handover(
        self,
        last_anchor_id: str,
        t: int,
        old: str = "fleet-manager",
        new: str = "fleet-backup",
        chain_id: str = "fleet",
        **over: Any,
    ) -> ManagerHandover:
        fields: dict[str, Any] = {
            "chain_id": chain_id,
            "old_manager_pk": self.key(old).public_hex,
            "new_manager_pk": self.key(new).public_hex,
            "last_anchor_id": last_anchor_id,
            "timestamp": t,
        } | over
        return self._sign(ManagerHandover, fields)

    def revocation_list(
        self, revoked: Mapping[str, int], this_update: int, next_update: int | None = None
    ) -> RevocationList:
        """The next CRL of the CA that certified the named actors (all under one CA): its
        genesis entries kept, each actor's certificate revoked from the time given
        (IOME-REV-001..003)."""
        certs = [
            cert
            for name in sorted(revoked)
            for cert in self.world.directory.get_certificates(self.key(name).public_hex)
        ]
        (issuer_name,) = {cert.issuer for cert in certs}
        ca_name, issuer = next(
            (name, ca) for name, ca in self.world.authorities.items() if ca.name == issuer_name
        )
        authority = CertificateAuthority.from_certificate(
            self.key(ca_name).private, issuer.certificate
        )
        for genesis in self.world.directory.crls:
            if genesis.issuer == issuer_name:
                for entry in genesis:
                    at = int(entry.revocation_date_utc.timestamp())
                    authority.revoke(entry.serial_number, at)
        for cert in certs:
            authority.revoke(cert.serial_number, revoked[get_subject_id(cert)])
        crl = authority.crl(this_update, next_update or this_update + 365 * 24 * 3600)
        return RevocationList.create(
            {}, crl=crl.public_bytes(Encoding.DER).hex(), this_update=this_update
        )

    def block(
        self, chain_id: str, txs: Sequence[SignedModel], time: int, producer: str = "producer"
    ) -> Block:
        """The next block of ``chain_id`` after those this builder made."""
        return self.cursor.next_block(self.key(producer), chain_id, txs, time)

    def _sign(self, model: type[M], fields: dict[str, Any]) -> M:
        """Sign with whichever world keys the (possibly overridden) fields name."""
        return sign_as(model, fields, *self.world.known_keys())


def forge(model: type[M], fields: dict[str, Any], **signatures: str) -> M:
    """An object with a correct tx id but the given (possibly bogus) signature values.

    For vectors whose point is a signature or key fault: the tx id must be right so that the
    fault under test, not IOME-ENC-011, is what the reference reports.
    """
    placeholders = {spec.field: "0" * 128 for spec in model.SIGNATURES}
    draft = model.parse({**fields, "tx_id": "0" * 64, **placeholders})
    return draft.model_copy(update={"tx_id": draft.compute_tx_id(), **signatures})
