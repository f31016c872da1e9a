"""The mobility predictor's O-D matrices: one period in as many parts as the list limits need,
every part accepted by the chain's rules, and together exactly the full recount."""

from __future__ import annotations

from collections import Counter

import pytest
from helpers import usage_error

from iome_ref.constants import MAX_LIST_LEN
from iome_ref.crypto import KeyPair
from iome_ref.models import ODMatrix, Trip
from iome_ref.roles.predictor import MobilityPredictor
from iome_ref.rules.mobility import check_od_cells, check_od_counts, check_od_zones
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, build_world

PERIOD = (T0, T0 + 86_400)
_B = Builder(build_world(5))


def _trips(pairs: list[tuple[str, str]]) -> list[Trip]:
    return [_B.trip(o, d, T0 + 600 + 60 * k, T0 + 1200 + 60 * k) for k, (o, d) in enumerate(pairs)]


def _merged(parts: list[ODMatrix]) -> Counter[tuple[str, str]]:
    merged: Counter[tuple[str, str]] = Counter()
    for part in parts:
        for i, j, count in part.cells:
            key = (part.origins[i], part.destinations[j])
            assert key not in merged, "a pair counted in two parts"
            merged[key] = count
    return merged


def _is_partition(groups: list[list[str]], zones: list[str]) -> bool:
    flat = [zone for group in groups for zone in group]
    return sorted(flat) == sorted(zones) and len(flat) == len(set(flat))


def _check_parts(parts: list[ODMatrix], trips: list[Trip], zones: list[str]) -> None:
    """Every part passes the chain's ODMatrix rules; origins x destinations tile zones x zones."""
    by_columns: dict[tuple[str, ...], list[list[str]]] = {}
    for part in parts:
        check_od_zones(part)
        check_od_cells(part)
        check_od_counts(part, trips)
        assert len(part.origins) <= MAX_LIST_LEN
        assert len(part.destinations) <= MAX_LIST_LEN
        assert len(part.cells) <= MAX_LIST_LEN
        by_columns.setdefault(tuple(part.destinations), []).append(part.origins)
    assert _is_partition([list(columns) for columns in by_columns], zones)
    assert all(_is_partition(rows, zones) for rows in by_columns.values())
    expected = Counter((t.origin_station_id, t.destination_station_id) for t in trips)
    assert _merged(parts) == expected


def test_accepts_one_part_when_the_matrix_fits() -> None:
    zones = ["st-a", "st-b", "st-c"]
    trips = _trips([("st-a", "st-b"), ("st-a", "st-b"), ("st-c", "st-a")])
    parts = MobilityPredictor(KeyPair.derive("p")).build(trips, reversed(zones), *PERIOD)
    assert len(parts) == 1
    assert parts[0].cells == [[0, 1, 2], [2, 0, 1]]
    _check_parts(parts, trips, zones)


def test_accepts_origins_split_when_cells_exceed_the_limit() -> None:
    zones = [f"st-{k}" for k in range(6)]
    trips = _trips([(a, b) for a in zones for b in zones if a != b][:20])
    predictor = MobilityPredictor(KeyPair.derive("p"), max_cells=7)
    parts = predictor.build(trips, zones, *PERIOD)
    assert len(parts) > 1
    assert all(len(part.cells) <= 7 for part in parts)
    _check_parts(parts, trips, zones)


def test_accepts_more_zones_than_a_list_holds() -> None:
    zones = sorted(f"st-{k:05d}" for k in range(MAX_LIST_LEN + 3))
    trips = _trips([(zones[0], zones[-1]), (zones[-1], zones[0]), (zones[-2], zones[-1])])
    parts = MobilityPredictor(KeyPair.derive("p")).build(trips, zones, *PERIOD)
    assert len(parts) == 4  # origins and destinations each cut in two
    _check_parts(parts, trips, zones)


def test_accepts_an_empty_period_as_one_empty_part() -> None:
    parts = MobilityPredictor(KeyPair.derive("p")).build([], ["st-a", "st-b"], *PERIOD)
    assert [(p.origins, p.cells) for p in parts] == [(["st-a", "st-b"], [])]


@pytest.mark.parametrize("bad", [0, -1, MAX_LIST_LEN + 1])
def test_rejects_a_cell_limit_outside_the_list_bound(bad: int) -> None:
    with usage_error("predictor", match="max_cells"):
        MobilityPredictor(KeyPair.derive("p"), max_cells=bad)
