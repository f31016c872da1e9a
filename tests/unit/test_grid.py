"""Distribution company: regional forecasts, the pricing rule and its EPS chain (§III 2-3)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import MemoryStore
from iome_ref.constants import CHAIN_PUBLIC
from iome_ref.crypto import KeyPair
from iome_ref.errors import Rejected, UsageError
from iome_ref.models import ESDP, IssuerRegistration, ODMatrix
from iome_ref.roles.grid import (
    DistributionCompany,
    PricePolicy,
    Prices,
    RegionForecast,
    compute_imbalance_ratio,
    compute_prices,
    compute_region_arrivals,
    select_latest_esdps,
)
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, build_world

T = T0 + 86_400


# --------------------------------------------------------------------------- the pricing rule


@pytest.mark.parametrize(
    ("supply", "demand", "expected"),
    [
        (100, 100, Prices(250_000, 150_000, 0)),  # balanced: the base price
        (0, 0, Prices(250_000, 150_000, 0)),  # nothing predicted: balanced
        (100, 200, Prices(400_000, 300_000, 56_250)),  # x = 1/2: 150000 * (3/10) / (4/5)
        (200, 100, Prices(100_000, 0, 0)),  # x = -1/2
        (100, 0, Prices(-50_000, -150_000, 0)),  # all surplus: negative price (paper §IV)
        (0, 100, Prices(550_000, 450_000, 150_000)),  # all deficit: the full incentive
        (100, 125, Prices(310_000, 210_000, 0)),  # x = 1/5, exactly the threshold: none
        (100, 126, Prices(311_904, 211_904, 1_191)),  # x = 13/63: ceil(1190.48)
        (101, 100, Prices(247_029, 147_029, 0)),  # x = -1/101: floor(-2970.3)
    ],
)
def test_accepts_prices_hand_computed(supply: int, demand: int, expected: Prices) -> None:
    assert compute_prices(RegionForecast(supply, demand)) == expected


def test_accepts_imbalance_ratio_relative_to_the_larger_side() -> None:
    assert compute_imbalance_ratio(RegionForecast(300, 400)) == Fraction(1, 4)
    assert compute_imbalance_ratio(RegionForecast(400, 300)) == Fraction(-1, 4)
    assert compute_imbalance_ratio(RegionForecast(3000, 4000)) == Fraction(1, 4)
    assert RegionForecast(300, 400).imbalance_wh == 100


def test_accepts_price_monotone_in_imbalance() -> None:
    sweep = [compute_prices(RegionForecast(1_000, demand)) for demand in range(0, 3_001, 7)]
    prices = [p.price for p in sweep]
    incentives = [p.incentive for p in sweep]
    assert prices == sorted(prices)
    assert incentives == sorted(incentives)
    assert prices[0] < prices[len(prices) // 2] < prices[-1]
    falling = [compute_prices(RegionForecast(s, 1_000)).price for s in range(0, 3_001, 7)]
    assert falling == sorted(falling, reverse=True)


@given(
    supply=st.integers(0, 10**12),
    demand=st.integers(0, 10**12),
    more=st.integers(0, 10**12),
)
def test_accepts_price_never_falling_with_more_demand_or_less_supply(
    supply: int, demand: int, more: int
) -> None:
    base = compute_prices(RegionForecast(supply, demand))
    assert compute_prices(RegionForecast(supply, demand + more)).price >= base.price
    assert compute_prices(RegionForecast(supply + more, demand)).price <= base.price
    assert base.feed_in < base.price
    assert 0 <= base.incentive <= 150_000
    assert -50_000 <= base.price <= 550_000


def test_accepts_incentive_only_above_the_threshold() -> None:
    policy = PricePolicy(incentive_threshold=Fraction(1, 2), incentive_max=100_000)
    at = compute_prices(RegionForecast(500, 1_000), policy)  # x = 1/2
    above = compute_prices(RegionForecast(499, 1_000), policy)  # x = 501/1000
    assert at.incentive == 0
    assert above.incentive == 200  # ceil(100000 * (1/1000) / (1/2))
    assert compute_prices(RegionForecast(0, 1_000), policy).incentive == 100_000


@pytest.mark.parametrize(
    "policy",
    [
        {"feed_in_spread": 0},
        {"price_swing": -1},
        {"incentive_threshold": Fraction(1)},
        {"incentive_threshold": Fraction(-1, 2)},
    ],
)
def test_rejects_policy_that_breaks_the_rule(policy: dict[str, object]) -> None:
    with pytest.raises(UsageError) as exc:
        PricePolicy(**policy)  # type: ignore[arg-type]
    assert exc.value.component == "grid"


# --------------------------------------------------------------------------- forecasts


def _esdp(
    issuer: str, region: str, supply: int, demand: int, *, t: int = T, role: str = "bem"
) -> ESDP:
    key = KeyPair.derive("test", issuer)
    return ESDP.create(
        {"signature": key},
        region=region,
        issuer_role=role,
        window_start=T + 3_600,
        window_end=T + 3_600 + 21_600,
        supply_wh=supply,
        demand_wh=demand,
        timestamp=t,
        issuer_pk=key.public_hex,
    )


def _od(counts: list[list[int]]) -> list[ODMatrix]:
    """The dense ``counts`` as a period's matrix in two parts over disjoint origins."""
    key = KeyPair.derive("test", "predictor")
    zones = ["st-a", "st-b", "st-c", "st-x"]
    parts = []
    for first in (0, 2):
        parts.append(
            ODMatrix.create(
                {"signature": key},
                period_start=T - 86_400,
                period_end=T,
                origins=zones[first : first + 2],
                destinations=zones,
                cells=[
                    [i, j, count]
                    for i, row in enumerate(counts[first : first + 2])
                    for j, count in enumerate(row)
                    if count
                ],
                predictor_pk=key.public_hex,
            )
        )
    return parts


STATION_REGION = {"st-a": "r0", "st-b": "r1", "st-c": "r0"}  # st-x: region unknown
COUNTS = [[0, 2, 1, 0], [3, 0, 0, 1], [1, 1, 0, 0], [0, 0, 4, 0]]  # columns: 4, 3, 5, 1


def _company() -> DistributionCompany:
    return DistributionCompany("grid-1", KeyPair.derive("test", "grid"), ["r1", "r0"])


def test_accepts_arrivals_as_column_sums_by_region() -> None:
    assert compute_region_arrivals(_od(COUNTS), STATION_REGION) == {"r0": 9, "r1": 3}


def test_accepts_latest_bem_esdp_per_issuer() -> None:
    old = _esdp("home-a", "r0", 1_000, 3_000, t=T)
    new = _esdp("home-a", "r0", 1_200, 2_500, t=T + 60)
    grid = _esdp("grid", "r0", 9, 9, role="distribution")
    assert select_latest_esdps([new, grid, old]) == [new]


def test_accepts_region_forecast_from_esdps_and_od_arrivals() -> None:
    esdps = [
        _esdp("home-a", "r0", 1_000, 3_000, t=T),
        _esdp("home-a", "r0", 1_200, 2_500, t=T + 60),  # the revision replaces the first
        _esdp("home-b", "r0", 500, 500),
        _esdp("home-c", "r1", 2_000, 1_000),
        _esdp("home-d", "r9", 7_000, 7_000),  # another company's region
        _esdp("grid", "r0", 50_000, 50_000, role="distribution"),  # an output, never an input
    ]
    forecasts = _company().forecast_regions(esdps, _od(COUNTS), STATION_REGION, 7_000)
    assert forecasts == {
        "r0": RegionForecast(1_700, 3_000 + 9 * 7_000),
        "r1": RegionForecast(2_000, 1_000 + 3 * 7_000),
    }
    scaled = _company().forecast_regions(esdps, _od(COUNTS), STATION_REGION, 7_000, window_s=21_600)
    assert scaled["r0"].demand_wh == 3_000 + 63_000 // 4
    without = _company().forecast_regions(esdps, [], STATION_REGION, 7_000)
    assert without["r0"] == RegionForecast(1_700, 3_000)


def test_accepts_ev_arrivals_raising_the_price_of_their_region() -> None:
    company = _company()
    esdps = [_esdp("home-b", "r0", 5_000, 5_000), _esdp("home-c", "r1", 5_000, 5_000)]
    prices = company.set_prices(company.forecast_regions(esdps, _od(COUNTS), STATION_REGION, 500))
    assert prices["r0"].price > prices["r1"].price > 250_000  # 9 arrivals vs 3
    assert list(prices) == ["r0", "r1"]


# --------------------------------------------------------------------------- the EPS chain


def test_accepts_eps_chain_from_registration_on_the_public_chain() -> None:
    world = build_world(1)
    builder = Builder(world)
    ledger = Ledger(MemoryStore(), world.context())
    ledger.add_chain("public", CHAIN_PUBLIC)
    registration = builder.registration(issuer="grid-north", t=T)
    company = DistributionCompany("grid-north", world.key("grid-north"), ["north", "south"])
    company.on_registration(registration)
    assert company.tip == registration.tx_id
    forecasts = {"north": RegionForecast(1_000, 2_000), "south": RegionForecast(2_000, 1_000)}
    prices = company.set_prices(forecasts)
    first = company.publish_eps("north", prices["north"], T + 60, T + 60 + 21_600)
    second = company.publish_eps("south", prices["south"], T + 60, T + 60 + 21_600)
    esdp = company.publish_esdp("north", forecasts["north"], T + 3_600, T + 7_200, T + 60)
    assert (first.prev_tx_id, second.prev_tx_id) == (registration.tx_id, first.tx_id)
    assert company.tip == second.tx_id  # an ESDP is not on the EPS chain
    assert (first.price_micro_per_kwh, first.incentive_micro_per_kwh) == (400_000, 56_250)
    assert esdp.issuer_role == "distribution"
    producer = world.key("producer")
    ledger.submit(builder.cursor.next_block(producer, "public", [registration], T))
    ledger.submit(builder.cursor.next_block(producer, "public", [first, esdp], T + 60))
    ledger.submit(builder.cursor.next_block(producer, "public", [second], T + 120))
    assert ledger.chains["public"].issuer_tips[company.key.public_hex] == second.tx_id


def test_rejects_eps_before_registration() -> None:
    with pytest.raises(UsageError, match="no IssuerRegistration") as exc:
        _company().publish_eps("r0", Prices(1, 0, 0), T, T + 60)
    assert exc.value.component == "grid"


def test_rejects_registration_of_another_key() -> None:
    world = build_world(1)
    registration = Builder(world).registration(issuer="grid-south")
    with pytest.raises(UsageError, match="registration is for") as exc:
        DistributionCompany("grid-north", world.key("grid-north"), ["north"]).on_registration(
            registration
        )
    assert exc.value.component == "grid"
    assert "registration is for" in exc.value.message


def test_rejects_eps_for_unregistered_region() -> None:
    world = build_world(1)
    company = DistributionCompany("grid-north", world.key("grid-north"), ["north", "west"])
    company.on_registration(Builder(world).registration(issuer="grid-north"))
    with pytest.raises(UsageError, match="not registered"):
        company.publish_eps("west", Prices(1, 0, 0), T, T + 60)


def _registered_company() -> tuple[DistributionCompany, IssuerRegistration]:
    world = build_world(1)
    registration = Builder(world).registration(issuer="grid-north", t=T)
    company = DistributionCompany("grid-north", world.key("grid-north"), ["north", "south"])
    company.on_registration(registration)
    return company, registration


@pytest.mark.req("IOME-EPS-010")
def test_rejects_eps_dated_before_its_predecessor() -> None:
    company, registration = _registered_company()
    with pytest.raises(Rejected) as before_registration:
        company.publish_eps("north", Prices(1, 0, 0), T - 1, T + 600)
    assert before_registration.value.req_id == "IOME-EPS-010"
    assert company.tip == registration.tx_id  # a refused signal does not move the tip
    first = company.publish_eps("north", Prices(1, 0, 0), T + 600, T + 1200)
    with pytest.raises(Rejected) as before_first:
        company.publish_eps("south", Prices(1, 0, 0), T + 599, T + 1200)
    assert before_first.value.req_id == "IOME-EPS-010"
    assert company.tip == first.tx_id


@pytest.mark.req("IOME-EPS-010")
def test_accepts_eps_at_the_same_time_as_its_predecessor() -> None:
    company, _ = _registered_company()
    first = company.publish_eps("north", Prices(1, 0, 0), T + 600, T + 1200)
    second = company.publish_eps("south", Prices(1, 0, 0), T + 600, T + 1200)
    assert second.prev_tx_id == first.tx_id


@pytest.mark.req("IOME-EPS-003")
def test_rejects_eps_without_validity() -> None:
    company, registration = _registered_company()
    with pytest.raises(Rejected) as exc:
        company.publish_eps("north", Prices(1, 0, 0), T + 600, T + 600)
    assert exc.value.req_id == "IOME-EPS-003"
    assert company.tip == registration.tx_id


@pytest.mark.req("IOME-EPS-011")
def test_rejects_eps_recorded_after_it_expired() -> None:
    world = build_world(1)
    builder = Builder(world)
    ledger = Ledger(MemoryStore(), world.context())
    ledger.add_chain("public", CHAIN_PUBLIC)
    company, registration = _registered_company()
    eps = company.publish_eps("north", Prices(1, 0, 0), T + 60, T + 600)
    producer = world.key("producer")
    ledger.submit(builder.cursor.next_block(producer, "public", [registration], T))
    head = builder.cursor.heads["public"]
    with pytest.raises(Rejected) as exc:
        ledger.submit(builder.cursor.next_block(producer, "public", [eps], T + 600))
    assert exc.value.req_id == "IOME-EPS-011"
    builder.cursor.heads["public"] = head  # the refused block is not the head
    ledger.submit(builder.cursor.next_block(producer, "public", [eps], T + 599))
    assert ledger.chains["public"].issuer_tips[company.key.public_hex] == eps.tx_id
