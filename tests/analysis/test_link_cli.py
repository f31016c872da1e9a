"""``iome link`` end to end: figures, files, determinism, refusals, public chain only."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from iome_ref.analysis.ledgerview import read_db
from iome_ref.analysis.link import od_error, run_link
from iome_ref.analysis.linkreport import LinkOptions
from iome_ref.chain.store import SqliteStore, StoredBlock
from iome_ref.cli import EXIT_ERROR, app

SPEC = Path(__file__).resolve().parents[2] / "spec"
STATIONS = "station,name,lat,lon\nA,Alpha,59.90,10.70\nB,Beta,59.95,10.80\nC,Gamma,59.80,10.60\n"
TRIPS = (
    "trip_id,vehicle,start_station,start_iso,end_station,end_iso\n"
    "t1,v1,A,2024-01-01T08:00:00,B,2024-01-01T08:20:00\n"
    "t2,v1,B,2024-01-01T12:00:00,A,2024-01-01T12:25:00\n"
    "t3,v2,A,2024-01-01T08:01:00,B,2024-01-01T08:22:00\n"
    "t4,v2,B,2024-01-01T12:10:00,C,2024-01-01T12:40:00\n"
    "t5,v1,A,2024-01-01T18:00:00,C,2024-01-01T18:30:00\n"
    "t6,v3,C,2024-01-01T07:00:00,A,2024-01-01T07:30:00\n"
    "t7,v3,A,2024-01-01T07:40:00,C,2024-01-01T08:10:00\n"
)


def _files(tmp_path: Path) -> tuple[Path, Path]:
    trips, stations = tmp_path / "trips.csv", tmp_path / "stations.csv"
    trips.write_text(TRIPS, encoding="utf-8")
    stations.write_text(STATIONS, encoding="utf-8")
    return trips, stations


def test_link_on_trips_writes_a_valid_report_and_identical_bytes_for_one_seed(
    tmp_path: Path,
) -> None:
    trips, stations = _files(tmp_path)
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / run
        result = CliRunner().invoke(
            app,
            [
                "link",
                "--trips",
                str(trips),
                "--stations",
                str(stations),
                "--sweep",
                "--seed",
                "4",
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert set(outputs[0]) == {"link.json", "anonymity.svg", "sweep.svg"}
    # --out differs between the runs; everything else must be byte-identical.
    first = json.loads(outputs[0].pop("link.json"))
    second = json.loads(outputs[1].pop("link.json"))
    first["options"].pop("out")
    second["options"].pop("out")
    assert first == second
    assert outputs[0] == outputs[1]
    schema = json.loads((SPEC / "schemas/analysis/link.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(second)
    forced = second["forced"]
    # Exact times: every trip's PK1 <-> PK2 is forced and right; v3's two trips chain
    # (one arrival at A at 07:30, one departure from A at 07:40 within the dwell bound).
    assert forced["forced_wrong"] == 0
    assert forced["trips_forced_share"] == 1.0
    assert forced["chains"]["chained_2"] > 0
    assert second["z3"]["unknown"] == 0
    assert second["z3"]["agrees_with_fast_path"] is True


def test_coarsening_lowers_the_forced_share_and_costs_o_d_accuracy(tmp_path: Path) -> None:
    trips, _ = _files(tmp_path)
    exact = run_link(LinkOptions(trips=trips))
    coarse = run_link(LinkOptions(trips=trips, coarsen_s=3600))
    assert exact.forced is not None
    assert coarse.forced is not None
    assert coarse.forced.trips_forced_share is not None
    assert exact.forced.trips_forced_share is not None
    assert coarse.forced.trips_forced_share < exact.forced.trips_forced_share
    assert od_error([("A", "B", 100)], [("A", "B", 3700)]) == 1.0
    assert od_error([("A", "B", 100)], [("A", "B", 200)]) == 0.0


def test_a_bad_file_exits_2_with_its_line_and_writes_nothing(tmp_path: Path) -> None:
    trips, stations = _files(tmp_path)
    trips.write_text(TRIPS.replace("t4,v2,B,", "t4,v2,Z,"), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["link", "--trips", str(trips), "--stations", str(stations), "--out", str(out)]
    )
    assert result.exit_code == EXIT_ERROR
    assert f"{trips}:5:" in result.output
    assert "unknown station 'Z'" in result.output
    assert not out.exists()
    assert "trips forced" not in result.output


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        ["--trips", "x.csv", "--sessions", "y.csv"],
        ["--sessions", "y.csv", "--stations", "s.csv"],
    ],
)
def test_anything_but_one_source_is_refused(arguments: list[str]) -> None:
    result = CliRunner().invoke(app, ["link", *arguments])
    assert result.exit_code == EXIT_ERROR
    assert "error link:" in result.output


def _block(chain: str, height: int, txs: list[dict[str, object]]) -> StoredBlock:
    body = json.dumps({"chain_id": chain, "height": height, "time": 1000 + height, "txs": txs})
    return StoredBlock(
        chain,
        height,
        f"h{chain}{height}",
        body.encode(),
        tuple(f"{chain}-{height}-{i}" for i in range(len(txs))),
    )


def test_db_reads_the_public_chain_and_never_the_consortium(tmp_path: Path) -> None:
    session = {
        "type": "ChargeSession",
        "station_id": "A",
        "one_time_pk": "ab" * 32,
        "direction": "charge",
        "energy_wh": 5000,
        "start_time": 900,
        "end_time": 1000,
    }
    trip = {
        "type": "Trip",
        "origin_station_id": "A",
        "destination_station_id": "B",
        "start_time": 1000,
        "end_time": 1600,
        "time_bucket_s": 1,
    }
    secret = dict(session, station_id="SECRET", one_time_pk="cd" * 32)
    path = tmp_path / "ledger.sqlite"
    with SqliteStore(path) as store:
        store.set_meta("chain:public:kind", "public")
        store.set_meta("chain:verifiers:kind", "consortium")
        store.append(_block("public", 0, [session, trip]))
        store.append(_block("verifiers", 0, [secret]))
    observation = read_db(path)
    assert [s.station for s in observation.sessions] == ["A"]
    assert observation.sessions[0].block_position == 0
    assert observation.sessions[0].block_time == 1000
    assert [t.origin for t in observation.trips] == ["A"]
    assert observation.trips[0].block_position == 1
    assert [e.kind for e in observation.trip_ends] == ["departure"]


def test_a_simulated_city_is_scored_against_its_truth_never_shown_to_the_observer() -> None:
    report = run_link(
        LinkOptions(
            simulate="--evs 30 --rounds 3 --round-hours 12 --stations 4 --homes 3 --regions 1 "
            "--time-bucket 1",
            z3_components=20,
        )
    )
    forced = report.forced
    assert forced is not None
    assert forced.trips > 0
    assert forced.forced_correct is not None
    assert forced.forced_wrong is not None
    assert forced.forced_correct + forced.forced_wrong == forced.forced_links
    # Exact times: a session plugged in until the next departure (an overnight one: a run of
    # a day and a half) ends at the Trip's start, which ties the Trip to its key.
    assert forced.trips_departure_key_forced is not None
    assert forced.trips_departure_key_forced > 0
    assert forced.chains is not None
    assert forced.chains.vehicles > 0
    # Z3 over whole trajectories, with the battery: every proven link is right (the energy
    # model only ever removes what cannot have happened), and nothing undecided is counted.
    chains = report.z3_chains
    assert chains is not None, report.z3_chains_absent
    assert chains.unknown == 0
    assert chains.proven_wrong == 0
    assert chains.proven_correct == chains.pairing_proven + chains.dwell_proven > 0
    assert chains.components + chains.skipped_too_large + chains.skipped_over_budget == (
        chains.components_total
    )
    assert chains.chains is not None
    # Trajectories: on the public chain a trip's departure key shows only when its vehicle was
    # plugged in until it left; with every end keyed the same fast path forces most pairings.
    trajectories = report.trajectories
    assert trajectories is not None
    assert trajectories.trips == forced.trips
    assert trajectories.both_keys_public <= min(
        trajectories.departure_key_public, trajectories.arrival_key_public
    )
    assert trajectories.chainable_4_plus <= trajectories.chainable_3 <= trajectories.chainable_2
    assert trajectories.every_end_keyed_forced_share > forced.trips_forced_share
    assert report.position is not None
    assert 0.0 <= report.position.chance <= 1.0
    assert report.position.pairs > 0
    # The observer's knowledge never mentions the consortium chain or a vehicle id.
    assert not any("consortium" in k or "ev-" in k for k in report.knowledge)


def test_chainable_counts_runs_of_trips_whose_keys_are_all_public_and_joined() -> None:
    from iome_ref.analysis.link import _chainable  # noqa: PLC0415 - the bound under test
    from iome_ref.analysis.simtruth import TrueTrip  # noqa: PLC0415

    def trip(vehicle: str, depart: int, dep: str | None, arr: str) -> TrueTrip:
        return TrueTrip(vehicle, "A", "B", depart, depart + 60, dep, arr)

    trips = [
        # v1: three trips, each arrival session lasting until the next departure.
        trip("v1", 0, "k0", "k1"),
        trip("v1", 100, "k1", "k2"),
        trip("v1", 200, "k2", "k3"),
        # v2: both keys public on each trip, but the second left under another session's key.
        trip("v2", 0, "m0", "m1"),
        trip("v2", 100, "m9", "m2"),
        # v3: never plugged in at a departure.
        trip("v3", 0, None, "n1"),
        trip("v3", 100, None, "n2"),
    ]
    public = {"k0", "k1", "k2", "k3", "m0", "m1", "m9", "m2", "n1", "n2"}
    assert _chainable(trips, public, 2) == 1 / 3
    assert _chainable(trips, public, 3) == 1 / 3
    assert _chainable(trips, public, 4) == 0.0
    # A key the chain never showed breaks the run there.
    assert _chainable(trips, public - {"k2"}, 2) == 0.0
    assert _chainable(trips, public - {"k3"}, 2) == 1 / 3
