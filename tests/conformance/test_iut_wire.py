"""The wire protocol's rules (spec/conformance.md) at both ends: the sans-IO server of
``iome serve --stdio`` answers every line with a reply carrying an IOME id, and the schemas
under spec/schemas/iut/ are generated, current, and describe what the reference sends."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from iome_ref.conformance import wire
from iome_ref.conformance.adapters import ReferenceIUT
from iome_ref.conformance.iut import CORE_OPS, Refused
from iome_ref.conformance.server import WireServer, serve_stdio
from iome_ref.errors import Rejected
from iome_ref.vectors.spec_index import default_spec_dir
from tests.conformance.iut_cases import load_cases

SPEC = default_spec_dir()
IOME = str(Path(sys.executable).parent / "iome")
_, CONTEXT, _ = load_cases()[0]


def _ask(server: WireServer, request: Any) -> dict[str, Any]:
    line = request if isinstance(request, bytes) else json.dumps(request).encode()
    reply: dict[str, Any] = json.loads(server.handle_line(line + b"\n"))
    return reply


def _code(reply: dict[str, Any]) -> str | None:
    return None if reply["ok"] else reply["error"]["code"]


@pytest.fixture
def server() -> WireServer:
    return WireServer(ReferenceIUT())


@pytest.mark.req("IOME-IUT-001")
def test_accepts_request_object(server: WireServer) -> None:
    for request_id in (1, "a"):
        reply = _ask(server, {"id": request_id, "op": "hello", "args": {}})
        assert reply["id"] == request_id
        assert reply["ok"] is True


@pytest.mark.req("IOME-IUT-001")
@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"id": 1, "op": "hello"}',
        b'{"id": 1, "op": "hello", "args": {}, "extra": 0}',
        b'{"id": 1.5, "op": "hello", "args": {}}',
        b'{"id": 1, "op": 7, "args": {}}',
        b'{"id": 1, "op": "hello", "args": []}',
        b'{"id": NaN, "op": "hello", "args": {}}',
    ],
)
def test_rejects_malformed_request(server: WireServer, line: bytes) -> None:
    reply = _ask(server, line)
    assert _code(reply) == "IOME-IUT-001"
    # The server keeps serving after garbage.
    assert _ask(server, {"id": 2, "op": "hello", "args": {}})["ok"] is True


@pytest.mark.req("IOME-IUT-002")
def test_accepts_line_at_the_limit() -> None:
    # Trailing blanks are JSON whitespace: the line is exactly the limit, the reply shorter.
    request = json.dumps({"id": 1, "op": "hello", "args": {}}).encode().ljust(2000)
    server = WireServer(ReferenceIUT(), limit=len(request))
    assert _ask(server, request)["ok"] is True
    wire.check_line_size(wire.MAX_LINE_BYTES)


@pytest.mark.req("IOME-IUT-002")
def test_rejects_oversized_request_line_and_keeps_serving() -> None:
    hello = json.dumps({"id": 1, "op": "hello", "args": {}}).encode()
    big = json.dumps({"id": 2, "op": "hello", "args": {"x": "a" * 5000}}).encode()
    stdout = io.BytesIO()
    stdin = io.BytesIO(big + b"\n" + hello + b"\n")
    assert serve_stdio(ReferenceIUT(), stdin, stdout, io.StringIO(), limit=1000) == 0
    first, second = (json.loads(line) for line in stdout.getvalue().splitlines())
    assert (first["id"], _code(first)) == (None, "IOME-IUT-002")
    assert (second["id"], second["ok"]) == (1, True)
    with pytest.raises(Rejected) as exc:
        wire.check_line_size(wire.MAX_LINE_BYTES + 1)
    assert exc.value.req_id == "IOME-IUT-002"


@pytest.mark.req("IOME-IUT-003")
def test_accepts_every_manifest_op(server: WireServer) -> None:
    ops = _ask(server, {"id": 1, "op": "hello", "args": {}})["result"]["ops"]
    assert set(ops) == set(wire.WIRE_OPS)
    for op in ops:
        assert _code(_ask(server, {"id": 2, "op": op, "args": {}})) != "IOME-IUT-003"


@pytest.mark.req("IOME-IUT-003")
def test_rejects_unknown_op(server: WireServer) -> None:
    for op in ("nope", "_op_hello", "call", "close", "__init__"):
        assert _code(_ask(server, {"id": 1, "op": op, "args": {}})) == "IOME-IUT-003"


def _reset(server: WireServer) -> None:
    reply = _ask(server, {"id": 0, "op": "reset", "args": {"seed": 0, "genesis": CONTEXT}})
    assert reply["ok"] is True, reply


@pytest.mark.req("IOME-IUT-004")
def test_accepts_args_of_the_schema(server: WireServer) -> None:
    _reset(server)
    reply = _ask(server, {"id": 1, "op": "head", "args": {"chain": "public"}})
    assert reply["result"] == {"height": -1, "block_hash": None}


@pytest.mark.req("IOME-IUT-004")
@pytest.mark.parametrize(
    ("op", "args", "member"),
    [
        ("head", {}, "args.chain"),
        ("head", {"chain": 3}, "args.chain"),
        ("head", {"chain": "public", "x": 1}, "args.x"),
        ("head", {"chain": "nowhere"}, "nowhere"),
        ("submit_tx", {"chain": "public"}, "exactly one"),
        ("submit_tx", {"chain": "public", "tx": {}, "text": "{}"}, "exactly one"),
        ("get_tx", {"chain": "public", "tx_id": "xyz"}, "args.tx_id"),
        (
            "station_attest",
            {"station": "st-a", "kind": "source", "one_time_pk": "00", "t": 1},
            "no actor",
        ),
        ("reset", {"seed": -1, "genesis": {"pki": {}}}, "args.seed"),
        ("reset", {"seed": 0, "genesis": {"pki": {}, "chains": {"x": "moon"}}}, "args.genesis"),
    ],
)
def test_rejects_args_off_the_schema(
    server: WireServer, op: str, args: dict[str, Any], member: str
) -> None:
    _reset(server)
    reply = _ask(server, {"id": 1, "op": op, "args": args})
    assert _code(reply) == "IOME-IUT-004", reply
    assert member in reply["error"]["message"]


@pytest.mark.req("IOME-IUT-008")
def test_rejects_state_op_before_reset(server: WireServer) -> None:
    for op, args in (("head", {"chain": "public"}), ("evidence", {}), ("reopen", {})):
        assert _code(_ask(server, {"id": 1, "op": op, "args": args})) == "IOME-IUT-008"


@pytest.mark.req("IOME-IUT-008")
def test_accepts_state_op_after_reset(server: WireServer) -> None:
    assert _ask(server, {"id": 1, "op": "hello", "args": {}})["ok"] is True
    _reset(server)
    assert _ask(server, {"id": 2, "op": "evidence", "args": {}})["result"] == {"evidence": []}


@pytest.mark.req("IOME-IUT-005")
def test_accepts_both_reply_forms() -> None:
    ok = wire.check_reply(b'{"id": 1, "ok": true, "result": {}}')
    assert ok["result"] == {}
    error = wire.check_reply(
        b'{"id": null, "ok": false, "error": {"code": "IOME-EPS-004", "message": "m"}}'
    )
    assert error["error"]["code"] == "IOME-EPS-004"


@pytest.mark.req("IOME-IUT-005")
@pytest.mark.parametrize(
    "line",
    [
        b"garbage",
        b'{"id": 1, "ok": true}',
        b'{"id": 1, "ok": true, "result": []}',
        b'{"id": 1, "ok": false, "error": {"code": "EPS-4", "message": "m"}}',
        b'{"id": 1, "ok": false, "error": {"code": "IOME-EPS-004"}}',
        b'{"id": 1, "ok": "yes", "result": {}}',
        b'{"id": 1, "ok": true, "result": {}, "error": null}',
    ],
)
def test_rejects_malformed_reply(line: bytes) -> None:
    with pytest.raises(Rejected) as exc:
        wire.check_reply(line)
    assert exc.value.req_id == "IOME-IUT-005"


@pytest.mark.req("IOME-IUT-006")
def test_accepts_reply_with_the_request_id() -> None:
    wire.check_reply_id(7, 7)
    wire.check_reply_id("a", "a")


@pytest.mark.req("IOME-IUT-006")
def test_rejects_reply_id_of_another_type() -> None:
    for found in (8, "7", None, True, 7.0):
        with pytest.raises(Rejected) as exc:
            wire.check_reply_id(found, 7)
        assert exc.value.req_id == "IOME-IUT-006"


@pytest.mark.req("IOME-IUT-007")
def test_accepts_reference_manifest() -> None:
    manifest = wire.check_manifest(ReferenceIUT().hello())
    assert set(CORE_OPS) <= set(manifest.ops)


@pytest.mark.req("IOME-IUT-007")
def test_rejects_manifest_of_another_major_version() -> None:
    manifest = {**ReferenceIUT().hello(), "spec_version": "2.0.0"}
    with pytest.raises(Rejected) as exc:
        wire.check_manifest(manifest)
    assert exc.value.req_id == "IOME-IUT-007"


@pytest.mark.req("IOME-IUT-009")
def test_accepts_reply_within_timeout() -> None:
    wire.check_deadline(0.5, 1.0)


@pytest.mark.req("IOME-IUT-009")
def test_rejects_reply_after_timeout() -> None:
    for elapsed in (1.01, float("inf"), float("nan")):
        with pytest.raises(Rejected) as exc:
            wire.check_deadline(elapsed, 1.0)
        assert exc.value.req_id == "IOME-IUT-009"


class _Buggy(ReferenceIUT):
    def call(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        if op == "head":
            raise KeyError("a bug")
        return super().call(op, args)


@pytest.mark.req("IOME-IUT-010")
def test_rejects_bug_as_internal_failure_and_logs_it() -> None:
    logged: list[str] = []
    server = WireServer(_Buggy(), log=logged.append)
    reply = _ask(server, {"id": 1, "op": "head", "args": {"chain": "public"}})
    assert _code(reply) == "IOME-IUT-010"
    assert "KeyError" in logged[0]
    with pytest.raises(Rejected) as exc:
        wire.check_refusal(reply["error"])
    assert exc.value.req_id == "IOME-IUT-010"
    assert _ask(server, {"id": 2, "op": "hello", "args": {}})["ok"] is True


def test_in_process_refusals_carry_the_same_codes() -> None:
    iut = ReferenceIUT()
    with pytest.raises(Refused) as exc:
        iut.call("nope", {})
    assert exc.value.code == "IOME-IUT-003"
    with pytest.raises(Refused) as exc:
        iut.head("public")
    assert exc.value.code == "IOME-IUT-008"


def test_serve_stdio_never_prints_a_traceback_on_stdout() -> None:
    lines = [
        b'{"id":1,"op":"hello","args":{}}',
        b"\x00\x01garbage",
        b'{"id":2,"op":"reset","args":{"seed":0,"genesis":{"pki":{"nonsense":1}}}}',
        b'{"id":3,"op":"head","args":{"chain":"public"}}',
    ]
    result = subprocess.run(
        [IOME, "serve", "--stdio"],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in replies] == [1, None, 2, 3]
    assert all(r["ok"] or wire.check_reply(json.dumps(r).encode()) for r in replies)
    assert [_code(r) for r in replies[1:2]] == ["IOME-IUT-001"]
    assert b"Traceback" not in result.stdout


def test_serve_needs_stdio() -> None:
    result = subprocess.run([IOME, "serve"], capture_output=True, timeout=60, check=False)
    assert result.returncode == 2
    assert b"--stdio" in result.stderr


# -- schemas --------------------------------------------------------------------------------


def _schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SPEC / "schemas" / "iut" / name).read_text("utf-8"))
    return data


def test_schemas_are_current() -> None:
    assert wire.check_wire_schemas(SPEC) == []
    assert len(list((SPEC / "schemas" / "iut").glob("*.json"))) == 2 * len(wire.WIRE_OPS)


def test_rejects_stale_or_extra_schema(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    shutil.copytree(SPEC, spec)
    (spec / "schemas" / "iut" / "head.reply.json").write_text("{}", "utf-8")
    (spec / "schemas" / "iut" / "retired.request.json").write_text("{}", "utf-8")
    (spec / "schemas" / "iut" / "hello.request.json").unlink()
    assert wire.check_wire_schemas(spec) == [
        "spec/schemas/iut/head.reply.json differs from its regeneration "
        "(run `iome vectors generate`)",
        "spec/schemas/iut/hello.request.json is missing (run `iome vectors generate`)",
        "spec/schemas/iut/retired.request.json is not a generated file "
        "(run `iome vectors generate`)",
    ]
    wire.write_wire_schemas(spec)
    assert wire.check_wire_schemas(spec) == []


def test_schemas_describe_what_the_reference_sends_and_answers(server: WireServer) -> None:
    requests = [
        {"id": 1, "op": "hello", "args": {}},
        {"id": 2, "op": "reset", "args": {"seed": 0, "genesis": CONTEXT, "keys": {}}},
        {"id": 3, "op": "head", "args": {"chain": "public"}},
        {"id": 4, "op": "evidence", "args": {}},
        {"id": 5, "op": "submit_tx", "args": {"chain": "public", "text": "{}"}},
        {"id": 6, "op": "get_tx", "args": {"chain": "public", "tx_id": "0" * 64}},
    ]
    for request in requests:
        op = request["op"]
        jsonschema.validate(request, _schema(f"{op}.request.json"))
        jsonschema.validate(_ask(server, request), _schema(f"{op}.reply.json"))
    bad = {"id": 1, "op": "head", "args": {"chain": "public", "x": 1}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _schema("head.request.json"))
