"""The Ledger's edges: misuse named as usage, chains a node does not hold, anchors of the
first child block, the signature checker it is given, and evidence bundles of transactions
that stand after a handover or a revocation list, of a key certified for two subjects, or of a
key certified through a self-issued CA.

Found by mutation testing (tests/mutation/EQUIVALENT.md): each test here failed for a mutant
of chain/ledger.py or chain/bundles.py that the older tests let through.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from ledger_world import open_ledger, submit

from iome_ref.chain.bundles import build_bundle
from iome_ref.chain.ledger import Ledger
from iome_ref.chain.parallel import SignatureChecker
from iome_ref.chain.store import MemoryStore
from iome_ref.constants import ANCHOR_PERIOD_S, HANDOVER_MISSED_PERIODS, ROLE_STATION
from iome_ref.errors import UsageError
from iome_ref.models import SignedModel, parse_message
from iome_ref.pki import CertificateAuthority, CertificateDirectory, get_subject_id
from iome_ref.pki.authority import compute_subject_name, key_usage
from iome_ref.rules.evidence import verify_bundle
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import CERT_EXPIRY, T0, World, build_world

_SILENCE = HANDOVER_MISSED_PERIODS * ANCHOR_PERIOD_S


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(23)


@pytest.fixture
def b(world: World) -> Builder:
    return Builder(world)


def usage(action: Callable[[], object]) -> str:
    """Run ``action`` expecting a UsageError; return what the user reads."""
    with pytest.raises(UsageError) as exc:
        action()
    return str(exc.value)


# --- misuse ----------------------------------------------------------------------------------


def test_rejects_chain_the_node_does_not_keep_as_usage(world: World, b: Builder) -> None:
    ledger = open_ledger(world, MemoryStore(), ["public"])
    block = b.block("fleet", [b.commitment()], T0 + 100)
    expected = "store: this node keeps no chain 'fleet'"
    assert usage(lambda: ledger.submit(block)) == expected
    assert usage(lambda: ledger.judge_tx(b.commitment(), "fleet", T0 + 100)) == expected
    assert usage(lambda: build_bundle(ledger, "fleet", block.txs[0].tx_id)) == expected
    # Nothing was stored for the refused block.
    assert list(ledger.store.blocks("fleet")) == []


def test_rejects_unknown_or_conflicting_chain_kind_as_usage(world: World) -> None:
    ledger = open_ledger(world, MemoryStore(), ["public"])
    assert usage(lambda: ledger.add_chain("city", "private")) == (
        "store: unknown chain kind 'private'; expected one of ('child', 'consortium', 'public')"
    )
    assert usage(lambda: ledger.add_chain("public", "child")) == (
        "store: chain public is already a public chain"
    )
    # Declaring a chain again with its own kind is no error: the same state comes back.
    assert ledger.add_chain("public", "public") is ledger.chains["public"]


def test_rejects_store_whose_chain_kind_is_unknown_as_usage(world: World, b: Builder) -> None:
    store = MemoryStore()
    submit(open_ledger(world, store), b, "fleet", [b.commitment()], T0 + 700)
    store.set_meta("chain:fleet:kind", "private")
    assert usage(lambda: Ledger(store, world.context())) == (
        "store: chain fleet has unknown kind 'private'"
    )


def test_rejects_store_without_usable_genesis_as_usage(world: World) -> None:
    no_genesis = "store: the store records no genesis configuration"
    assert usage(lambda: Ledger.open(MemoryStore())) == no_genesis
    assert usage(lambda: Ledger.replay(MemoryStore())) == no_genesis
    store = MemoryStore()
    store.set_meta("genesis", '{"directory": ')
    message = usage(lambda: Ledger.open(store))
    assert message.startswith("store: the recorded genesis does not decode: IOME-ENC-")
    other = build_world(24)
    open_ledger(world, store := MemoryStore())
    assert usage(lambda: Ledger(store, other.context())) == (
        "store: the store was created under another genesis configuration"
    )


# --- reading ---------------------------------------------------------------------------------


def test_lists_transactions_of_one_type_in_chain_order(world: World, b: Builder) -> None:
    ledger = open_ledger(world, MemoryStore())
    esdps = [b.esdp("home-1"), b.esdp("home-2")]
    registration = b.registration()
    submit(ledger, b, "public", [esdps[0], registration], T0 + 5000)
    submit(ledger, b, "public", [esdps[1]], T0 + 6000)
    assert list(ledger.transactions("public", "ESDP")) == esdps
    assert list(ledger.transactions("public", "IssuerRegistration")) == [registration]
    assert list(ledger.transactions("public")) == [esdps[0], registration, esdps[1]]
    assert list(ledger.transactions("public", "Trip")) == []


# --- anchors ---------------------------------------------------------------------------------


@pytest.mark.req("IOME-ANC-005")
def test_accepts_anchor_of_a_child_chain_the_node_does_not_hold(world: World, b: Builder) -> None:
    """The public chain's verdict must not depend on which child chains a node holds."""
    full = open_ledger(world, MemoryStore())
    fleet = [submit(full, b, "fleet", [b.commitment(t=T0 + h)], T0 + 50 + h) for h in range(2)]
    anchor = b.anchor(1, fleet[0].block_hash, None, T0 + 1000)  # a false head hash
    public_only = open_ledger(world, MemoryStore(), ["public"])
    block = submit(public_only, b, "public", [anchor], T0 + 1100)
    full.submit(block)
    # Same verdict and state; only the node holding the fleet can tell the hash is false.
    assert public_only.evidence() == []
    assert [kind for kind, _ in full.evidence()] == ["IOME-ANC-005"]
    held = full.chains["public"].snapshot(with_evidence=False)
    assert public_only.chains["public"].snapshot(with_evidence=False) == held
    assert public_only.chains["public"].anchor_tips["fleet"].tx_id == anchor.tx_id


@pytest.mark.parametrize("child_first", [True, False], ids=["child-first", "anchor-first"])
@pytest.mark.req("IOME-ANC-005")
def test_records_false_anchor_of_the_first_child_block(
    world: World, b: Builder, child_first: bool
) -> None:
    """Height 0 is a block like any other: an anchor misstating it is evidence."""
    source = open_ledger(world, MemoryStore())
    fleet = [submit(source, b, "fleet", [b.commitment(t=T0 + h)], T0 + 50 + h) for h in range(2)]
    anchor = b.anchor(0, fleet[1].block_hash, None, T0 + 1000)
    public = submit(source, b, "public", [anchor], T0 + 1100)
    ledger = open_ledger(world, MemoryStore())
    for block in [*fleet, public] if child_first else [public, *fleet]:
        ledger.submit(block)
    ((kind, body),) = ledger.evidence()
    assert kind == "IOME-ANC-005"
    found = json.loads(body)
    assert parse_message(found["first"]) == anchor
    assert found["second"]["block_hash"] == fleet[0].block_hash


# --- the signature checker -------------------------------------------------------------------


class _CountingChecker(SignatureChecker):
    """A checker (verifying in this process) that records the transactions it is given."""

    def __init__(self) -> None:
        super().__init__(0)
        self.seen: list[str] = []

    def preverify(self, txs: Iterable[SignedModel]) -> int:
        txs = list(txs)
        self.seen.extend(tx.tx_id for tx in txs)
        return super().preverify(txs)


def test_verifies_signatures_of_submitted_and_reloaded_blocks_on_its_checker(
    world: World, b: Builder
) -> None:
    """A ledger given a SignatureChecker hands it every block it judges, submitted or reloaded
    from the store, so the signatures are verified as one batch on the checker's workers."""
    store = MemoryStore()
    live = _CountingChecker()
    ledger = Ledger(store, world.context(), signatures=live)
    ledger.add_chain("public", "public")
    esdps = [b.esdp("home-1"), b.esdp("home-2")]
    submit(ledger, b, "public", esdps, T0 + 5000)
    expected = [tx.tx_id for tx in esdps]
    assert live.seen == expected
    reloading = _CountingChecker()
    reopened = Ledger(store, world.context(), signatures=reloading)
    assert reloading.seen == expected
    assert reopened.chains["public"].snapshot() == ledger.chains["public"].snapshot()


# --- evidence bundles ------------------------------------------------------------------------


def _verified(ledger: Ledger, world: World, chain_id: str, tx: SignedModel) -> dict[str, Any]:
    """The bundle of ``tx`` as a file carries it, after checking it verifies."""
    bundle = build_bundle(ledger, chain_id, tx.tx_id)
    assert bundle is not None
    document = bundle.model_dump(mode="json")
    verified = verify_bundle(document, world.directory.root)
    assert verified.tx.tx_id == tx.tx_id
    return document


@pytest.mark.req("IOME-EVB-006", "IOME-ANC-001")
def test_accepts_bundle_of_anchor_by_backup_after_handover(world: World, b: Builder) -> None:
    """After a handover the backup manager anchors under its backup certificate: the bundle
    must carry that path, not look for a manager's certificate the backup does not hold."""
    ledger = open_ledger(world, MemoryStore())
    fleet = [submit(ledger, b, "fleet", [b.commitment(t=T0 + h)], T0 + 50 + h) for h in range(3)]
    first = b.anchor(1, fleet[1].block_hash, None, T0 + 1000)
    submit(ledger, b, "public", [first], T0 + 1100)
    handover = b.handover(first.tx_id, first.timestamp + _SILENCE)
    submit(ledger, b, "public", [handover], handover.timestamp + 10)
    t = handover.timestamp + 100
    second = b.anchor(2, fleet[2].block_hash, first.tx_id, t, manager="fleet-backup")
    submit(ledger, b, "public", [second], t + 10)
    for anchor, role in ((first, "manager"), (second, "backup")):
        (signer,) = _verified(ledger, world, "public", anchor)["signers"]
        assert (signer["public_key"], signer["role"]) == (anchor.manager_pk, role)


@pytest.mark.req("IOME-EVB-006", "IOME-REV-003")
def test_accepts_bundle_of_transaction_after_a_revocation_list(world: World, b: Builder) -> None:
    """A transaction after a RevocationList is judged under the list, and its bundle carries
    the list in force there (spec/evidence.md)."""
    ledger = open_ledger(world, MemoryStore())
    revocation = b.revocation_list({"st-c": T0 + 4000}, T0 + 8000)
    submit(ledger, b, "public", [revocation], T0 + 8100)
    session = b.charge("st-a", "ev-5/otk-1", T0 + 7200, T0 + 9000)
    submit(ledger, b, "public", [session], T0 + 9100)
    document = _verified(ledger, world, "public", session)
    (signer,) = document["signers"]
    in_force = x509.load_der_x509_crl(bytes.fromhex(revocation.crl)).public_bytes(Encoding.PEM)
    assert in_force.decode() in signer["crls"]


@pytest.mark.req("IOME-EVB-006")
def test_accepts_bundle_naming_the_certificate_of_the_subject_that_signed() -> None:
    """One key certified under two station ids: each session's bundle carries the certificate
    of the station id the session names, whichever comes first in the directory."""
    world = build_world(25)
    b = Builder(world)
    sub2 = world.authorities["iome-sub-2"]
    dual = b.key("st-dual").public_hex
    extra = [sub2.issue(name, ROLE_STATION, dual, T0, CERT_EXPIRY) for name in ("st-y", "st-z")]
    directory = world.directory
    world.directory = CertificateDirectory(
        directory.root, [*directory.certificates, *extra], directory.crls
    )
    ledger = open_ledger(world, MemoryStore(), ["public"])
    sessions = [
        b.charge(name, f"ev-{name}/otk", T0 + 7200, T0 + 9000, station_pk=dual)
        for name in ("st-y", "st-z")
    ]
    submit(ledger, b, "public", sessions, T0 + 9100)
    for session in sessions:
        document = _verified(ledger, world, "public", session)
        (signer,) = document["signers"]
        leaf = x509.load_pem_x509_certificate(signer["certificates"][0].encode())
        assert get_subject_id(leaf) == session.station_id


def _ca_extensions(
    ski: x509.SubjectKeyIdentifier, aki: x509.AuthorityKeyIdentifier
) -> list[tuple[x509.ExtensionType, bool]]:
    return [
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (key_usage(digital_signature=True, cert_sign=True, crl_sign=True), True),
        (ski, False),
        (aki, False),
    ]


@pytest.mark.req("IOME-EVB-010", "IOME-CERT-014")
def test_accepts_bundle_through_a_self_issued_ca_listing_its_list_once() -> None:
    """A CA of one name and key appears twice in a path when it certified itself (RFC 5280
    self-issued certificate; the key identifiers pick the long path). Both certificates share
    one revocation list: a bundle listing it twice would be refused as a list not newer than
    the one in force (IOME-CERT-019 inside IOME-EVB-010)."""
    world = build_world(27)
    b = Builder(world)
    root = world.authorities["iome-ca"]
    private = world.key("iome-sub-self").private
    public = private.public_key()
    name = compute_subject_name("iome-sub-self")
    until = CERT_EXPIRY + 1
    upper = CertificateAuthority.from_certificate(
        private,
        root.issue_custom(
            name,
            public,
            T0,
            until,
            _ca_extensions(
                x509.SubjectKeyIdentifier(b"\x01" * 20), root.authority_key_identifier()
            ),
        ),
    )
    lower = CertificateAuthority.from_certificate(
        private,
        upper.issue_custom(
            name,
            public,
            T0,
            until,
            _ca_extensions(
                x509.SubjectKeyIdentifier.from_public_key(public),
                upper.authority_key_identifier(),
            ),
        ),
    )
    leaf = lower.issue("st-q", ROLE_STATION, b.key("st-q").public_hex, T0, CERT_EXPIRY)
    directory = world.directory
    world.directory = CertificateDirectory(
        directory.root,
        [*directory.certificates, upper.certificate, lower.certificate, leaf],
        [*directory.crls, lower.crl(T0, until)],
    )
    ledger = open_ledger(world, MemoryStore(), ["public"])
    session = b.charge("st-q", "ev-q/otk", T0 + 7200, T0 + 9000)
    submit(ledger, b, "public", [session], T0 + 9100)
    document = _verified(ledger, world, "public", session)
    (signer,) = document["signers"]
    assert len(signer["certificates"]) == 3  # leaf, the self-issued and the upper certificate
    assert len(signer["crls"]) == len(set(signer["crls"])) == 2  # its CA's and the root's
