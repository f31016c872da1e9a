"""The closed loop end to end: what a run puts on its ledgers, audited from the ledgers alone."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iome_ref.chain.store import MemoryStore
from iome_ref.cli import app
from iome_ref.crypto import KeyPair
from iome_ref.encoding import canonical_json
from iome_ref.errors import UsageError
from iome_ref.models import TRANSACTION_TYPES, SignedModel
from iome_ref.simulation.loop import Simulation, SimulationConfig
from iome_ref.simulation.network import compute_encoded_size
from iome_ref.simulation.run import run_simulation, write_summary
from iome_ref.simulation.summary import audit_ledger

SMALL = SimulationConfig(
    seed=3, evs=40, stations=8, homes=20, rounds=3, regions=3, fail_manager=("fleet", 1)
)


@pytest.fixture(scope="module")
def small_run() -> tuple[Simulation, dict[str, Any]]:
    sim = Simulation(SMALL, MemoryStore())
    sim.run()
    return sim, audit_ledger(sim.net.ledger, sim.completed)


def test_every_transaction_type_lands_on_its_chain(
    small_run: tuple[Simulation, dict[str, Any]],
) -> None:
    _, audit = small_run
    assert audit["missing_types"] == []
    seen = {t for counts in audit["transactions_per_chain"].values() for t in counts}
    assert seen == set(TRANSACTION_TYPES)
    chains = audit["transactions_per_chain"]
    assert set(chains["verifiers"]) == {"Presence", "TripClaim"}
    assert "TripClaim" not in chains["public"]
    assert "Presence" not in chains["public"]


def test_public_trips_equal_completed_trips(small_run: tuple[Simulation, dict[str, Any]]) -> None:
    sim, audit = small_run
    assert audit["completed_trips"] > 0
    assert audit["trips_match"]
    assert audit["public_trips"] == sum(sim.completed.values())
    assert sum(r.trips_extracted for r in sim.records) == audit["public_trips"]


def test_od_matrices_recompute_from_public_trips(
    small_run: tuple[Simulation, dict[str, Any]],
) -> None:
    _, audit = small_run
    assert audit["od_matrices"] == SMALL.rounds
    assert audit["od_recomputes"]


def test_anchors_verify_and_backup_takes_over(small_run: tuple[Simulation, dict[str, Any]]) -> None:
    sim, audit = small_run
    assert set(audit["anchors"]) == set(sim.child_chains)
    assert all(report["verified"] for report in audit["anchors"].values())
    assert [h["chain_id"] for h in audit["handovers"]] == ["fleet"]
    # The anchor sequence continued after the takeover: one anchor per round, no gap.
    assert audit["anchors"]["fleet"]["anchors"] == SMALL.rounds
    assert sim.net.backups["fleet"].active
    assert not sim.net.managers["fleet"].active


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    outputs = []
    for name, config in (("a", SMALL), ("b", SMALL), ("c", replace(SMALL, seed=4))):
        summary = run_simulation(config, tmp_path / name / "ledger.sqlite")
        write_summary(summary, tmp_path / name)
        outputs.append(
            (
                (tmp_path / name / "ledger.sqlite").read_bytes(),
                (tmp_path / name / "summary.json").read_bytes(),
            )
        )
    assert outputs[0] == outputs[1]
    assert outputs[0][0] != outputs[2][0]
    assert outputs[0][1] != outputs[2][1]


def test_effect_is_measured_against_baseline() -> None:
    summary = run_simulation(replace(SMALL, rounds=2, fail_manager=None))
    effect = summary["effect"]
    assert effect["imbalance_wh"] == summary["price_aware"]["imbalance_wh"]
    assert effect["baseline_imbalance_wh"] == summary["baseline"]["imbalance_wh"]
    assert effect["reduction_wh"] == effect["baseline_imbalance_wh"] - effect["imbalance_wh"]
    # The baseline ignores prices: it never discharges; price-aware vehicles act on them.
    assert summary["baseline"]["ev_discharged_wh"] == 0
    assert summary["price_aware"]["ev_discharged_wh"] > 0


def test_no_participation_reproduces_the_baseline() -> None:
    """The baseline differs from the price-aware run only in who acts on prices: with nobody
    acting, the two runs must agree figure for figure."""
    summary = run_simulation(replace(SMALL, rounds=2, fail_manager=None, participation=0.0))
    assert summary["price_aware"] == summary["baseline"]
    assert summary["effect"]["reduction_wh"] == 0


def test_cli_simulate_writes_ledger_and_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--seed",
            "5",
            "--evs",
            "20",
            "--stations",
            "6",
            "--homes",
            "10",
            "--rounds",
            "2",
            "--regions",
            "2",
            "--out",
            str(tmp_path),
            "--fail-manager",
            "fleet@1",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    assert summary["audit"]["trips_match"]
    assert summary["audit"]["handovers"]
    assert (tmp_path / "ledger.sqlite").stat().st_size > 0
    svg = (tmp_path / "imbalance.svg").read_text("utf-8")
    assert svg.startswith("<?xml")
    assert "Regional imbalance" in svg


def test_cli_simulate_refuses_bad_failure_spec(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["simulate", "--out", str(tmp_path), "--fail-manager", "fleet"]
    )
    assert result.exit_code == 2
    assert "CHAIN@ROUND" in result.output


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seed", -5),
        ("seed", 2**53),
        ("evs", 0),
        ("stations", 1),
        ("rounds", 2.5),
        ("round_s", 60),
        ("participation", 1.5),
        ("fleet_share", "0.1"),
        ("homes", True),
    ],
)
def test_rejects_config_out_of_range(field: str, value: object) -> None:
    with pytest.raises(UsageError, match=field):
        replace(SMALL, **{field: value})


def test_cli_simulate_refuses_negative_seed(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--seed", "-5"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_od_matrix_splits_when_stations_outgrow_one_message(tmp_path: Path) -> None:
    """Far more stations than a dense matrix could hold in one message (1000^2 cells): the
    predictor publishes sparse parts, every stored block reads back, and the parts recompute."""
    config = SimulationConfig(seed=2, evs=30, stations=1000, homes=5, rounds=1, regions=3)
    summary = run_simulation(config, tmp_path / "ledger.sqlite")
    audit = summary["audit"]
    assert audit["od_matrices"] >= 1
    assert audit["od_recomputes"]
    assert audit["trips_match"]
    record = summary["price_aware"]["rounds"][0]["od_matrix"]
    assert len(record["zones"]) == 1000
    assert sum(count for *_, count in record["cells"]) > 0


def test_encoded_size_of_every_transaction_type_is_its_rfc8785_length(
    small_run: tuple[Simulation, dict[str, Any]],
) -> None:
    """The size blocks are cut by (signed bytes carried + unsigned members) is the length of
    the whole transaction's RFC 8785 JSON, for every type a run puts on its chains."""
    sim, _ = small_run
    seen = set()
    for chain_id in sim.net.ledger.chains:
        for tx in sim.net.ledger.transactions(chain_id):
            assert compute_encoded_size(tx) == len(canonical_json(tx.model_dump(mode="json")))
            seen.add(tx.tx_type)
    assert seen == set(TRANSACTION_TYPES)


def test_encoded_size_dumps_only_transactions_with_nested_unsigned_members(
    small_run: tuple[Simulation, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cutting blocks reads plain unsigned members (tx id, signatures) as they are (issue 16);
    only a Trip, whose verifier signatures are models, is dumped to measure them."""
    sim, _ = small_run
    txs = [tx for chain in sim.net.ledger.chains for tx in sim.net.ledger.transactions(chain)]
    sizes = [len(canonical_json(tx.model_dump(mode="json"))) for tx in txs]
    for tx in txs:
        tx.canonical_bytes()  # carried by every transaction a run made
    dumped: set[str] = set()
    original = SignedModel.model_dump

    def counting(self: SignedModel, **kwargs: Any) -> dict[str, Any]:
        dumped.add(self.tx_type)
        return original(self, **kwargs)

    monkeypatch.setattr(SignedModel, "model_dump", counting)
    assert [compute_encoded_size(tx) for tx in txs] == sizes
    assert dumped == {"Trip"}


def test_run_sharing_keys_of_the_same_seed_is_the_same_run(
    small_run: tuple[Simulation, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run given an earlier run's keys (as the baseline is given the price-aware run's)
    derives none of them again and records exactly what a run deriving its own records."""
    sim, _ = small_run
    derived: list[tuple[str | int, ...]] = []
    original = KeyPair.derive.__func__  # type: ignore[attr-defined]

    def counting(cls: type[KeyPair], *labels: str | int) -> KeyPair:
        derived.append(labels)
        return original(cls, *labels)  # type: ignore[no-any-return]

    monkeypatch.setattr(KeyPair, "derive", classmethod(counting))
    shared = Simulation(SMALL, MemoryStore(), dict(sim.net.keys))
    shared.run()
    assert [labels for labels in derived if labels[-1] in sim.net.keys] == []
    assert [r.to_json() for r in shared.records] == [r.to_json() for r in sim.records]


def test_run_sharing_drawn_profiles_of_the_same_seed_is_the_same_run(
    small_run: tuple[Simulation, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run given an earlier run's driver profiles (as the baseline is given the price-aware
    run's) draws none again and records exactly what a run drawing its own records, its
    driving stream continuing from the same state; profiles drawn for another seed, vehicle
    count or city are refused."""
    sim, _ = small_run
    fresh = Simulation(SMALL, MemoryStore(), dict(sim.net.keys))
    monkeypatch.setattr(
        "iome_ref.simulation.loop.draw_profiles",
        lambda *args, **kwargs: pytest.fail("profiles drawn again"),
    )
    shared = Simulation(SMALL, MemoryStore(), dict(sim.net.keys), sim.drawn)
    assert shared.drawn is sim.drawn
    assert [(v.profile, v.battery, v.price_aware) for v in shared.vehicles] == [
        (v.profile, v.battery, v.price_aware) for v in fresh.vehicles
    ]
    shared.run()
    assert [r.to_json() for r in shared.records] == [r.to_json() for r in sim.records]
    for other in (replace(SMALL, seed=4), replace(SMALL, evs=41), replace(SMALL, homes=21)):
        with pytest.raises(UsageError):
            Simulation(other, MemoryStore(), None, sim.drawn)
