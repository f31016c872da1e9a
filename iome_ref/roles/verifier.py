"""Verifiers: judge trip claims on their consortium chain and co-sign anonymous Trips.

Paper Fig. 5 steps 6-9. The verifiers jointly run the consortium chain ("a private consortium
chain that is managed by the verifiers, for future auditability"), so a claim is judged once,
by applying its presences and the claim to that chain's state with the chain's own transition
(:func:`iome_ref.chain.transition.apply_tx`): certificates of the stations (step 6), the
one-time signatures and key matching (step 7), order, feasibility and freshness (IOME-CLAIM-*).
Nothing here re-implements a check.

What each verifier adds on its own is step 8: it re-derives the Trip from the two presences
and the agreed time bucket, and co-signs only a proposal equal to its derivation
(IOME-TRIP-005), so one dishonest proposer cannot publish shifted times, other stations or
exact times under a coarse policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from iome_ref.chain.context import ChainContext, TravelTimes
from iome_ref.chain.parallel import (
    Sent,
    SignatureChecker,
    StatelessJob,
    as_rebuilt,
    as_sent,
    directory_from_text,
    judge_stateless,
)
from iome_ref.chain.state import ChainState, Journal
from iome_ref.chain.transition import apply_tx
from iome_ref.constants import ROLE_MANAGER
from iome_ref.crypto import KeyPair
from iome_ref.errors import Rejected, UsageError
from iome_ref.models import Presence, SignedModel, Trip, TripClaim, VerifierSignature
from iome_ref.pki import CertificateDirectory
from iome_ref.requirements import enforces
from iome_ref.roles.randomness import RandomSource, random_bytes

__all__ = [
    "DEFAULT_TIME_BUCKET_S",
    "TripFields",
    "Verifier",
    "VerifierQuorum",
    "check_trip_matches_claim",
    "compute_trip_fields",
]


#: The verifiers' default bucket: a quarter hour, the usual energy-market settlement interval,
#: so an O-D matrix per round loses nothing while exact docking times stay off the public chain.
DEFAULT_TIME_BUCKET_S = 900


class TripFields(NamedTuple):
    """The fields of a Trip a verifier derives from a verified claim (all but the nonce)."""

    origin_station_id: str
    destination_station_id: str
    start_time: int
    end_time: int
    time_bucket_s: int


def compute_trip_fields(source: Presence, destination: Presence, time_bucket_s: int) -> TripFields:
    """Fig. 5 step 8 per trips.md: start = floor(t1/b)*b, end = ceil(t2/b)*b.

    Rounding outward keeps the published interval around the true one and start < end for any
    b, given t1 < t2 (IOME-CLAIM-003).
    """
    b = time_bucket_s
    return TripFields(
        source.station_id,
        destination.station_id,
        source.t // b * b,
        -(-destination.t // b) * b,
        b,
    )


@enforces("IOME-TRIP-005")
def check_trip_matches_claim(proposal: Trip, expected: TripFields) -> None:
    """A verifier signs a Trip's tx id, so it must be the id of exactly the trip it verified.

    Compares the proposal's stations, times and bucket with the verifier's own derivation, and
    its tx id with the hash of its fields; the nonce is the proposer's random draw.

    Raises:
        Rejected: IOME-TRIP-005.
    """
    found = TripFields(
        proposal.origin_station_id,
        proposal.destination_station_id,
        proposal.start_time,
        proposal.end_time,
        proposal.time_bucket_s,
    )
    if found != expected:
        raise Rejected(
            "IOME-TRIP-005", f"proposed trip {tuple(found)} differs from derived {tuple(expected)}"
        )
    if proposal.tx_id != proposal.compute_tx_id():
        raise Rejected("IOME-TRIP-005", "proposed tx_id is not the hash of the proposed trip")


def _random_hash(rng: RandomSource) -> str:
    """32 random bytes as hex, from either kind of seeded source."""
    return random_bytes(rng, 32).hex()


class Verifier:
    """One certified verifier (CN ``name``, role verifier)."""

    def __init__(self, name: str, key: KeyPair) -> None:
        self.name = name
        self.key = key

    def propose(
        self, source: Presence, destination: Presence, time_bucket_s: int, rng: RandomSource
    ) -> Trip:
        """The Trip of a verified claim, unsigned, with a fresh random nonce.

        The nonce comes from ``rng`` only, never from a key, presence or claim: derived from
        those it would be the very link the one-time keys hide (trips.md, "Identical trips").
        """
        return self.propose_with_nonce(source, destination, time_bucket_s, _random_hash(rng))

    def propose_with_nonce(
        self, source: Presence, destination: Presence, time_bucket_s: int, nonce: str
    ) -> Trip:
        """:meth:`propose` with the nonce drawn already (by the caller, from its ``rng``)."""
        fields = compute_trip_fields(source, destination, time_bucket_s)
        return Trip.create({}, **fields._asdict(), nonce=nonce, verifier_sigs=[])

    def co_sign(
        self, proposal: Trip, source: Presence, destination: Presence, time_bucket_s: int
    ) -> VerifierSignature:
        """Sign ``proposal`` only if it is the trip this verifier derives (IOME-TRIP-005).

        Raises:
            Rejected: IOME-TRIP-005.
        """
        check_trip_matches_claim(proposal, compute_trip_fields(source, destination, time_bucket_s))
        return VerifierSignature(
            verifier_pk=self.key.public_hex, signature=self.key.sign("Trip", proposal.tx_id)
        )


class VerifierQuorum:
    """k of the verifiers turn verified claims into Trips (Fig. 5 steps 6-8).

    ``on_claim`` judges the claim on the consortium state by applying it there inside a
    journal that stays open, so the claims of one batch see each other (a presence reused
    within the batch is caught, IOME-CLAIM-005). ``take_consortium_txs`` then rolls those
    journals back and hands over the presences and claims for the consortium block, in order:
    the chain applies them for real when the block is submitted. Call it before submitting any
    block to that consortium chain; until then its state holds the batch provisionally.
    """

    def __init__(
        self,
        verifiers: Sequence[Verifier],
        k: int,
        travel_time: TravelTimes,
        directory: CertificateDirectory,
        *,
        time_bucket_s: int = DEFAULT_TIME_BUCKET_S,
    ) -> None:
        if not 1 <= k <= len(verifiers) or time_bucket_s < 1:
            raise UsageError("verifier", f"need 1 <= k <= {len(verifiers)} and a bucket >= 1 s")
        self.verifiers = list(verifiers)
        self.k = k
        self.time_bucket_s = time_bucket_s
        self.context = ChainContext(directory, travel_time, quorum=k)
        self._state: ChainState | None = None
        self._journals: list[Journal] = []
        self._pending: list[SignedModel] = []
        self._candidate: _SignedTrip | None = None

    @property
    def directory(self) -> CertificateDirectory:
        return self.context.directory

    @directory.setter
    def directory(self, directory: CertificateDirectory) -> None:
        """Adopt the authority's latest directory (new certificates, revocations)."""
        self.context = ChainContext(directory, self.context.travel, quorum=self.k)

    @property
    def pending(self) -> int:
        """Consortium transactions accepted since the last ``take_consortium_txs``."""
        return len(self._pending)

    def on_claim(  # noqa: PLR0917 - Fig. 5 inputs, in the contract's order
        self,
        claim: TripClaim,
        source: Presence,
        destination: Presence,
        consortium_state: ChainState,
        t: int,
        rng: RandomSource,
    ) -> Trip:
        """Verify ``claim`` at time ``t`` and return the Trip signed by k verifiers.

        Presences already on the consortium chain (submitted by their stations) are not
        applied again; the others are, and join the batch with the claim.

        Raises:
            Rejected: the id of the first rule the presences or the claim break, or
            IOME-TRIP-005 when fewer than k verifiers agree with the proposed Trip.
            UsageError: a batch for another consortium state is still pending.
        """
        if self._state is not None and self._state is not consortium_state and self._pending:
            raise UsageError("verifier", "take_consortium_txs before switching consortium state")
        self._state = consortium_state
        journal = Journal()
        applied: list[SignedModel] = []
        try:
            for presence in (source, destination):
                if consortium_state.presences.get(presence.tx_id) != presence:
                    apply_tx(consortium_state, presence, self.context, t, journal)
                    applied.append(presence)
            apply_tx(consortium_state, claim, self.context, t, journal)
            applied.append(claim)
            # The chain now holds exactly the presences the claim names (IOME-CLAIM-001).
            trip = self._sign_trip(
                consortium_state.presences[claim.source_presence_id],
                consortium_state.presences[claim.destination_presence_id],
                rng,
            )
        except BaseException:
            journal.rollback()
            raise
        self._journals.append(journal)
        self._pending.extend(applied)
        return trip

    def on_claims(
        self,
        claims: Sequence[tuple[TripClaim, Presence, Presence, int]],
        consortium_state: ChainState,
        rng: RandomSource,
        signatures: SignatureChecker | None = None,
    ) -> list[Trip | Rejected]:
        """:meth:`on_claim` for a batch of (claim, source, destination, t), in order, the
        batch's stateless checks and Trip proposals done first in ``signatures``' workers.

        Each claim's outcome is its Trip or the Rejected it raised: the outcomes of calling
        :meth:`on_claim` on each in turn, which is what then happens here, on the one state,
        with the reuse checks of presences and keys; the workers only mark what passed their
        stateless pipeline and propose and co-sign each trip with the nonce ``rng`` would give
        it were every earlier claim accepted. A trip is taken only if its nonce is the one
        drawn here (after a refusal, later trips are signed again here), and ``rng`` ends as
        after the sequential calls: the nonces are drawn ahead on a copy of its state.
        """
        # Workers sign trips as the reference Verifier does; a quorum of other kinds (a
        # proposer that behaves otherwise) is judged here only.
        plain = all(type(verifier) is Verifier for verifier in self.verifiers)
        if signatures is not None and plain and signatures.parallel(len(claims)):
            return self._on_claims_in_workers(claims, consortium_state, rng, signatures)
        if signatures is not None:
            signatures.preverify(
                tx
                for claim, source, destination, _ in claims
                for tx in (source, destination, claim)
            )
        outcomes: list[Trip | Rejected] = []
        for claim, source, destination, t in claims:
            try:
                outcomes.append(self.on_claim(claim, source, destination, consortium_state, t, rng))
            except Rejected as exc:
                outcomes.append(exc)
        return outcomes

    def _on_claims_in_workers(
        self,
        claims: Sequence[tuple[TripClaim, Presence, Presence, int]],
        consortium_state: ChainState,
        rng: RandomSource,
        signatures: SignatureChecker,
    ) -> list[Trip | Rejected]:
        directory = consortium_state.directory
        job = ExtractionJob(
            StatelessJob(signatures.directory_text(directory), self.k, ROLE_MANAGER),
            tuple((v.name, v.key.private.private_bytes_raw()) for v in self.verifiers),
            self.k,
            self.time_bucket_s,
        )
        nonces = _nonces_ahead(rng, len(claims))
        sent = [
            (as_sent(claim), as_sent(source), as_sent(destination), nonce)
            for (claim, source, destination, _), nonce in zip(claims, nonces, strict=True)
        ]
        results = signatures.map_ordered(_extract_chunk, job, sent)
        outcomes: list[Trip | Rejected] = []
        for (claim, source, destination, t), nonce, result in zip(
            claims, nonces, results, strict=True
        ):
            for tx, certified in zip((claim, source, destination), result[:3], strict=True):
                if certified is not None:
                    tx.mark_stateless_passed(directory, self.k, ROLE_MANAGER, certified)
            trip = result[3]
            self._candidate = (
                None if trip is None else _SignedTrip(nonce, source, destination, trip)
            )
            try:
                outcomes.append(self.on_claim(claim, source, destination, consortium_state, t, rng))
            except Rejected as exc:
                outcomes.append(exc)
            finally:
                self._candidate = None
        return outcomes

    def _sign_trip(self, source: Presence, destination: Presence, rng: RandomSource) -> Trip:
        """The first verifier proposes; verifiers co-sign in order until k agree.

        When a worker already signed the trip of these very presences with the very nonce the
        proposer would draw next (:meth:`on_claims`), that trip is taken, the nonce drawn.
        """
        candidate, self._candidate = self._candidate, None
        if candidate is None:
            proposal = self.verifiers[0].propose(source, destination, self.time_bucket_s, rng)
            return co_sign_trip(
                self.verifiers, self.k, self.time_bucket_s, proposal, source, destination
            )
        # Only on_claims sets a candidate, and only for a quorum of reference Verifiers, whose
        # propose draws the nonce and calls propose_with_nonce: the same steps, unrolled.
        nonce = _random_hash(rng)
        if candidate.matches(nonce, source, destination):
            return candidate.trip
        proposal = self.verifiers[0].propose_with_nonce(
            source, destination, self.time_bucket_s, nonce
        )
        return co_sign_trip(
            self.verifiers, self.k, self.time_bucket_s, proposal, source, destination
        )

    def take_consortium_txs(self) -> list[SignedModel]:
        """Hand over the batch's presences and claims for a consortium block (Fig. 5 step 9).

        The provisional application is rolled back (last first), leaving the consortium state
        as its blocks made it; the returned transactions apply cleanly in this order.
        """
        while self._journals:
            self._journals.pop().rollback()
        pending, self._pending = self._pending, []
        self._state = None
        return pending


def co_sign_trip(  # noqa: PLR0917 - the quorum's settings, then Fig. 5 step 8's inputs
    verifiers: Sequence[Verifier],
    k: int,
    time_bucket_s: int,
    proposal: Trip,
    source: Presence,
    destination: Presence,
) -> Trip:
    """``proposal`` with the signatures of the first k verifiers (in order) that agree.

    Raises:
        Rejected: IOME-TRIP-005 when fewer than k verifiers agree.
    """
    signed: list[VerifierSignature] = []
    refusals: list[Rejected] = []
    for verifier in verifiers:
        try:
            signed.append(verifier.co_sign(proposal, source, destination, time_bucket_s))
        except Rejected as exc:
            refusals.append(exc)
        if len(signed) == k:
            break
    if len(signed) < k:  # k <= len(verifiers): every missing signature refused
        raise refusals[0]
    return proposal.model_copy(update={"verifier_sigs": signed})


class _SignedTrip(NamedTuple):
    """A trip a worker signed, and what it was signed for."""

    nonce: str
    source: Presence
    destination: Presence
    trip: Trip

    def matches(self, nonce: str, source: Presence, destination: Presence) -> bool:
        return nonce == self.nonce and source == self.source and destination == self.destination


def _nonces_ahead(rng: RandomSource, count: int) -> list[str]:
    """The next ``count`` nonces ``rng`` would give, ``rng`` left as it was."""
    if isinstance(rng, np.random.Generator):
        saved_state = rng.bit_generator.state
        try:
            return [_random_hash(rng) for _ in range(count)]
        finally:
            rng.bit_generator.state = saved_state
    saved = rng.getstate()
    try:
        return [_random_hash(rng) for _ in range(count)]
    finally:
        rng.setstate(saved)


class ExtractionJob(NamedTuple):
    """What a worker needs to judge claims and sign their trips: the stateless job, the
    verifiers (name, private key bytes) in the quorum's order, k and the time bucket."""

    stateless: StatelessJob
    verifiers: tuple[tuple[str, bytes], ...]
    k: int
    time_bucket_s: int


def _extract_chunk(
    job: ExtractionJob, items: Sequence[tuple[Sent, Sent, Sent, str]]
) -> list[tuple[Any, Any, Any, Trip | None]]:
    """Worker side of :meth:`VerifierQuorum.on_claims`: per claim, the stateless verdicts of
    the claim and its presences (certified keys or None) and, when all three passed, the
    trip signed by the quorum with the given nonce (None if it could not be)."""
    directory = directory_from_text(job.stateless.directory)
    verifiers = [
        Verifier(name, KeyPair.from_private(Ed25519PrivateKey.from_private_bytes(secret)))
        for name, secret in job.verifiers
    ]
    out: list[tuple[Any, Any, Any, Trip | None]] = []
    for sent_claim, sent_source, sent_destination, nonce in items:
        claim, source, destination = map(as_rebuilt, (sent_claim, sent_source, sent_destination))
        verdicts = [
            judge_stateless(tx, directory, job.stateless) for tx in (claim, source, destination)
        ]
        trip = None
        if all(v is not None for v in verdicts):
            assert isinstance(source, Presence)  # sent as presences by on_claims
            assert isinstance(destination, Presence)
            try:
                proposal = verifiers[0].propose_with_nonce(
                    source, destination, job.time_bucket_s, nonce
                )
                trip = co_sign_trip(
                    verifiers, job.k, job.time_bucket_s, proposal, source, destination
                )
            except Rejected:
                trip = None
        out.append((verdicts[0], verdicts[1], verdicts[2], trip))
    return out
