"""The benchmark workloads: every operation is a valid one on fresh keys, and the measurement
routine interleaves items and reports medians (no timing is asserted)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from helpers import usage_error

from iome_ref.models import Trip
from iome_ref.pki import CertificateDirectory
from iome_ref.report import workloads


def test_measure_interleaved_alternates_order_and_takes_medians() -> None:
    calls: list[str] = []
    clock = itertools.count()
    # Each call of "a" advances the fake clock by 1, of "b" by 3 (one tick per timer() call).
    ticks = {"a": 0, "b": 2}

    def item(name: str) -> object:
        calls.append(name)
        for _ in range(ticks[name]):
            next(clock)
        return None

    medians = workloads.measure_interleaved(
        {"a": lambda: item("a"), "b": lambda: item("b")}, 3, timer=lambda: float(next(clock))
    )
    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert medians == {"a": 1.0, "b": 3.0}


def test_measure_interleaved_refuses_no_items_or_rounds() -> None:
    with usage_error("bench"):
        workloads.measure_interleaved({}, 3)
    with usage_error("bench"):
        workloads.measure_interleaved({"a": lambda: None}, 0)


def test_fractions_of_bound() -> None:
    work = workloads.Workload("x", lambda: None, 2, 1, "")
    none = workloads.Workload("y", lambda: None, 0, 1, "")
    signing = workloads.Workload("z", lambda: None, 1, 1, "", signs_per_op=2, ops_per_run=4)
    medians = {workloads.BOUND: 1.0, "x": 4.0, "y": 1.0, "z": 8.0}
    found = workloads.fractions_of_bound(medians, {"x": work, "y": none, "z": signing})
    assert found == {"x": 0.5, "z": 0.5}  # signing bound not measured: verify-only, 1 / 2
    medians[workloads.SIGN_BOUND] = 0.5
    found = workloads.fractions_of_bound(medians, {"x": work, "z": signing})
    assert found == {"x": 0.5, "z": 1.0}  # (1 * 1.0 + 2 * 0.5) / (8.0 / 4)


def test_parallel_workloads_run_and_close() -> None:
    trips = workloads.trip_extraction_batch(1, 2, 1)
    raw = workloads.raw_verify_batch(1, 3, 1)
    try:
        outcomes = trips.run()
        assert [type(o) for o in outcomes] == [Trip, Trip]  # type: ignore[attr-defined]
        assert raw.run() == 3
        assert workloads.raw_sign_sodium(1).run()
    finally:
        trips.close()
        raw.close()


def test_workloads_run_valid_operations_on_fresh_keys() -> None:
    stateless = workloads.stateless_check(2)
    assert set(stateless) == {f"stateless_{name}" for name in workloads.STATELESS_TYPES}
    for work in stateless.values():
        assert work.signatures_per_op >= 1
        work.run()  # accepted: check_stateless raises on any fault
        work.run()
    trip = workloads.trip_extraction(2).run()
    assert isinstance(trip, Trip)
    assert len(trip.verifier_sigs) == 2
    for work in (
        workloads.raw_verify_sodium(2),
        workloads.raw_verify_openssl(2),
        workloads.strict_verify(2),
        workloads.strict_verify(2, fresh=False),
    ):
        work.run()
    block = workloads.block_application(1, txs=3)
    assert block.signatures_per_op == 4
    state = block.run()
    assert len(state.tx_ids) == 3  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [2])
def test_fresh_pools_use_distinct_keys(size: int) -> None:
    pool = workloads._raw_triples(size, "t")
    assert len({key for key, _, _ in pool}) == size


def test_certificate_workloads_measure_the_usual_and_the_first_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``certificate_check`` judges one directory at new times (its paths' windows computed
    once); ``certificate_check_new_list`` a new directory every call (computed every call)."""
    computed: list[object] = []
    original = CertificateDirectory._get_path_window

    def counting(self: CertificateDirectory, *args: Any) -> Any:
        computed.append(self)
        return original(self, *args)

    monkeypatch.setattr(CertificateDirectory, "_get_path_window", counting)
    usual, first = workloads.certificate_check(3), workloads.certificate_check_new_list(3)
    for _ in range(3):
        usual.run()
    assert len(set(map(id, computed))) == 1
    computed.clear()
    for _ in range(3):
        first.run()
    assert len(set(map(id, computed))) == 3
