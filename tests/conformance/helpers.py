"""Shared helpers of the conformance tests: the repository root, the CLI runner, small IUTs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from iome_ref.cli import app
from iome_ref.conformance.adapters.inproc import ReferenceIUT
from iome_ref.conformance.iut import JsonObject
from iome_ref.errors import ImplementationError

ROOT = Path(__file__).resolve().parents[2]
ZOO = "python:tests.conformance.zoo.members"


def invoke(monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """``iome ARGS`` in process, from the repository root (python:tests.… IUTs import)."""
    monkeypatch.chdir(ROOT)
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def survivors(pgid: int) -> list[int]:
    """Members of ``pgid`` still alive 2 s on: a SIGKILLed process dies asynchronously."""
    deadline = time.monotonic() + 2.0
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return group_members(pgid)


class NoReopen(ReferenceIUT):
    """An implementation without a store: its manifest does not list ``reopen``."""

    def hello(self) -> JsonObject:
        manifest = super().hello()
        return {**manifest, "ops": [op for op in manifest["ops"] if op != "reopen"]}


class CrashesOnEps(ReferenceIUT):
    """Raises a bare Python error on every EPS: a crash, never a verdict."""

    def submit_tx(
        self, chain: str, tx: JsonObject | None, text: str | None, block_time: int
    ) -> JsonObject:
        if tx is not None and tx.get("type") == "EPS":
            raise KeyError("prev_tx_id")
        return super().submit_tx(chain, tx, text, block_time)


class DiesOnEps(ReferenceIUT):
    """Stops answering on the first EPS, as a dead subprocess would."""

    def submit_tx(
        self, chain: str, tx: JsonObject | None, text: str | None, block_time: int
    ) -> JsonObject:
        if tx is not None and tx.get("type") == "EPS":
            raise ImplementationError("stdio", "the implementation exited with status 139")
        return super().submit_tx(chain, tx, text, block_time)


class OtherSpecVersion(ReferenceIUT):
    def hello(self) -> JsonObject:
        return {**super().hello(), "spec_version": "0.9.0"}


def drop_timing(data: bytes) -> dict[str, Any]:
    import json  # noqa: PLC0415

    document: dict[str, Any] = json.loads(data)
    assert list(document)[-1] == "timing"
    del document["timing"]
    return document
