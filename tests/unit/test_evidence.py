"""Evidence bundles (spec/evidence.md): built by the reference, re-verified alone, and refused
with the id of whichever part was tampered with."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from evidence_world import EvidenceLedger, evidence_ledger
from helpers import rejects
from hypothesis import given
from hypothesis import strategies as st

from iome_ref.chain.bundles import _certified
from iome_ref.constants import ROLE_STATION, ZERO_HASH
from iome_ref.crypto import KeyPair
from iome_ref.models import Block
from iome_ref.models.evidence import EvidenceBundle
from iome_ref.pki import CertificateAuthority
from iome_ref.rules.evidence import EVB_ORDER, compute_fingerprint, verify_bundle
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import REVOKED_AT, T0

#: Every id of spec/evidence.md.
ALL_EVB = EVB_ORDER


@pytest.fixture(scope="module")
def ledger() -> EvidenceLedger:
    return evidence_ledger()


def _root(ledger: EvidenceLedger) -> x509.Certificate:
    return ledger.world.directory.root


def _verify(ledger: EvidenceLedger, bundle: dict[str, Any]) -> None:
    verify_bundle(bundle, _root(ledger))


def _flip_hex(text: str, position: int) -> str:
    """``text`` (lowercase hex) with one digit changed to another hex digit."""
    position %= len(text)
    digit = "0123456789abcdef"[(int(text[position], 16) + 1) % 16]
    return text[:position] + digit + text[position + 1 :]


def _pem_kind(pem: str) -> str:
    return pem.split("-----BEGIN ", 1)[1].split("-----", 1)[0]


def _flip_pem(pem: str, position: int) -> str:
    """A PEM certificate or CRL with one DER byte changed (never only base64 padding bits)."""
    kind = _pem_kind(pem)
    if kind == "CERTIFICATE":
        der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    else:
        der = x509.load_pem_x509_crl(pem.encode()).public_bytes(Encoding.DER)
    raw = bytearray(der)
    raw[position % len(raw)] ^= 0x01
    import base64  # noqa: PLC0415

    body = base64.encodebytes(bytes(raw)).decode().replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----\n"


# -- accepting ---------------------------------------------------------------------------------


@pytest.mark.req(
    "IOME-EVB-001",
    "IOME-EVB-002",
    "IOME-EVB-003",
    "IOME-EVB-004",
    "IOME-EVB-005",
    "IOME-EVB-006",
    "IOME-EVB-007",
    "IOME-EVB-008",
    "IOME-EVB-009",
    "IOME-EVB-010",
    "IOME-EVB-011",
)
@pytest.mark.parametrize(
    "name",
    ["commitment", "presence", "esdp", "session", "trip", "registration", "anchor", "revocation"],
)
def test_accepts_bundle_of_each_kind(ledger: EvidenceLedger, name: str) -> None:
    bundle = ledger.bundle(name)
    verified = verify_bundle(bundle, _root(ledger))
    chain, tx = ledger.txs[name]
    assert (verified.tx.tx_id, verified.bundle.chain) == (tx.tx_id, chain)
    # The bundle round-trips through JSON text, as a file carries it.
    _verify(ledger, json.loads(json.dumps(bundle)))


def test_accepts_session_revoked_after_acceptance(ledger: EvidenceLedger) -> None:
    """A later, backdated revocation of st-a is evidence on the chain (IOME-REV-003); the
    bundle keeps the list in force where the session stands, and still verifies."""
    codes = [row["code"] for row in ledger.iut.evidence()["evidence"]]
    assert "IOME-REV-003" in codes
    bundle = ledger.bundle("session")
    _verify(ledger, bundle)
    # ... and a relying party that carries the later list in it sees the revocation.
    _, revocation = ledger.txs["revocation"]
    later = x509.load_der_x509_crl(bytes.fromhex(revocation.crl)).public_bytes(Encoding.PEM)
    bundle["signers"][0]["crls"].append(later.decode())
    with rejects("IOME-EVB-010", match="^IOME-EVB-010: signers.0: IOME-CERT-003: "):
        _verify(ledger, bundle)


@pytest.mark.req("IOME-EVB-010")
@pytest.mark.parametrize("where", ["signers.0", "producer"])
def test_rejects_a_carried_list_that_is_no_crl_naming_where(
    ledger: EvidenceLedger, where: str
) -> None:
    """A signer's or the producer's list that does not load as a CRL (here a certificate) is
    refused as IOME-EVB-010, and the message names which list of the bundle it is."""
    bundle = ledger.bundle("presence")
    key = _get(bundle, where)
    assert key["crls"], "the bundle carries lists to replace"
    key["crls"][0] = key["certificates"][0]
    with rejects("IOME-EVB-010", match=f"^IOME-EVB-010: {where}.crls.0: "):
        _verify(ledger, bundle)


def test_accepts_bundle_schema_is_the_models() -> None:
    schema = EvidenceBundle.model_json_schema()
    assert set(schema["required"]) >= {"format", "trust_anchor", "tx", "signers", "inclusion"}


def test_absent_transaction_has_no_bundle(ledger: EvidenceLedger) -> None:
    _, tx = ledger.txs["presence"]
    assert ledger.iut.node.get_bundle("public", tx.tx_id) is None


# -- rejecting, one part at a time ---------------------------------------------------------------


Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    def edit(bundle: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = bundle
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        elif value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return edit


_DELETE = object()

#: (case, transaction, edit, the id it must be refused with)
_CASES: list[tuple[str, str, Edit, str]] = [
    ("missing member", "presence", _set("inclusion", _DELETE), "IOME-EVB-001"),
    ("extra member", "presence", _set("root", "-----BEGIN CERTIFICATE-----"), "IOME-EVB-001"),
    ("wrong format", "presence", _set("format", "iome-evidence/0"), "IOME-EVB-001"),
    ("index as text", "presence", _set("inclusion.index", "1"), "IOME-EVB-001"),
    ("huge index", "presence", _set("inclusion.index", 2**64), "IOME-EVB-001"),
    ("signers not a list", "trip", _set("signers", {}), "IOME-EVB-001"),
    ("other anchor named", "presence", _set("trust_anchor", "ab" * 32), "IOME-EVB-002"),
    ("tx edited", "session", _set("tx.energy_wh", 1), "IOME-EVB-003"),
    ("tx id edited", "session", _set("tx_id", "00" * 32), "IOME-EVB-003"),
    ("tx not a tx", "session", _set("tx", {"type": "Nothing"}), "IOME-EVB-003"),
    ("vehicle sig edited", "session", _set("tx.vehicle_sig", "00" * 64), "IOME-EVB-004"),
    ("quorum sig edited", "trip", _set("tx.verifier_sigs.1.signature", "11" * 64), "IOME-EVB-004"),
    ("signer dropped", "trip", _set("signers", []), "IOME-EVB-005"),
    ("signer role edited", "presence", _set("signers.0.role", "verifier"), "IOME-EVB-005"),
    ("anchor role edited", "anchor", _set("signers.0.role", "producer"), "IOME-EVB-005"),
    ("header time edited", "presence", _set("block.time", T0), "IOME-EVB-006"),
    ("header chain edited", "presence", _set("block.chain_id", "public"), "IOME-EVB-006"),
    ("bundle chain edited", "presence", _set("chain", "public"), "IOME-EVB-006"),
    ("index moved", "presence", _set("inclusion.index", 0), "IOME-EVB-007"),
    ("index past size", "presence", _set("inclusion.index", 3), "IOME-EVB-007"),
    ("sibling edited", "presence", _set("inclusion.path.0", "00" * 32), "IOME-EVB-007"),
    ("path dropped", "presence", _set("inclusion.path", []), "IOME-EVB-007"),
    ("producer role edited", "presence", _set("producer.role", "station"), "IOME-EVB-008"),
    ("producer signature edited", "presence", _set("block.signature", "22" * 64), "IOME-EVB-009"),
    ("crls dropped", "presence", _set("signers.0.crls", []), "IOME-EVB-010"),
    ("producer crls dropped", "presence", _set("producer.crls", []), "IOME-EVB-010"),
]


@pytest.mark.req(
    "IOME-EVB-001",
    "IOME-EVB-002",
    "IOME-EVB-003",
    "IOME-EVB-004",
    "IOME-EVB-005",
    "IOME-EVB-006",
    "IOME-EVB-007",
    "IOME-EVB-008",
    "IOME-EVB-009",
    "IOME-EVB-010",
)
@pytest.mark.parametrize(
    ("name", "edit", "expected"),
    [case[1:] for case in _CASES],
    ids=[case[0] for case in _CASES],
)
def test_rejects_each_part_edited(
    ledger: EvidenceLedger, name: str, edit: Edit, expected: str
) -> None:
    bundle = ledger.bundle(name)
    edit(bundle)
    with rejects(expected) as info:
        _verify(ledger, bundle)
    assert info.value.req_id in ALL_EVB


@pytest.mark.req("IOME-EVB-005")
def test_rejects_certificate_of_another_station(ledger: EvidenceLedger) -> None:
    bundle, other = ledger.bundle("presence"), ledger.bundle("session")
    bundle["signers"][0]["certificates"] = other["signers"][0]["certificates"]
    with rejects("IOME-EVB-005", match="IOME-CERT-006"):
        _verify(ledger, bundle)


@pytest.mark.req("IOME-EVB-008")
def test_rejects_producer_path_of_a_station(ledger: EvidenceLedger) -> None:
    bundle, other = ledger.bundle("presence"), ledger.bundle("session")
    bundle["producer"]["certificates"] = other["signers"][0]["certificates"]
    with rejects("IOME-EVB-008"):
        _verify(ledger, bundle)


@pytest.mark.req("IOME-EVB-002", "IOME-EVB-005")
def test_rejects_attackers_own_root(ledger: EvidenceLedger) -> None:
    """An attacker's CA of the same name: named in the bundle, it is not the root the relying
    party trusts (002); naming the real root's fingerprint, its paths do not reach it (005)."""
    rogue = CertificateAuthority(
        KeyPair.derive("attacker", 0, "ca").private, "iome-ca", T0, T0 + 10**8
    )
    station = KeyPair.derive("world", 0, "st-a")
    forged = rogue.issue("st-b", "station", station.public_hex, T0, T0 + 10**8)
    bundle = ledger.bundle("presence")
    bundle["signers"][0]["certificates"] = [forged.public_bytes(Encoding.PEM).decode()]
    _verify_with_root = copy.deepcopy(bundle)
    _verify_with_root["trust_anchor"] = compute_fingerprint(rogue.root)
    with rejects("IOME-EVB-002"):
        _verify(ledger, _verify_with_root)
    with rejects("IOME-EVB-005"):
        _verify(ledger, bundle)
    # And a relying party that is handed the attacker's root instead refuses on the name.
    with rejects("IOME-EVB-002"):
        verify_bundle(ledger.bundle("presence"), rogue.root)


# -- the signers at the block's time (IOME-EVB-011) --------------------------------------------


def _sealed_bundle(
    ledger: EvidenceLedger, station: str, claimed: int, block_time: int
) -> dict[str, Any]:
    """The bundle of a presence ``station`` signed at ``claimed``, in a block a certified
    producer sealed at ``block_time``, with the genesis lists, as the reference builds it; the
    chains refuse such a block once the station's path lapsed before it (IOME-CERT-021)."""
    world = ledger.world
    presence = Builder(world).presence("source", station, "ev-rogue/otk", claimed)
    block = Block.create(
        world.key("producer"),
        chain_id="verifiers",
        height=0,
        prev_hash=ZERO_HASH,
        time=block_time,
        txs=[presence],
    )
    bundle = ledger.bundle("presence")
    signer = _certified(world.directory, presence.station_pk, ROLE_STATION, claimed, station)
    bundle |= {
        "tx_id": presence.tx_id,
        "tx": presence.model_dump(mode="json"),
        "signers": [signer.model_dump(mode="json")],
        "block": block.model_dump(mode="json", exclude={"txs"}),
        "inclusion": {"index": 0, "size": 1, "path": []},
    }
    return bundle


@pytest.mark.req("IOME-EVB-011")
def test_accepts_signer_certified_at_both_times(ledger: EvidenceLedger) -> None:
    """st-revoked, revoked at REVOKED_AT, and st-ca-short, whose sub-CA expires then: a block
    before that instant holds their presences, and the bundle verifies."""
    for station in ("st-revoked", "st-ca-short"):
        bundle = _sealed_bundle(ledger, station, REVOKED_AT - 100, REVOKED_AT - 1)
        assert verify_bundle(bundle, _root(ledger)).tx.tx_id == bundle["tx_id"]


@pytest.mark.req("IOME-EVB-011")
@pytest.mark.parametrize(
    ("station", "broken"), [("st-revoked", "IOME-CERT-003"), ("st-ca-short", "IOME-CERT-002")]
)
def test_rejects_signer_lapsed_before_the_block(
    ledger: EvidenceLedger, station: str, broken: str
) -> None:
    """Signed before the lapse, sealed after it: valid at the claimed time with lists that
    verify (005, 010), refused at the block's time (011) naming what the path breaks there."""
    bundle = _sealed_bundle(ledger, station, REVOKED_AT - 100, REVOKED_AT + 10)
    at = REVOKED_AT + 10
    with rejects("IOME-EVB-011", match=f"^IOME-EVB-011: signers.0 at the block's time {at}: "):
        _verify(ledger, bundle)
    with rejects("IOME-EVB-011", match=broken):
        _verify(ledger, bundle)


@pytest.mark.req("IOME-EVB-011")
def test_rejects_signer_certified_at_the_block_only_for_another_subject(
    ledger: EvidenceLedger,
) -> None:
    """The signer's key also carries a live certificate naming another station: the path of
    the subject it signed for is revoked before the block, and the other subject's does not
    stand in for it (the subject is judged at the block's time as at the claimed one)."""
    bundle = _sealed_bundle(ledger, "st-revoked", REVOKED_AT - 100, REVOKED_AT + 10)
    signer = bundle["signers"][0]
    other = ledger.world.authorities["iome-sub-2"].issue(
        "st-other", ROLE_STATION, signer["public_key"], T0, REVOKED_AT + 1000
    )
    signer["certificates"].append(other.public_bytes(Encoding.PEM).decode())
    with rejects("IOME-EVB-011", match="IOME-CERT-003"):
        _verify(ledger, bundle)


# -- the tamper property -------------------------------------------------------------------


def _parts(bundle: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, expected id) of every part of ``bundle`` a tamper may hit."""
    parts: list[tuple[str, str]] = [("trust_anchor", "IOME-EVB-002"), ("tx_id", "IOME-EVB-003")]
    for field, value in bundle["tx"].items():
        if field in {"type", "tx_id"}:
            continue
        if field.endswith("sig") or field in {"signature", "station_pk_sig"}:
            parts.append((f"tx.{field}", "IOME-EVB-004"))
        elif field == "verifier_sigs":
            parts += [
                (f"tx.verifier_sigs.{i}.signature", "IOME-EVB-004") for i in range(len(value))
            ]
        elif isinstance(value, str) and all(c in "0123456789abcdef" for c in value) and value:
            parts.append((f"tx.{field}", "IOME-EVB-003"))
    for field in ("prev_hash", "merkle_root", "producer_pk", "block_hash"):
        parts.append((f"block.{field}", "IOME-EVB-006"))
    parts.append(("block.signature", "IOME-EVB-009"))
    parts += [
        (f"inclusion.path.{i}", "IOME-EVB-007") for i in range(len(bundle["inclusion"]["path"]))
    ]
    for i, signer in enumerate(bundle["signers"]):
        parts += [
            (f"signers.{i}.certificates.{j}", "IOME-EVB-005")
            for j in range(len(signer["certificates"]))
        ]
        parts += [(f"signers.{i}.crls.{j}", "IOME-EVB-010") for j in range(len(signer["crls"]))]
    producer = bundle["producer"]
    parts += [
        (f"producer.certificates.{j}", "IOME-EVB-008") for j in range(len(producer["certificates"]))
    ]
    parts += [(f"producer.crls.{j}", "IOME-EVB-010") for j in range(len(producer["crls"]))]
    return parts


def _get(bundle: dict[str, Any], path: str) -> Any:
    target: Any = bundle
    for part in path.split("."):
        target = target[int(part)] if isinstance(target, list) else target[part]
    return target


_NAMES = ["presence", "session", "trip", "registration", "anchor", "esdp"]


@pytest.mark.req(
    "IOME-EVB-001",
    "IOME-EVB-002",
    "IOME-EVB-003",
    "IOME-EVB-004",
    "IOME-EVB-005",
    "IOME-EVB-006",
    "IOME-EVB-007",
    "IOME-EVB-008",
    "IOME-EVB-009",
    "IOME-EVB-010",
)
@given(data=st.data(), name=st.sampled_from(_NAMES))
def test_rejects_any_tampered_part(data: st.DataObject, name: str) -> None:
    """Changing one byte of any part (a hex digit of a hash, key or signature; a DER byte of a
    certificate or revocation list; the index; a header number) refuses the bundle with the
    id of that part."""
    ledger = evidence_ledger()
    bundle = ledger.bundle(name)
    parts = [
        *_parts(bundle),
        ("inclusion.index", "IOME-EVB-007"),
        ("block.time", "IOME-EVB-006"),
        ("block.height", "IOME-EVB-006"),
    ]
    path, expected = data.draw(st.sampled_from(parts), label="part")
    position = data.draw(st.integers(0, 10**6), label="position")
    value = _get(bundle, path)
    if path == "inclusion.index":
        size = bundle["inclusion"]["size"]
        tampered: Any = data.draw(st.integers(0, size + 2).filter(lambda i: i != value))
    elif isinstance(value, int):
        tampered = value + data.draw(st.integers(1, 10**6))
    elif value.startswith("-----BEGIN"):
        tampered = _flip_pem(value, position)
    else:
        tampered = _flip_hex(value, position)
    _set(path, tampered)(bundle)
    with rejects(expected):
        _verify(ledger, bundle)
