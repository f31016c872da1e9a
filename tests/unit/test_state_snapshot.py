"""ChainState's snapshot shows what the chain remembers, and a refused block leaves none of it.

The syncing-node tests compare snapshots of two nodes; they can only fail if a snapshot shows
the state. So: every field, by name, in its JSON form (sets sorted, named tuples as objects,
mapping keys kept, models dumped), evidence included unless left out on purpose. Found by
mutation testing (tests/mutation/EQUIVALENT.md): a snapshot of the constant ``null`` passed
every older test.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from ledger_world import open_ledger, submit

from iome_ref.chain.state import ChainState
from iome_ref.chain.store import MemoryStore
from iome_ref.errors import Rejected
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, World, build_world


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(29)


def _json(model: Any) -> Any:
    return model.model_dump(mode="json")


def _pairs(mapping: dict[str, Any]) -> list[list[Any]]:
    """A mapping of text keys as the snapshot shows it: [key, value] pairs in key order."""
    return [[key, mapping[key]] for key in sorted(mapping)]


def test_snapshot_shows_every_field_by_name_in_json_form(world: World) -> None:
    b = Builder(world)
    ledger = open_ledger(world, MemoryStore())
    fleet = [submit(ledger, b, "fleet", [b.commitment(t=T0 + h)], T0 + 50 + h) for h in range(2)]
    reg = b.registration()
    eps = b.eps(reg.tx_id, t=T0 + 900)
    anchor = b.anchor(1, fleet[0].block_hash, None, T0 + 1000)  # false: evidence
    charge = b.charge("st-a", "ev-2/otk-1", T0 + 200, T0 + 1000)
    submit(ledger, b, "public", [reg, eps, anchor, charge], T0 + 1100)
    presence = b.presence("source", "st-b", "ev-3/otk-1", T0 + 300)
    submit(ledger, b, "verifiers", [presence], T0 + 400)

    public = ledger.chains["public"]
    snap = json.loads(public.snapshot())
    assert set(snap) == {item.name for item in dataclasses.fields(ChainState)}
    assert (snap["chain_id"], snap["kind"]) == ("public", "public")
    assert snap["directory"] == public.directory.to_json()
    assert snap["blocks"] == [
        {**ref._asdict(), "header": _pairs(ref.header)} for ref in public.blocks
    ]
    assert snap["tx_ids"] == sorted(tx.tx_id for tx in (reg, eps, anchor, charge))
    assert snap["registrations"] == [[reg.issuer_pk, _json(reg)]]
    assert snap["successors"] == [[[eps.issuer_pk, reg.tx_id], _json(eps)]]
    assert snap["anchor_tips"] == [["fleet", public.anchor_tips["fleet"]._asdict()]]
    assert snap["anchor_successors"] == [[["fleet", None], _json(anchor)]]
    assert snap["anchors_at"] == [[["fleet", 1], _json(anchor)]]
    assert snap["offices"] == [["fleet", {"manager_pk": anchor.manager_pk, "role": "manager"}]]
    assert snap["charge_keys"] == [charge.one_time_pk]
    assert snap["certified_uses"] == [use._asdict() for use in public.certified_uses]
    assert {anchor.tx_id, charge.tx_id} <= {use["tx_id"] for use in snap["certified_uses"]}
    (evidence,) = public.evidence
    assert snap["evidence"] == [
        {
            "req_id": "IOME-ANC-005",
            "first": _pairs(evidence.first),
            "second": _pairs(evidence.second),
        }
    ]
    # Evidence outlives refused blocks, so comparing state alone leaves it out, and only it.
    without = json.loads(public.snapshot(with_evidence=False))
    assert without == {name: value for name, value in snap.items() if name != "evidence"}

    verifiers = json.loads(ledger.chains["verifiers"].snapshot())
    assert verifiers["presences"] == [[presence.tx_id, _json(presence)]]
    assert verifiers["presence_keys"] == [presence.one_time_pk]
    assert verifiers["evidence"] == []


@pytest.mark.req("IOME-ESDP-001", "IOME-CERT-003")
def test_rejects_block_with_a_list_and_a_bad_tx_leaving_the_directory_as_it_was(
    world: World,
) -> None:
    """A RevocationList replaces the chain's directory; when a later transaction of the same
    block is refused, the list must not stay in force."""
    b = Builder(world)
    ledger = open_ledger(world, MemoryStore())
    submit(ledger, b, "public", [b.esdp()], T0 + 5000)
    public = ledger.chains["public"]
    before = public.snapshot()
    revocation = b.revocation_list({"st-c": T0 + 4000}, T0 + 8000)
    with pytest.raises(Rejected) as exc:
        submit(ledger, b, "public", [revocation, b.esdp("home-8", window_end=0)], T0 + 8100)
    assert exc.value.req_id == "IOME-ESDP-001"
    assert public.snapshot() == before
    # st-c is not revoked on this chain: its session is accepted ...
    submit(ledger, b, "public", [b.charge("st-c", "ev-4/otk-1", T0 + 7200, T0 + 9000)], T0 + 9100)
    # ... and once the list is in force, the next one is refused.
    submit(ledger, b, "public", [revocation], T0 + 9200)
    with pytest.raises(Rejected) as exc:
        submit(
            ledger, b, "public", [b.charge("st-c", "ev-4/otk-2", T0 + 7200, T0 + 9000)], T0 + 9300
        )
    assert exc.value.req_id == "IOME-CERT-003"
