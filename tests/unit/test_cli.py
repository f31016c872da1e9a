"""The ``iome`` command line: exit codes, output streams, and no traceback on hostile files.

Exit codes follow the error family (STYLE §4): 0 accept, 1 ``Rejected``, 2 ``Malformed`` or
usage. The exit-code mapping is tested with ``validate_document`` replaced, so it holds
whatever the rules decide; the tests at the end run the real generator and validator.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import usage_error
from typer.testing import CliRunner

import iome_ref.simulation.run as run_module
import iome_ref.vectors.runner as runner_module
from iome_ref import cli
from iome_ref.chain.store import MemoryStore
from iome_ref.cli import EXIT_ACCEPTED, EXIT_ERROR, EXIT_REJECTED, app
from iome_ref.constants import MAX_MESSAGE_BYTES
from iome_ref.errors import ImplementationError, IoMEError, Malformed, Rejected, UsageError
from iome_ref.simulation.city import generate_city
from iome_ref.simulation.loop import Simulation, SimulationConfig, compute_child_chain_names
from iome_ref.simulation.routing import MAX_STATIONS, check_station_count
from iome_ref.vectors.spec_index import default_spec_dir, load_requirements

SPEC = default_spec_dir()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _run_iome(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m iome_ref`` as a user would: real streams, real exception handling."""
    return subprocess.run(
        [sys.executable, "-m", "iome_ref", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def _assert_clean_error(result: subprocess.CompletedProcess[bytes], prefix: str) -> None:
    """Exit 2, one line on stderr starting with ``prefix``, nothing on stdout, no traceback."""
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == EXIT_ERROR, stderr
    assert "Traceback" not in stderr
    assert result.stdout == b""
    assert stderr.startswith(prefix), stderr
    assert stderr.count("\n") == 1, stderr


def _assert_clean_reject(result: subprocess.CompletedProcess[bytes], prefix: str) -> None:
    """Exit 1, one line on stdout starting with ``prefix``, nothing on stderr, no traceback."""
    stdout = result.stdout.decode("utf-8", "replace")
    assert result.returncode == EXIT_REJECTED, result.stderr
    assert result.stderr == b""
    assert stdout.startswith(prefix), stdout
    assert stdout.count("\n") == 1, stdout


def _first_case(expected: str, *, with_setup: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first vector case with this verdict and (no) setup, and its file's context."""
    for path in sorted((SPEC / "vectors").glob("*.json")):
        document = json.loads(path.read_text("utf-8"))
        for case in document["cases"]:
            if (
                case["expected"] == expected
                and case["input"] is not None
                and bool(case["setup"]) == with_setup
            ):
                return case, document["context"]
    pytest.fail(f"no {expected} vector case with setup={with_setup}")


# --- spec ids -------------------------------------------------------------------------------


def test_spec_ids_lists_every_id_with_its_title(runner: CliRunner) -> None:
    result = runner.invoke(app, ["spec", "ids"])
    assert result.exit_code == EXIT_ACCEPTED, result.output
    requirements = load_requirements(SPEC)
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(requirements)
    first = requirements[next(iter(requirements))]
    assert lines[0].endswith(first.title)


def test_spec_ids_json_matches_the_index(runner: CliRunner) -> None:
    result = runner.invoke(app, ["spec", "ids", "--json", "--spec-dir", str(SPEC)])
    assert result.exit_code == EXIT_ACCEPTED, result.output
    listed = json.loads(result.stdout)
    assert list(listed) == list(load_requirements(SPEC))
    assert all(entry["title"] for entry in listed.values())


def test_rejects_missing_spec_dir(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["spec", "ids", "--spec-dir", str(tmp_path / "absent")])
    assert result.exit_code == EXIT_ERROR
    assert result.stderr.startswith("error spec: ")


# --- validate: files that cannot be read or decoded -----------------------------------------


def test_rejects_missing_file_without_traceback(tmp_path: Path) -> None:
    _assert_clean_error(_run_iome("validate", str(tmp_path / "absent.json")), "error cli: ")


def test_rejects_directory_without_traceback(tmp_path: Path) -> None:
    _assert_clean_error(_run_iome("validate", str(tmp_path)), "error cli: ")


def test_rejects_missing_pki_file_without_traceback(tmp_path: Path) -> None:
    document = tmp_path / "tx.json"
    document.write_text("{}")
    result = _run_iome("validate", str(document), "--pki", str(tmp_path / "absent.json"))
    _assert_clean_error(result, "error cli: ")


@pytest.mark.parametrize(
    ("content", "req_id"),
    [
        pytest.param(b"", "IOME-ENC-001", id="empty"),
        pytest.param(b"{not json", "IOME-ENC-001", id="malformed-json"),
        pytest.param(b"[1, 2]", "IOME-ENC-001", id="not-an-object"),
        pytest.param(b'{"type": "EPS\xff\xfe"}', "IOME-ENC-001", id="not-utf8"),
        pytest.param(b'{"a": 1, "a": 2}', "IOME-ENC-001", id="duplicate-name"),
        pytest.param(b" " * (MAX_MESSAGE_BYTES + 10), "IOME-ENC-002", id="huge"),
    ],
)
def test_rejects_undecodable_file_with_its_id(tmp_path: Path, content: bytes, req_id: str) -> None:
    """Undecodable input breaks an ENC rule: the same verdict, exit 1, as inside a vector case."""
    document = tmp_path / "input.json"
    document.write_bytes(content)
    _assert_clean_reject(_run_iome("validate", str(document)), f"reject {req_id}: ")


def test_rejects_undecodable_stdin_with_its_id() -> None:
    _assert_clean_reject(_run_iome("validate", "-", stdin=b"\x00\x01"), "reject IOME-ENC-001: ")


def test_escapes_control_characters_from_the_input(runner: CliRunner, tmp_path: Path) -> None:
    document = tmp_path / "input.json"
    document.write_bytes(b'{"type": "\\u001b[31mred"}')
    result = runner.invoke(app, ["validate", str(document)])
    assert result.exit_code == EXIT_REJECTED
    assert "\x1b" not in result.output
    assert result.stdout.count("\n") == 1


# --- validate: exit codes follow the error family -------------------------------------------


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Replace validate_document by a stub that raises or returns ``judged["outcome"]``."""
    state: dict[str, Any] = {"outcome": "accept EPS " + "ab" * 32, "calls": []}

    def fake(data: bytes, pki: bytes | None = None) -> tuple[bool, str]:
        state["calls"].append((data, pki))
        outcome = state["outcome"]
        if isinstance(outcome, BaseException):
            raise outcome
        return True, str(outcome)

    monkeypatch.setattr(runner_module, "validate_document", fake)
    document = tmp_path / "input.json"
    document.write_text('{"type": "EPS"}')
    state["path"] = str(document)
    return state


def test_accepts_document_with_exit_0(runner: CliRunner, judged: dict[str, Any]) -> None:
    result = runner.invoke(app, ["validate", judged["path"]])
    assert result.exit_code == EXIT_ACCEPTED
    assert result.stdout == f"accept EPS {'ab' * 32}\n"
    assert judged["calls"] == [(b'{"type": "EPS"}', None)]


def test_passes_pki_bytes_through(
    runner: CliRunner, judged: dict[str, Any], tmp_path: Path
) -> None:
    pki = tmp_path / "pki.json"
    pki.write_bytes(b'{"root": "x"}')
    result = runner.invoke(app, ["validate", judged["path"], "--pki", str(pki)])
    assert result.exit_code == EXIT_ACCEPTED
    assert judged["calls"] == [(b'{"type": "EPS"}', b'{"root": "x"}')]


@pytest.mark.parametrize(
    ("error", "code", "stream", "line"),
    [
        pytest.param(
            Rejected("IOME-EPS-004", "prev_tx_id skips the tip"),
            EXIT_REJECTED,
            "stdout",
            "reject IOME-EPS-004: prev_tx_id skips the tip",
            id="rejected",
        ),
        pytest.param(
            Malformed("IOME-ENC-001", "not JSON"),
            EXIT_REJECTED,
            "stdout",
            "reject IOME-ENC-001: not JSON",
            id="malformed",
        ),
        pytest.param(
            UsageError("pki", "--pki file is unusable"),
            EXIT_ERROR,
            "stderr",
            "error pki: --pki file is unusable",
            id="usage",
        ),
        pytest.param(
            ImplementationError("iut", "crashed"),
            EXIT_ERROR,
            "stderr",
            "error iut: crashed",
            id="implementation",
        ),
    ],
)
def test_rejects_with_the_exit_code_of_its_error_class(
    runner: CliRunner,
    judged: dict[str, Any],
    *,
    error: IoMEError,
    code: int,
    stream: str,
    line: str,
) -> None:
    judged["outcome"] = error
    result = runner.invoke(app, ["validate", judged["path"]])
    assert result.exit_code == code
    assert getattr(result, stream) == line + "\n"
    other = "stderr" if stream == "stdout" else "stdout"
    assert getattr(result, other) == ""


def test_rejects_multiline_message_on_one_line(runner: CliRunner, judged: dict[str, Any]) -> None:
    judged["outcome"] = Rejected("IOME-ENC-004", "field x\nunexpected")
    result = runner.invoke(app, ["validate", judged["path"]])
    assert result.exit_code == EXIT_REJECTED
    assert result.stdout == "reject IOME-ENC-004: field x\\nunexpected\n"


def test_reports_internal_error_without_traceback(
    runner: CliRunner, judged: dict[str, Any]
) -> None:
    judged["outcome"] = KeyError("type")
    result = runner.invoke(app, ["validate", judged["path"]])
    assert result.exit_code == EXIT_ERROR
    assert result.stderr.startswith("error internal: unexpected KeyError")
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_exit_code_of_malformed_is_a_rejection() -> None:
    assert cli.exit_code_for(Malformed("IOME-ENC-001", "x")) == EXIT_REJECTED
    assert cli.exit_code_for(Rejected("IOME-ENC-011", "x")) == EXIT_REJECTED
    assert cli.exit_code_for(UsageError("cli", "x")) == EXIT_ERROR


def test_rejects_bad_arguments_with_exit_2(runner: CliRunner) -> None:
    assert runner.invoke(app, ["validate"]).exit_code == EXIT_ERROR
    assert runner.invoke(app, ["validate", "x.json", "--nope"]).exit_code == EXIT_ERROR
    assert runner.invoke(app, ["vectors", "generate", "--seed", "-1"]).exit_code == EXIT_ERROR


# --- the real validator, generator and checker ----------------------------------------------


def test_accepts_valid_vector_input(runner: CliRunner, tmp_path: Path) -> None:
    case, _ = _first_case("valid", with_setup=False)
    document = tmp_path / "input.json"
    document.write_text(json.dumps(case["input"]))
    result = runner.invoke(app, ["validate", str(document)])
    assert result.exit_code == EXIT_ACCEPTED, result.output
    assert result.stdout.startswith("accept ")


def test_accepts_invalid_case_file_reaching_its_expected_id(
    runner: CliRunner, tmp_path: Path
) -> None:
    case, context = _first_case("invalid", with_setup=True)
    document = tmp_path / "case.json"
    document.write_text(json.dumps({**case, "context": context}))
    result = runner.invoke(app, ["validate", str(document)])
    assert result.exit_code == EXIT_ACCEPTED, result.output
    assert result.stdout == f"pass case {case['id']}: reject {case['req_id']}, as expected\n"


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param({"expected": "valid", "req_id": None}, id="expects-valid"),
        pytest.param({"req_id": "IOME-ENC-001"}, id="expects-other-id"),
        pytest.param({"evidence": ["IOME-ANC-005"]}, id="expects-evidence"),
    ],
)
def test_rejects_case_file_whose_verdict_differs_from_expected(
    runner: CliRunner, tmp_path: Path, edit: dict[str, Any]
) -> None:
    case, context = _first_case("invalid", with_setup=True)
    document = tmp_path / "case.json"
    document.write_text(json.dumps({**case, "context": context, **edit}))
    result = runner.invoke(app, ["validate", str(document)])
    assert result.exit_code == EXIT_REJECTED, result.output
    assert result.stdout.startswith(f"mismatch case {case['id']}: expected ")


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        pytest.param({"expected": "maybe"}, "case.expected", id="bad-expected"),
        pytest.param({"setup": "x"}, "case.setup", id="setup-not-a-list"),
        pytest.param({"block_time": "noon"}, "case.block_time", id="block-time-not-int"),
        pytest.param({"surprise": 1}, "case.surprise", id="unknown-member"),
    ],
)
def test_rejects_hand_edited_case_file_naming_the_member(
    tmp_path: Path, edit: dict[str, Any], path: str
) -> None:
    case, context = _first_case("invalid", with_setup=True)
    document = tmp_path / "case.json"
    document.write_text(json.dumps({**case, "context": context, **edit}))
    _assert_clean_error(_run_iome("validate", str(document)), f"error vectors: {path}")


def test_vectors_check_passes_on_the_repository(runner: CliRunner) -> None:
    result = runner.invoke(app, ["vectors", "check"])
    assert result.exit_code == EXIT_ACCEPTED, result.output
    assert result.stdout.startswith("vectors up to date (")


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    """A copy of the spec's Markdown only: no derived files yet."""
    copy = tmp_path / "spec"
    copy.mkdir()
    for path in SPEC.glob("*.md"):
        (copy / path.name).write_bytes(path.read_bytes())
    return copy


def test_vectors_generate_then_check_round_trips(runner: CliRunner, spec_copy: Path) -> None:
    missing = runner.invoke(app, ["vectors", "check", "--spec-dir", str(spec_copy)])
    assert missing.exit_code == EXIT_REJECTED
    assert "is missing" in missing.stdout

    generated = runner.invoke(app, ["vectors", "generate", "--spec-dir", str(spec_copy)])
    assert generated.exit_code == EXIT_ACCEPTED, generated.output
    assert generated.stdout.startswith("wrote ")

    checked = runner.invoke(app, ["vectors", "check", "--spec-dir", str(spec_copy)])
    assert checked.exit_code == EXIT_ACCEPTED, checked.output

    with (spec_copy / "energy.md").open("a", encoding="utf-8") as stream:
        stream.write("\nAn added sentence.\n")
    stale = runner.invoke(app, ["vectors", "check", "--spec-dir", str(spec_copy)])
    assert stale.exit_code == EXIT_REJECTED
    assert "stale" in stale.stdout


# --- iome --version ---------------------------------------------------------------------------


def test_version_prints_the_installed_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == EXIT_ACCEPTED, result.output
    assert result.stdout == f"iome {importlib.metadata.version('iome')}\n"


# --- simulate: refusals before any file is written --------------------------------------------

TINY = ["--evs", "5", "--stations", "4", "--homes", "3", "--rounds", "2", "--regions", "2"]


def _simulate(runner: CliRunner, out: Path, *args: str) -> Any:
    return runner.invoke(app, ["simulate", "--out", str(out), *args])


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        pytest.param(
            "nowhere@1",
            "fail_manager: no child chain 'nowhere' with 2 regions; "
            "expected one of fleet, vpp-r0, mg-r1",
            id="unknown-chain",
        ),
        pytest.param("vpp-r2@1", "no child chain 'vpp-r2' with 2 regions", id="region-absent"),
        pytest.param("mg-r0@1", "no child chain 'mg-r0'", id="wrong-kind-for-region"),
        pytest.param("fleet@2", "fail_manager: round 2 is outside the run's rounds 0..1", id="end"),
        pytest.param("fleet@99", "round 99 is outside", id="far-past-end"),
    ],
)
def test_rejects_fail_manager_nobody_would_see(
    runner: CliRunner, tmp_path: Path, failure: str, message: str
) -> None:
    out = tmp_path / "out"
    result = _simulate(runner, out, *TINY, "--fail-manager", failure)
    assert result.exit_code == EXIT_ERROR, result.output
    assert result.stderr.startswith("error simulate: "), result.stderr
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize("failure", ["fleet@٣", "fleet@-1", "fleet@", "@1", "fleet"])
def test_rejects_fail_manager_not_chain_at_round(
    runner: CliRunner, tmp_path: Path, failure: str
) -> None:
    result = _simulate(runner, tmp_path / "out", *TINY, "--fail-manager", failure)
    assert result.exit_code == EXIT_ERROR
    assert result.stderr.startswith("error cli: --fail-manager expects CHAIN@ROUND")


def test_accepts_fail_manager_at_the_last_round_of_every_chain() -> None:
    # The boundary of the check above: the last round and every chain name are accepted.
    for chain in compute_child_chain_names(5):
        SimulationConfig(rounds=4, regions=5, fail_manager=(chain, 3))
    SimulationConfig(rounds=4, regions=5, fail_manager=("fleet", 0))


def test_child_chain_names_are_the_simulations_chains() -> None:
    assert compute_child_chain_names(3) == ("fleet", "vpp-r0", "mg-r1", "vpp-r2")
    sim = Simulation(
        SimulationConfig(evs=5, stations=4, homes=3, rounds=1, regions=3), MemoryStore()
    )
    assert tuple(sim.child_chains) == compute_child_chain_names(3)
    assert tuple(sim.net.managers) == compute_child_chain_names(3)


def test_rejects_too_many_stations_up_front_without_traceback(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run_iome("simulate", "--out", str(out), "--stations", "100000")
    _assert_clean_error(result, "error simulate: stations: at most 5000 ")
    assert b"found 100000" in result.stderr
    assert not out.exists()


def test_station_limit_is_exact_and_shared_by_every_city_source() -> None:
    assert cli.common.MAX_STATIONS == MAX_STATIONS
    check_station_count(MAX_STATIONS)
    with usage_error("simulate", match=f"at most {MAX_STATIONS}"):
        check_station_count(MAX_STATIONS + 1)
    with usage_error("simulate", match=f"at most {MAX_STATIONS}"):
        generate_city(seed=1, n_stations=MAX_STATIONS + 1, n_homes=1)
    with usage_error("simulate", match=f"at most {MAX_STATIONS}"):
        SimulationConfig(stations=MAX_STATIONS + 1)
    SimulationConfig(stations=MAX_STATIONS)


# --- simulate: outputs are whole or absent ----------------------------------------------------


def test_simulate_help_lists_child_chains_and_every_output_file(
    runner: CliRunner, tmp_path: Path
) -> None:
    help_text = " ".join(runner.invoke(app, ["simulate", "--help"]).stdout.split())
    for chain in ("fleet, then", "vpp-rI", "mg-rI", "fleet, vpp-r0, mg-r1, vpp-r2, mg-r3, vpp-r4"):
        assert chain in help_text
    out = tmp_path / "out"
    result = _simulate(runner, out, *TINY)
    assert result.exit_code == EXIT_ACCEPTED, result.output
    written = sorted(path.name for path in out.iterdir())
    assert written == ["imbalance.svg", "ledger.sqlite", "summary.json"]
    for name in written:
        assert f"OUT/{name}" in help_text


def test_failed_run_leaves_no_partial_ledger_and_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "ledger.sqlite"
    db.write_bytes(b"an earlier run's ledger")

    def fail(*_args: object) -> dict[str, Any]:
        raise RuntimeError("disk full")

    # Fails after the price-aware run has filled its (temporary) ledger.
    monkeypatch.setattr(run_module, "_run_baseline", fail)
    config = SimulationConfig(evs=5, stations=4, homes=3, rounds=1, regions=2)
    with pytest.raises(RuntimeError, match="disk full"):
        run_module.run_simulation(config, db)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ledger.sqlite"]
    assert db.read_bytes() == b"an earlier run's ledger"


def test_interrupted_write_removes_its_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"

    def interrupted() -> None:
        with run_module.atomic_output(target) as temporary:
            temporary.write_text("{")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert list(tmp_path.iterdir()) == []
    with run_module.atomic_output(target) as temporary:
        temporary.write_text("{}")
    assert [path.name for path in tmp_path.iterdir()] == ["summary.json"]
    assert target.read_text() == "{}"
