"""The role operations through the IUT interface, in process and over stdio: a docked key is
attested once, a claim is judged and co-signed, an O-D matrix is counted from the public
chain, a child chain is anchored and handed over; each result is accepted by the chain and
each misstep refused with its rule's id."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iome_ref.conformance.adapters import open_iut
from iome_ref.conformance.iut import IUT, Refused
from iome_ref.constants import ANCHOR_PERIOD_S, HANDOVER_MISSED_PERIODS
from iome_ref.models import Block, parse_message
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.generate import build_context
from iome_ref.vectors.world import REVOKED_AT, T0, build_world

IOME = str(Path(sys.executable).parent / "iome")
WORLD = build_world(1)
CONTEXT = build_context(WORLD)
ACTORS = {
    "st-a": ("station", "st-a"),
    "st-b": ("station", "st-b"),
    "verifier-1": ("verifier", "verifier-1"),
    "verifier-2": ("verifier", "verifier-2"),
    "verifier-3": ("verifier", "verifier-3"),
    "predictor": ("predictor", "predictor"),
    "fleet-manager": ("manager", "fleet"),
    "fleet-backup": ("backup", "fleet"),
}
KEYS = {
    name: {
        "role": role,
        "subject": subject,
        "private_key": WORLD.key(name).private.private_bytes_raw().hex(),
    }
    for name, (role, subject) in ACTORS.items()
}
DEPART = T0 + 3600
ARRIVE = DEPART + 1200  # travel st-a -> st-b in the world's table


@pytest.fixture(scope="module", params=["ref", "stdio"])
def iut(request: pytest.FixtureRequest) -> Iterator[IUT]:
    spec = "ref" if request.param == "ref" else f"stdio:{IOME} serve --stdio"
    opened = open_iut(spec, timeout_s=30)
    opened.hello()
    yield opened
    opened.close()


@pytest.fixture
def builder(iut: IUT) -> Builder:
    iut.reset(5, CONTEXT, KEYS)
    return Builder(WORLD)


def _submit(iut: IUT, block: Block) -> None:
    iut.submit_block(block.chain_id, block=block.model_dump(mode="json"))


def _attest(iut: IUT, station: str, kind: str, pk: str, t: int) -> dict[str, Any]:
    iut.call("station_dock", {"station": station, "vehicle": "ev", "one_time_pk": pk, "t": t})
    presence: dict[str, Any] = iut.call(
        "station_attest", {"station": station, "kind": kind, "one_time_pk": pk, "t": t}
    )["presence"]
    iut.call("station_undock", {"station": station, "vehicle": "ev", "t": t})
    return presence


def _code(iut: IUT, op: str, args: dict[str, Any]) -> str:
    with pytest.raises(Refused) as exc:
        iut.call(op, args)
    return exc.value.code


@pytest.mark.req("IOME-PRES-003")
def test_rejects_attesting_an_undocked_or_attested_key(iut: IUT, builder: Builder) -> None:
    pk = builder.key("otk-1").public_hex
    attest = {"station": "st-a", "kind": "source", "one_time_pk": pk, "t": DEPART}
    assert _code(iut, "station_attest", attest) == "IOME-PRES-003"
    iut.call("station_dock", {"station": "st-a", "vehicle": "ev", "one_time_pk": pk, "t": DEPART})
    presence = iut.call("station_attest", attest)["presence"]
    assert iut.validate(message=presence, with_pki=True) == {
        "type": "Presence",
        "id": presence["tx_id"],
    }
    assert _code(iut, "station_attest", attest) == "IOME-PRES-003"
    assert _code(iut, "station_attest", {**attest, "station": "verifier-1"}) == "IOME-IUT-004"


def test_accepts_trip_cosigned_and_od_matrix_counted(iut: IUT, builder: Builder) -> None:
    source = _attest(iut, "st-a", "source", builder.key("otk-1").public_hex, DEPART)
    destination = _attest(iut, "st-b", "destination", builder.key("otk-2").public_hex, ARRIVE)
    claim = builder.claim(parse_message(source), parse_message(destination), ARRIVE + 60)
    args = {
        "claim": claim.model_dump(mode="json"),
        "source": source,
        "destination": destination,
        "t": ARRIVE + 60,
    }
    trip = iut.call("verifier_cosign", args)["trip"]
    assert len(trip["verifier_sigs"]) == CONTEXT["quorum"]
    iut.validate(message=trip, with_pki=True)
    # Within the batch, the same claim is a replay (checked first, design D1).
    assert _code(iut, "verifier_cosign", args) == "IOME-REC-002"
    batch = iut.call("verifier_batch", {})["txs"]
    assert [tx["tx_id"] for tx in batch] == [source["tx_id"], destination["tx_id"], claim.tx_id]
    assert iut.call("verifier_batch", {}) == {"txs": []}
    _submit(iut, builder.block("verifiers", [parse_message(tx) for tx in batch], ARRIVE + 120))
    assert _code(iut, "verifier_cosign", args) == "IOME-REC-002"
    # The Trip's end is rounded up to the verifiers' bucket: publish it once that has passed.
    _submit(iut, builder.block("public", [parse_message(trip)], trip["end_time"]))
    period = {"period_start": T0, "period_end": T0 + 86_400}
    matrices = iut.call(
        "predictor_od", {"predictor": "predictor", "zones": ["st-b", "st-a"], **period}
    )["matrices"]
    assert [m["cells"] for m in matrices] == [[[0, 1, 1]]]
    _submit(iut, builder.block("public", [parse_message(m) for m in matrices], T0 + 86_400))
    assert iut.head("public")["height"] == 1


@pytest.mark.req("IOME-ANC-008")
def test_rejects_handover_of_a_chain_never_anchored(iut: IUT, builder: Builder) -> None:
    del builder
    args = {"backup": "fleet-backup", "chain": "fleet", "t": T0 + 10**6}
    assert _code(iut, "backup_handover", args) == "IOME-ANC-008"


@pytest.mark.req("IOME-ANC-007")
def test_rejects_handover_of_a_manager_not_silent(iut: IUT, builder: Builder) -> None:
    t = T0 + 600
    _submit(iut, builder.block("fleet", [builder.commitment(t=t)], t))
    anchor = iut.call("manager_anchor", {"manager": "fleet-manager", "chain": "fleet", "t": t})
    assert anchor["anchor"] is not None
    _submit(iut, builder.block("public", [parse_message(anchor["anchor"])], t))
    again = iut.call("manager_anchor", {"manager": "fleet-manager", "chain": "fleet", "t": t})
    assert again == {"anchor": None}  # the child chain did not grow
    args = {"backup": "fleet-backup", "chain": "fleet", "t": t + ANCHOR_PERIOD_S}
    assert _code(iut, "backup_handover", args) == "IOME-ANC-007"
    silent = t + HANDOVER_MISSED_PERIODS * ANCHOR_PERIOD_S
    handover = iut.call("backup_handover", {**args, "t": silent})["handover"]
    assert handover["new_manager_pk"] == WORLD.key("fleet-backup").public_hex
    _submit(iut, builder.block("public", [parse_message(handover)], silent))
    assert iut.get_tx("public", handover["tx_id"]) == {"tx": handover}


def test_rejects_from_the_batch_a_presence_lapsed_before_its_block(
    iut: IUT, builder: Builder
) -> None:
    """verifier_batch with a block_time judges the batch again at it: st-revoked's presence,
    signed and judged before its revocation, is left out with the claim naming it, so the
    consortium block holding the rest is accepted (IOME-CERT-021)."""
    depart = REVOKED_AT - 3_000
    source = builder.presence("source", "st-revoked", "otk-lapse-1", depart)
    destination = builder.presence("destination", "st-b", "otk-lapse-2", depart + 2_000)
    claim = builder.claim(source, destination, depart + 2_010)
    args = {
        "claim": claim.model_dump(mode="json"),
        "source": source.model_dump(mode="json"),
        "destination": destination.model_dump(mode="json"),
        "t": REVOKED_AT - 1,
    }
    assert iut.call("verifier_cosign", args)["trip"] is not None
    block_time = REVOKED_AT + 10
    batch = iut.call("verifier_batch", {"block_time": block_time})["txs"]
    assert [tx["tx_id"] for tx in batch] == [destination.tx_id]
    _submit(iut, builder.block("verifiers", [parse_message(tx) for tx in batch], block_time))
    whole = builder.block("verifiers", [source, destination, claim], block_time + 1)
    with pytest.raises(Refused) as refused:
        _submit(iut, whole)
    assert refused.value.req_id == "IOME-CERT-021"
