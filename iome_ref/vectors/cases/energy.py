"""Vectors for ESDP, IssuerRegistration and EPS (paper §III steps 2-3, DESIGN §2)."""

from __future__ import annotations

from iome_ref.constants import MAX_EPS_VALIDITY_S, MAX_ESDP_HORIZON_S
from iome_ref.encoding import compute_hash
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.cases.book import CaseBook
from iome_ref.vectors.world import CERT_EXPIRY, T0

__all__ = ["eps_cases", "esdp_cases", "registration_cases"]


def esdp_cases(b: Builder) -> CaseBook:
    book = CaseBook("esdp")
    t = T0 + 3600
    book.valid("bem", "a building energy manager's prediction, uncertified key", b.esdp())
    book.valid(
        "distribution",
        "a distribution company's regional prediction, certified",
        b.esdp("grid-north", issuer_role="distribution"),
    )
    book.valid(
        "on-child-chain",
        "a BEM prediction on a virtual power plant's child chain",
        b.esdp(),
        chain="fleet",
    )
    book.invalid(
        "window-inverted",
        "IOME-ESDP-001",
        "window ends before it starts",
        b.esdp(window_start=t + 900, window_end=t + 800),
    )
    book.invalid(
        "window-empty",
        "IOME-ESDP-001",
        "window_start equals window_end",
        b.esdp(window_start=t + 900, window_end=t + 900),
    )
    book.valid(
        "horizon-limit",
        "a window of exactly MAX_ESDP_HORIZON_S",
        b.esdp(window_start=t, window_end=t + MAX_ESDP_HORIZON_S),
        flags=["boundary"],
    )
    book.invalid(
        "horizon-too-long",
        "IOME-ESDP-002",
        "a window one second longer than MAX_ESDP_HORIZON_S",
        b.esdp(window_start=t, window_end=t + MAX_ESDP_HORIZON_S + 1),
        flags=["boundary"],
    )
    book.invalid(
        "after-window-start",
        "IOME-ESDP-003",
        "a 'prediction' made after its window began",
        b.esdp(timestamp=t + 901),
    )
    book.invalid(
        "distribution-uncertified",
        "IOME-CERT-006",
        "a home key claiming the distribution role",
        b.esdp(issuer_role="distribution"),
        flags=["sybil"],
    )
    book.invalid(
        "distribution-wrong-role",
        "IOME-CERT-004",
        "a station key claiming the distribution role",
        b.esdp("st-a", issuer_role="distribution"),
        flags=["sybil"],
    )
    book.invalid(
        "on-consortium-chain",
        "IOME-BLK-010",
        "ESDPs do not belong on the verifiers' chain",
        b.esdp(),
        chain="verifiers",
    )
    book.invalid(
        "from-the-future",
        "IOME-BLK-008",
        "timestamp after the block that carries it",
        b.esdp(),
        block_time=t - 1,
    )
    replayed = b.esdp()
    book.invalid(
        "replay",
        "IOME-REC-002",
        "the same ESDP submitted again after it was recorded",
        replayed,
        setup=[b.block("public", [replayed], T0 + 5000)],
        flags=["replay"],
    )
    return book


def registration_cases(b: Builder) -> CaseBook:
    book = CaseBook("issuer-registration")
    book.valid("baseline", "the authority registers grid-north for two regions", b.registration())
    book.invalid(
        "not-authority",
        "IOME-EPS-001",
        "signed by a key that is not the certificate authority",
        b.registration(ca_pk=b.key("rogue-ca").public_hex),
        flags=["sybil"],
    )
    book.invalid(
        "regions-unsorted",
        "IOME-EPS-002",
        "regions out of order",
        b.registration(regions=["south", "north"]),
    )
    book.invalid(
        "regions-duplicate",
        "IOME-EPS-002",
        "a region listed twice",
        b.registration(regions=["north", "north"]),
    )
    book.invalid("regions-empty", "IOME-EPS-002", "no region", b.registration(regions=[]))
    first = b.registration()
    book.invalid(
        "twice",
        "IOME-EPS-009",
        "a second registration of an issuer, one second later",
        b.registration(t=T0 + 61),
        setup=[b.block("public", [first], T0 + 100)],
    )
    book.invalid(
        "wrong-subject",
        "IOME-CERT-005",
        "issuer_id names another company than the certificate",
        b.registration(issuer_id="grid-south"),
    )
    book.invalid(
        "station-as-issuer",
        "IOME-CERT-004",
        "a charging station registered as price issuer",
        b.registration("st-a"),
        flags=["sybil"],
    )
    book.invalid(
        "on-child-chain",
        "IOME-BLK-010",
        "registrations belong on the public chain",
        b.registration(),
        chain="fleet",
    )
    return book


def eps_cases(b: Builder) -> CaseBook:
    book = CaseBook("eps")
    reg = b.registration()
    setup = [b.block("public", [reg], T0 + 100)]
    first = b.eps(reg.tx_id)
    second = b.eps(first.tx_id, t=T0 + 7200)
    t = T0 + 3600
    # Each signal is judged in a block inside its validity (IOME-EPS-011): the defaults are
    # valid over [T0 + 3600, T0 + 7200).
    in_force = {"block_time": T0 + 5000}
    book.valid(
        "first", "the first price signal extends the registration", first, setup=setup, **in_force
    )
    chained_setup = [*setup, b.block("public", [first], T0 + 5000)]
    book.valid(
        "second",
        "the next signal extends the first",
        second,
        setup=chained_setup,
        block_time=T0 + 7200,
    )
    book.valid(
        "negative-price",
        "excess solar: a negative price is valid (paper §IV)",
        b.eps(reg.tx_id, price_micro_per_kwh=-20_000, feed_in_micro_per_kwh=-40_000),
        setup=setup,
        **in_force,
    )
    book.valid(
        "incentive",
        "a relocation incentive for an overloaded region",
        b.eps(reg.tx_id, incentive_micro_per_kwh=50_000),
        setup=setup,
        **in_force,
    )
    book.invalid(
        "expiry-before-issue",
        "IOME-EPS-003",
        "expires before it is issued",
        b.eps(reg.tx_id, expiry=t - 1),
        setup=setup,
        **in_force,
    )
    book.invalid(
        "expiry-at-issue",
        "IOME-EPS-003",
        "expires when issued",
        b.eps(reg.tx_id, expiry=t),
        setup=setup,
        flags=["boundary"],
        **in_force,
    )
    book.valid(
        "validity-limit",
        "valid for exactly MAX_EPS_VALIDITY_S",
        b.eps(reg.tx_id, expiry=t + MAX_EPS_VALIDITY_S),
        setup=setup,
        flags=["boundary"],
        **in_force,
    )
    book.invalid(
        "validity-too-long",
        "IOME-EPS-008",
        "valid one second longer than MAX_EPS_VALIDITY_S",
        b.eps(reg.tx_id, expiry=t + MAX_EPS_VALIDITY_S + 1),
        setup=setup,
        flags=["boundary"],
        **in_force,
    )
    book.invalid(
        "unregistered",
        "IOME-EPS-006",
        "a certified company that was never registered starts a chain",
        b.eps(compute_hash(b"genesis"), issuer="grid-south"),
        setup=setup,
        flags=["sybil"],
        **in_force,
    )
    book.invalid(
        "uncertified",
        "IOME-CERT-006",
        "an uncertified key issues prices",
        b.eps(reg.tx_id, issuer="home-1"),
        setup=setup,
        flags=["sybil"],
        **in_force,
    )
    book.invalid(
        "skips-tip",
        "IOME-EPS-004",
        "prev_tx_id is not the issuer's latest transaction",
        b.eps(compute_hash(b"elsewhere")),
        setup=setup,
        **in_force,
    )
    book.invalid(
        "stale-prev",
        "IOME-EPS-004",
        "after the first signal, a signal pointing at an unknown transaction",
        b.eps(second.tx_id, t=T0 + 9000),
        setup=chained_setup,
        block_time=T0 + 9000,
    )
    book.invalid(
        "equivocation",
        "IOME-EPS-005",
        "a second signal extending the registration after the first did: refused, and both "
        "signed signals kept as evidence",
        b.eps(reg.tx_id, price_micro_per_kwh=1),
        setup=chained_setup,
        flags=["equivocation"],
        evidence=["IOME-EPS-005"],
        **in_force,
    )
    book.invalid(
        "region-unregistered",
        "IOME-EPS-007",
        "a region outside the registration",
        b.eps(reg.tx_id, region="east"),
        setup=setup,
        **in_force,
    )
    book.valid(
        "same-time-as-predecessor",
        "a signal issued at the same second as its predecessor supersedes it",
        b.eps(first.tx_id, t=t, price_micro_per_kwh=260_000),
        setup=chained_setup,
        flags=["boundary"],
        **in_force,
    )
    book.invalid(
        "before-predecessor",
        "IOME-EPS-010",
        "a signal dated one second before the signal it extends re-prices a priced hour",
        b.eps(first.tx_id, t=t - 1),
        setup=chained_setup,
        flags=["boundary", "backdating"],
        **in_force,
    )
    book.invalid(
        "before-registration",
        "IOME-EPS-010",
        "a first signal dated before the issuer's registration",
        b.eps(reg.tx_id, t=T0 + 59),
        setup=setup,
        flags=["backdating"],
        block_time=T0 + 100,
    )
    book.valid(
        "last-second-in-force",
        "recorded in a block one second before the signal expires",
        first,
        setup=setup,
        block_time=t + 3599,
        flags=["boundary"],
    )
    book.invalid(
        "expired-when-recorded",
        "IOME-EPS-011",
        "recorded in a block at the second the signal expires",
        first,
        setup=setup,
        block_time=t + 3600,
        flags=["boundary", "backdating"],
    )
    book.invalid(
        "certificate-expired",
        "IOME-CERT-002",
        "issued after the issuer's certificate expired",
        b.eps(reg.tx_id, t=CERT_EXPIRY + 10),
        setup=setup,
        block_time=CERT_EXPIRY + 100,
    )
    book.invalid(
        "replayed",
        "IOME-REC-002",
        "the first signal replayed",
        first,
        setup=chained_setup,
        flags=["replay"],
    )
    return book
