"""`iome evidence verify FILE --trust-anchor ROOT.pem` and `iome evidence bundle`: exit 0
valid, 1 a part that does not verify (its IOME-EVB id), 2 unreadable input or bad usage, and
never a traceback, whatever the file holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from evidence_world import evidence_ledger
from typer.testing import CliRunner

from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import SqliteStore
from iome_ref.cli import EXIT_ACCEPTED, EXIT_ERROR, EXIT_REJECTED, app
from iome_ref.constants import MAX_MESSAGE_BYTES
from iome_ref.models.evidence import MAX_BUNDLE_BYTES
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import CHAINS, T0


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    ledger = evidence_ledger()
    folder = tmp_path_factory.mktemp("evidence")
    root = folder / "root.pem"
    root.write_bytes(ledger.world.directory.root.public_bytes(Encoding.PEM))
    station = folder / "station.pem"
    station.write_bytes(
        ledger.world.directory.get_certificates(ledger.world.key("st-a").public_hex)[
            0
        ].public_bytes(Encoding.PEM)
    )
    bundle = folder / "trip.json"
    bundle.write_text(json.dumps(ledger.bundle("trip")))
    return {"root": root, "station": station, "bundle": bundle, "folder": folder}


def _run(*args: str | Path, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.req("IOME-EVB-007")
def test_accepts_valid_bundle_file(files: dict[str, Path]) -> None:
    code, out, _ = _run("evidence", "verify", files["bundle"], "--trust-anchor", files["root"])
    assert code == EXIT_ACCEPTED
    assert out.startswith("valid: Trip ")


def test_accepts_bundle_larger_than_a_message_within_the_bundle_limit(
    files: dict[str, Path],
) -> None:
    """A bundle wraps messages, so its size limit is MAX_BUNDLE_BYTES, not a message's: one
    padded past MAX_MESSAGE_BYTES (insignificant whitespace) still verifies."""
    padded = files["bundle"].read_bytes() + b" " * MAX_MESSAGE_BYTES
    assert MAX_MESSAGE_BYTES < len(padded) <= MAX_BUNDLE_BYTES
    code, out, _ = _run("evidence", "verify", "-", "--trust-anchor", files["root"], stdin=padded)
    assert (code, out.split(":")[0]) == (EXIT_ACCEPTED, "valid")


def test_accepts_bundle_on_stdin(files: dict[str, Path]) -> None:
    data = files["bundle"].read_bytes()
    code, out, _ = _run("evidence", "verify", "-", "--trust-anchor", files["root"], stdin=data)
    assert (code, out.split(":")[0]) == (EXIT_ACCEPTED, "valid")


@pytest.mark.req("IOME-EVB-007")
def test_rejects_tampered_bundle_naming_its_id(files: dict[str, Path]) -> None:
    bundle = json.loads(files["bundle"].read_text())
    bundle["inclusion"]["path"][0] = "00" * 32
    path = files["folder"] / "tampered.json"
    path.write_text(json.dumps(bundle))
    code, out, _ = _run("evidence", "verify", path, "--trust-anchor", files["root"])
    assert code == EXIT_REJECTED
    assert out.startswith("reject IOME-EVB-007: inclusion:")


@pytest.mark.req("IOME-EVB-001")
@pytest.mark.parametrize(
    "document",
    [{}, {"format": 1}, {"format": "iome-evidence/1", "signers": "x"}],
    ids=["empty", "format-number", "wrong-types"],
)
def test_rejects_wrong_shapes_with_evb_001(files: dict[str, Path], document: object) -> None:
    path = files["folder"] / "shape.json"
    path.write_text(json.dumps(document))
    code, out, _ = _run("evidence", "verify", path, "--trust-anchor", files["root"])
    assert (code, out.split(":")[0]) == (EXIT_REJECTED, "reject IOME-EVB-001")


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b"\xff\xfe{}",
        b'{"a": 1, "a": 2}',
        b'{"n": 1e999}',
        b'{"n": ' + b"9" * 5000 + b"}",
        b'{"n": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
        b" " * (MAX_BUNDLE_BYTES + 1),
    ],
    ids=[
        "empty",
        "text",
        "array",
        "not-utf8",
        "duplicate-key",
        "float",
        "huge-integer",
        "nan",
        "deep",
        "too-large",
    ],
)
def test_unreadable_bundle_exits_2(files: dict[str, Path], content: bytes) -> None:
    path = files["folder"] / "unreadable.json"
    path.write_bytes(content)
    code, out, err = _run("evidence", "verify", path, "--trust-anchor", files["root"])
    assert (code, out) == (EXIT_ERROR, "")
    assert err.startswith("error "), err
    assert "Traceback" not in err


@pytest.mark.parametrize("anchor", ["station", "bundle", "folder", "missing"])
def test_unusable_trust_anchor_exits_2(files: dict[str, Path], anchor: str) -> None:
    """A certified key's certificate is no root; a JSON file, a folder or no file is no PEM."""
    path = files.get(anchor, files["folder"] / "missing.pem")
    code, _, err = _run("evidence", "verify", files["bundle"], "--trust-anchor", path)
    assert code == EXIT_ERROR
    assert err.startswith("error "), err


def test_missing_trust_anchor_option_exits_2(files: dict[str, Path]) -> None:
    code, _, _ = _run("evidence", "verify", files["bundle"])
    assert code == EXIT_ERROR


def test_bundle_from_stored_ledger_verifies(files: dict[str, Path], tmp_path: Path) -> None:
    world = evidence_ledger().world
    b = Builder(world)
    db = tmp_path / "node.sqlite"
    session = b.charge("st-b", "ev-3/otk", T0 + 100, T0 + 900)
    with SqliteStore(db) as store:
        ledger = Ledger(store, world.context())
        for chain_id, kind in CHAINS.items():
            ledger.add_chain(chain_id, kind)
        ledger.submit(b.block("public", [b.esdp(t=T0 + 50), session], T0 + 1000))
    out, root = tmp_path / "bundle.json", tmp_path / "root.pem"
    args = ["evidence", "bundle", "--db", db, "--chain", "public", "--tx-id", session.tx_id]
    assert _run(*args, "--out", out, "--root-out", root)[0] == EXIT_ACCEPTED
    assert root.read_bytes() == files["root"].read_bytes()
    code, text, _ = _run("evidence", "verify", out, "--trust-anchor", root)
    assert (code, text.split(" ")[:2]) == (EXIT_ACCEPTED, ["valid:", "ChargeSession"])
    absent = ["evidence", "bundle", "--db", db, "--chain", "public", "--tx-id", "ab" * 32]
    assert _run(*absent)[0] == EXIT_REJECTED
    assert (
        _run(
            "evidence",
            "bundle",
            "--db",
            tmp_path / "none.sqlite",
            "--chain",
            "public",
            "--tx-id",
            "ab" * 32,
        )[0]
        == EXIT_ERROR
    )


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda path: path.mkdir(),
            "error cli: --db {db}: is a directory, expected a SQLite store",
        ),
        (
            lambda path: path.write_bytes(b"not a database"),
            "error store: cannot open the store {db}: the file is not a SQLite database",
        ),
    ],
    ids=["folder", "not-a-store"],
)
def test_rejects_bundle_db_that_is_no_store_naming_it(
    tmp_path: Path, make: Any, expected: str
) -> None:
    """The store is read from a scratch copy; the error names the --db given."""
    db = tmp_path / "node.sqlite"
    make(db)
    code, _, err = _run("evidence", "bundle", "--db", db, "--chain", "public", "--tx-id", "ab" * 32)
    assert code == EXIT_ERROR
    assert err == expected.format(db=db) + "\n"
