"""Properties of encoding, identity and the ledger, searched by Hypothesis.

Field lists come from the models themselves (``model_fields`` and the ``Req`` markers of
``iome_ref.models.base``), so a field added to a model is covered without touching this file.
The expected requirement ids come from the spec's table of field kinds (encoding.md, "Decoding a
message"), not from the ``Req`` markers, so a wrong marker is caught rather than copied.

The ledger machine wires rules to the IUT interface (the reference in process) and predicts
each verdict from a small model of the issuers' chains, the one-time keys and the presences
(STYLE §7).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import types
import typing
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import pytest
import rfc8785
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from samples import build_samples

import iome_ref.rules  # noqa: F401  (registers every enforcer in ENFORCERS)
from iome_ref.conformance.adapters.inproc import ReferenceIUT
from iome_ref.conformance.iut import Refused
from iome_ref.conformance.machines.base import genesis_of
from iome_ref.constants import (
    DER_HEX_PATTERN,
    HASH_PATTERN,
    IDENTIFIER_PATTERN,
    MAX_INT_DIGITS,
    MAX_SAFE_INT,
    SIGNATURE_PATTERN,
    ZERO_HASH,
)
from iome_ref.encoding import canonical_json
from iome_ref.errors import Malformed, Rejected
from iome_ref.models import (
    MESSAGE_TYPES,
    TRANSACTION_TYPES,
    Block,
    ChargeSession,
    Presence,
    RevocationList,
    SignedModel,
    Trip,
    decode_message,
)
from iome_ref.models.base import Req
from iome_ref.requirements import ENFORCERS
from iome_ref.rules import check_stateless
from iome_ref.rules.encoding import check_signatures, check_tx_id
from iome_ref.vectors.builders import Builder, sign_as
from iome_ref.vectors.world import T0, build_world

WORLD = build_world(17)
B = Builder(WORLD)

SAMPLES: dict[str, SignedModel] = build_samples(B)
BLOCK = B.block("public", [SAMPLES["ESDP"]], T0 + 5000)
#: What a forged revocation list breaks: its DER, its claimed time, or its CA's signature.
REVOCATION_IDS = {"IOME-REV-001", "IOME-REV-002", "IOME-CERT-008"}
SIG_IDS = {f"IOME-SIG-00{i}" for i in range(1, 9)}


# --- field kinds, derived from the models -----------------------------------------------


@dataclasses.dataclass(frozen=True)
class Kind:
    """The shape of one field or list item: what values it takes and which rule guards it."""

    base: str  # "int", "str", "literal", "list", "model" or "other"
    req: Req | None = None
    ge: int | None = None
    le: int | None = None
    pattern: str | None = None
    values: tuple[Any, ...] = ()
    item: Kind | None = None
    model: type[BaseModel] | None = None
    nullable: bool = False
    max_length: int | None = None


def describe(annotation: Any, metadata: Sequence[Any] = ()) -> Kind:
    """Read a field's annotation and metadata (through Annotated and Optional) into a Kind."""
    meta = list(metadata)
    nullable = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = typing.get_args(annotation)
            for item in extra:
                meta.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        elif origin is typing.Union or isinstance(annotation, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            nullable = len(options) < len(typing.get_args(annotation))
            if len(options) != 1:
                return Kind("other")
            annotation = options[0]
        else:
            break
    req = next((m for m in meta if isinstance(m, Req)), None)
    if origin is Literal:
        return Kind("literal", req, values=typing.get_args(annotation))
    if annotation is int:
        ge = next((m.ge for m in meta if hasattr(m, "ge")), None)
        le = next((m.le for m in meta if hasattr(m, "le")), None)
        return Kind("int", req, ge=ge, le=le, nullable=nullable)
    if annotation is str:
        pattern = next((m.pattern for m in meta if getattr(m, "pattern", None)), None)
        return Kind("str", req, pattern=pattern, nullable=nullable)
    if origin is list:
        bound = next((m.max_length for m in meta if getattr(m, "max_length", None)), None)
        return Kind("list", req, item=describe(typing.get_args(annotation)[0]), max_length=bound)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return Kind("model", req, model=annotation)
    return Kind("other", req)


def fields_of(model: type[BaseModel]) -> dict[str, Kind]:
    return {
        name: describe(info.annotation, info.metadata) for name, info in model.model_fields.items()
    }


Path = tuple[str | int, ...]


def leaves(
    model: type[BaseModel], sample: dict[str, Any], path: Path = ()
) -> list[tuple[Path, Kind, bool]]:
    """(path into the sample, kind, inside a list of scalars) for every scalar a message holds."""
    found: list[tuple[Path, Kind, bool]] = []
    for name, kind in fields_of(model).items():
        here = (*path, name)
        if kind.base == "list" and kind.item is not None:
            item, value, where = kind.item, sample[name], here
            while item.base == "list" and item.item is not None:  # a matrix: its first cell
                where, value, item = (*where, 0), value[0], item.item
            if item.base == "model" and item.model is not None:
                found += leaves(item.model, value[0], (*where, 0))
            elif item.base != "other":
                found.append(((*where, 0), item, True))
        elif kind.base == "model" and kind.model is not None:
            found += leaves(kind.model, sample[name], here)
        elif kind.base != "other" and name != "type":
            found.append((here, kind, False))
    return found


def _dump(name: str) -> dict[str, Any]:
    return (BLOCK if name == "Block" else SAMPLES[name]).model_dump(mode="json")


LEAVES = [
    (name, path, kind, in_list)
    for name, model in MESSAGE_TYPES.items()
    for path, kind, in_list in leaves(model, _dump(name))
]
FIELD_LEAVES = [leaf for leaf in LEAVES if not leaf[3]]
LIST_ITEM_LEAVES = [leaf for leaf in LEAVES if leaf[3]]


def _leaf_id(leaf: tuple[str, Path, Kind, bool]) -> str:
    return leaf[0] + "." + ".".join(map(str, leaf[1]))


def test_accepts_field_discovery_covers_every_field() -> None:
    """The derivation sees every kind of field, and each str field's Req agrees with its pattern."""
    kinds = {(kind.base, kind.ge) for _, _, kind, _ in LEAVES}
    assert {("int", 0), ("int", -MAX_SAFE_INT), ("str", None), ("literal", None)} <= kinds
    assert {_leaf_id(leaf) for leaf in LIST_ITEM_LEAVES} == {
        "IssuerRegistration.regions.0",
        "ODMatrix.origins.0",
        "ODMatrix.destinations.0",
        "ODMatrix.cells.0.0",
    }
    assert "Trip.verifier_sigs.0.verifier_pk" in {_leaf_id(leaf) for leaf in FIELD_LEAVES}
    expected = {
        HASH_PATTERN: "IOME-ENC-006",
        SIGNATURE_PATTERN: "IOME-ENC-006",
        DER_HEX_PATTERN: "IOME-ENC-006",
    }
    expected[IDENTIFIER_PATTERN] = "IOME-ENC-008"
    for _, _, kind, _ in LEAVES:
        if kind.base == "str":
            assert kind.req is not None
            assert kind.req.default == expected[str(kind.pattern)]
        if kind.base == "int":
            assert (kind.ge, kind.le) in {(0, MAX_SAFE_INT), (-MAX_SAFE_INT, MAX_SAFE_INT)}


# --- strategies ---------------------------------------------------------------------------

_HEX64 = st.binary(min_size=32, max_size=32).map(bytes.hex)
_HEX128 = st.binary(min_size=64, max_size=64).map(bytes.hex)
IDENTIFIERS = st.from_regex(r"[a-z0-9][a-z0-9-]{0,31}", fullmatch=True)


def valid_values(kind: Kind) -> st.SearchStrategy[Any]:
    """Values of a kind that decode (the rules relating fields may still refuse them)."""
    if kind.base == "int":
        inner: st.SearchStrategy[Any] = st.integers(kind.ge, kind.le)
    elif kind.base == "literal":
        inner = st.sampled_from(kind.values)
    elif kind.base == "str" and kind.pattern == HASH_PATTERN:
        inner = _HEX64
    elif kind.base == "str" and kind.pattern == SIGNATURE_PATTERN:
        inner = _HEX128
    elif kind.base == "str" and kind.pattern == IDENTIFIER_PATTERN:
        inner = IDENTIFIERS
    elif kind.base == "str" and kind.pattern == DER_HEX_PATTERN:
        inner = st.binary(min_size=1, max_size=64).map(bytes.hex)
    elif kind.base == "list" and kind.item is not None:
        inner = st.lists(valid_values(kind.item), max_size=min(4, kind.max_length or 4))
    else:
        raise AssertionError(f"no strategy for {kind}")
    return inner | st.none() if kind.nullable else inner


def _not_matching(pattern: str) -> st.SearchStrategy[Any]:
    compiled = re.compile(pattern)
    near_misses = (
        st.tuples(_HEX128, st.sampled_from(["upper", "short", "long", "newline", "prefix"])).map(
            lambda pair: {
                "upper": pair[0].upper(),
                "short": pair[0][:63],
                "long": pair[0][:64] + "0",
                "newline": pair[0][:64] + "\n",
                "prefix": "0x" + pair[0][:62],
            }[pair[1]]
        )
        | IDENTIFIERS.map(lambda s: s.upper() + "A")
        | IDENTIFIERS.map(lambda s: "-" + s)
        | IDENTIFIERS.map(lambda s: s + "\n")
        | st.text(alphabet="abc-", min_size=33, max_size=40)
    )
    strings = (st.text(max_size=70) | near_misses).filter(lambda s: not compiled.fullmatch(s))
    return strings | st.integers() | st.booleans() | st.lists(st.integers(), max_size=2)


def _lexical_first(value: Any, req_id: str) -> tuple[Any, str]:
    """An integer literal longer than MAX_INT_DIGITS digits is refused while decoding
    (IOME-ENC-007), before the field's own rule is consulted (encoding.md, "Lexical choices")."""
    items = value if isinstance(value, list) else [value]
    if any(type(v) is int and len(str(abs(v))) > MAX_INT_DIGITS for v in items):
        return value, "IOME-ENC-007"
    return value, req_id


def invalid_values(kind: Kind) -> st.SearchStrategy[tuple[Any, str]]:
    """(value, id the spec assigns it) for values a field of ``kind`` must refuse."""
    return _invalid_values(kind).map(lambda pair: _lexical_first(*pair))


def _invalid_values(kind: Kind) -> st.SearchStrategy[tuple[Any, str]]:
    if kind.base == "int":
        assert kind.ge is not None
        assert kind.le is not None
        below = "IOME-ENC-012" if kind.ge == 0 else "IOME-ENC-007"
        not_ints = (
            st.floats(allow_nan=False, allow_infinity=False)
            | st.booleans()
            | st.text(max_size=8)
            | st.none()
            | st.lists(st.integers(), max_size=2)
        )
        return st.one_of(
            st.integers(max_value=kind.ge - 1).map(lambda v: (v, below)),
            st.integers(min_value=kind.le + 1).map(lambda v: (v, "IOME-ENC-007")),
            not_ints.map(lambda v: (v, "IOME-ENC-007")),
        )
    if kind.base == "str":
        assert kind.pattern is not None
        req_id = "IOME-ENC-008" if kind.pattern == IDENTIFIER_PATTERN else "IOME-ENC-006"
        values = _not_matching(kind.pattern)
        if not kind.nullable:
            values |= st.none()
        return values.map(lambda v: (v, req_id))
    if kind.base == "literal":
        values = st.text(max_size=12).filter(lambda s: s not in kind.values) | st.none()
        return values.map(lambda v: (v, "IOME-ENC-009"))
    raise AssertionError(f"no invalid values for {kind}")


def _set(data: Any, path: Path, value: Any) -> None:
    for step in path[:-1]:
        data = data[step]
    data[path[-1]] = value


def _decode_with(name: str, path: Path, value: Any) -> Malformed:
    data = copy.deepcopy(_dump(name))
    _set(data, path, value)
    with pytest.raises(Malformed) as exc:
        decode_message(json.dumps(data))
    return exc.value


# --- canonical encoding round trips -------------------------------------------------------


def _assert_round_trip(model: SignedModel | Block) -> None:
    wire = canonical_json(model.model_dump(mode="json"))
    decoded = decode_message(wire)
    assert decoded == model
    # Canonical bytes are stable: re-encoding the decoded object gives the same bytes.
    assert canonical_json(decoded.model_dump(mode="json")) == wire
    assert rfc8785.dumps(json.loads(json.dumps(model.model_dump(mode="json"), indent=2))) == wire
    if isinstance(model, SignedModel):
        assert isinstance(decoded, SignedModel)
        assert decoded.canonical_bytes() == model.canonical_bytes()
        check_tx_id(decoded)


_KEY_NAMES = st.sampled_from(["home-1", "home-2", "grid-north", "st-a"])
_SAFE = st.integers(0, MAX_SAFE_INT)
_SIGNED = st.integers(-MAX_SAFE_INT, MAX_SAFE_INT)


@given(
    issuer=_KEY_NAMES,
    region=IDENTIFIERS,
    role=st.sampled_from(["bem", "distribution"]),
    ints=st.tuples(_SAFE, _SAFE, _SAFE, _SAFE, _SAFE),
)
@pytest.mark.req("IOME-ENC-011", "IOME-ENC-007", "IOME-ENC-008")
def test_accepts_esdp_round_trip(
    issuer: str, region: str, role: str, ints: tuple[int, int, int, int, int]
) -> None:
    start, end, supply, demand, t = ints
    _assert_round_trip(
        B.esdp(
            issuer,
            t,
            region=region,
            issuer_role=role,
            window_start=start,
            window_end=end,
            supply_wh=supply,
            demand_wh=demand,
        )
    )


@given(prev=_HEX64, price=_SIGNED, feed_in=_SIGNED, incentive=_SAFE, times=st.tuples(_SAFE, _SAFE))
@pytest.mark.req("IOME-ENC-011", "IOME-ENC-007")
def test_accepts_eps_with_signed_prices_round_trip(
    prev: str, price: int, feed_in: int, incentive: int, times: tuple[int, int]
) -> None:
    _assert_round_trip(
        B.eps(
            prev,
            t=times[0],
            expiry=times[1],
            price_micro_per_kwh=price,
            feed_in_micro_per_kwh=feed_in,
            incentive_micro_per_kwh=incentive,
        )
    )


@given(
    station=IDENTIFIERS,
    direction=st.sampled_from(["charge", "discharge"]),
    energy=_SAFE,
    price=_SIGNED,
    times=st.tuples(_SAFE, _SAFE),
)
@pytest.mark.req("IOME-ENC-011", "IOME-ENC-008", "IOME-ENC-009")
def test_accepts_charge_session_round_trip(
    station: str, direction: str, energy: int, price: int, times: tuple[int, int]
) -> None:
    session = B.charge(
        "st-a",
        start=times[0],
        end=times[1],
        station_id=station,
        direction=direction,
        energy_wh=energy,
        price_micro_per_kwh=price,
    )
    assert isinstance(session, ChargeSession)
    _assert_round_trip(session)


@given(st.sampled_from(sorted(TRANSACTION_TYPES)), st.data())
@pytest.mark.req("IOME-ENC-011")
def test_accepts_any_transaction_with_drawn_fields_round_trip(
    name: str, data: st.DataObject
) -> None:
    """Every field but the signers' keys drawn at random, then signed as the builders sign."""
    sample = SAMPLES[name]
    model = type(sample)
    keys = {spec.key_field for spec in model.SIGNATURES}
    fields = sample.model_dump(exclude=model.unsigned_fields())
    for field, kind in fields_of(model).items():
        if field in fields and field not in keys and field != "type":
            fields[field] = data.draw(valid_values(kind), label=field)
    if isinstance(sample, Trip):
        fields["verifier_sigs"] = [sig.model_dump() for sig in sample.verifier_sigs]
        built: SignedModel = Trip.create({}, **fields)
    else:
        built = sign_as(model, fields, *WORLD.known_keys())
    _assert_round_trip(built)
    if model is not Trip:
        check_signatures(built)


@given(txs=st.lists(st.sampled_from(sorted(SAMPLES)), max_size=6, unique=True), time=_SAFE)
@pytest.mark.req("IOME-ENC-011")
def test_accepts_block_round_trip(txs: list[str], time: int) -> None:
    block = Block.create(
        B.key("producer"),
        chain_id="public",
        height=3,
        prev_hash=ZERO_HASH,
        time=time,
        txs=[SAMPLES[name] for name in txs],
    )
    _assert_round_trip(block)


# --- mutations break identity -------------------------------------------------------------


def _check_identity(tx: SignedModel) -> None:
    """tx id, the declared signatures, and a Trip's quorum signatures; a RevocationList's
    signature is the CRL's own, so its identity is the CRL decoding and verifying."""
    check_tx_id(tx)
    check_signatures(tx)
    if isinstance(tx, RevocationList):
        check_stateless(tx, WORLD.directory)


def _signed_fields(name: str) -> list[str]:
    model = TRANSACTION_TYPES[name]
    return [f for f in model.model_fields if f not in model.unsigned_fields() and f != "type"]


@given(st.sampled_from(sorted(TRANSACTION_TYPES)), st.data())
@pytest.mark.req("IOME-ENC-011")
def test_rejects_any_single_field_mutation(name: str, data: st.DataObject) -> None:
    tx = SAMPLES[name]
    field = data.draw(st.sampled_from(_signed_fields(name)), label="field")
    current = getattr(tx, field)
    value = data.draw(
        valid_values(fields_of(type(tx))[field]).filter(lambda v: v != current), label="value"
    )
    mutated = tx.model_copy(update={field: value})
    with pytest.raises(Rejected) as exc:
        check_stateless(mutated)
    assert exc.value.req_id == "IOME-ENC-011"
    # A forger who recomputes the tx id gets a new id, which no signature covers.
    forged = mutated.model_copy(update={"tx_id": mutated.compute_tx_id()})
    assert forged.tx_id != tx.tx_id
    with pytest.raises(Rejected) as exc:
        _check_identity(forged)
    assert exc.value.req_id in SIG_IDS | REVOCATION_IDS


def _signature_slots(tx: SignedModel) -> list[str]:
    slots = [spec.field for spec in tx.SIGNATURES]
    if isinstance(tx, Trip):
        slots += [f"verifier_sigs.{i}" for i in range(len(tx.verifier_sigs))]
    return slots


_KEYS_BY_PK = {key.public_hex: key for key in WORLD.known_keys()}
_TAGS = sorted({spec.tag for model in TRANSACTION_TYPES.values() for spec in model.SIGNATURES})


def _other_signatures(tx: SignedModel, slot: str) -> st.SearchStrategy[str]:
    """Random bytes; the right key's signature under another type's tag (cross-type replay);
    or a valid signature from another slot or object."""
    spec = next(spec for spec in tx.SIGNATURES if spec.field == slot)
    key = _KEYS_BY_PK[getattr(tx, spec.key_field)]
    replayed = st.sampled_from([t for t in [*_TAGS, "Block", "Trip"] if t != spec.tag]).map(
        lambda tag: key.sign(tag, tx.tx_id)
    )
    borrowed = st.sampled_from(
        [
            getattr(other, other_spec.field)
            for other in SAMPLES.values()
            for other_spec in other.SIGNATURES
        ]
    )
    return _HEX128 | replayed | borrowed


#: Types that carry an IoME signature (a RevocationList's is inside its DER CRL).
SIGNED_TYPES = sorted(name for name, model in TRANSACTION_TYPES.items() if model.SIGNATURES)


@given(st.sampled_from(SIGNED_TYPES), st.data())
@pytest.mark.req("IOME-SIG-001")
def test_rejects_any_signature_mutation(name: str, data: st.DataObject) -> None:
    tx = SAMPLES[name]
    slot = data.draw(st.sampled_from(_signature_slots(tx)), label="slot")
    if isinstance(tx, Trip):
        index = int(slot.split(".")[1])
        old = tx.verifier_sigs[index]
        value = data.draw(_HEX128.filter(lambda v: v != old.signature), label="signature")
        sigs = list(tx.verifier_sigs)
        sigs[index] = old.model_copy(update={"signature": value})
        mutated: SignedModel = tx.model_copy(update={"verifier_sigs": sigs})
    else:
        current = getattr(tx, slot)
        value = data.draw(
            _other_signatures(tx, slot).filter(lambda v: v != current), label="signature"
        )
        mutated = tx.model_copy(update={slot: value})
    check_tx_id(mutated)  # signatures are outside the canonical bytes
    with pytest.raises(Rejected) as exc:
        _check_identity(mutated)
    assert exc.value.req_id in SIG_IDS


# --- every out-of-range value is refused with its id -----------------------------------------


@given(st.sampled_from(FIELD_LEAVES), st.data())
@pytest.mark.req("IOME-ENC-006", "IOME-ENC-007", "IOME-ENC-008", "IOME-ENC-009", "IOME-ENC-012")
def test_rejects_every_out_of_range_value_with_its_id(
    leaf: tuple[str, Path, Kind, bool], data: st.DataObject
) -> None:
    name, path, kind, _ = leaf
    value, req_id = data.draw(invalid_values(kind), label="value")
    assert _decode_with(name, path, value).req_id == req_id


@given(st.sampled_from(LIST_ITEM_LEAVES), st.data())
@pytest.mark.req("IOME-ENC-007", "IOME-ENC-008", "IOME-ENC-012")
def test_rejects_every_out_of_range_list_item_with_its_id(
    leaf: tuple[str, Path, Kind, bool], data: st.DataObject
) -> None:
    name, path, kind, _ = leaf
    value, req_id = data.draw(invalid_values(kind), label="value")
    assert _decode_with(name, path, value).req_id == req_id


@given(st.sampled_from(LEAVES), st.data())
@pytest.mark.req("IOME-ENC-006", "IOME-ENC-007", "IOME-ENC-008", "IOME-ENC-009")
def test_accepts_every_in_range_value(
    leaf: tuple[str, Path, Kind, bool], data: st.DataObject
) -> None:
    name, path, kind, _ = leaf
    value = data.draw(valid_values(kind), label="value")
    message = copy.deepcopy(_dump(name))
    _set(message, path, value)
    decoded = decode_message(json.dumps(message))
    assert decoded.model_dump(mode="json") == message


# --- the ledger machine -----------------------------------------------------------------------

_STATIONS = ("st-a", "st-b", "st-c")
_ISSUERS = ("grid-north", "grid-south")


class LedgerMachine(RuleBasedStateMachine):
    """Issuers extend and fork their EPS chains; stations attest one-time keys; vehicles claim.

    The model: each issuer's accepted chain, the accepted presences and the claimed ones. The
    node is reached through the IUT interface only (``ReferenceIUT``), so the machine reads no
    reference internals: what it checks is what any implementation answers.
    """

    def __init__(self) -> None:
        super().__init__()
        self.iut = ReferenceIUT()
        self.iut.reset(WORLD.seed, genesis_of(WORLD.seed), {})
        self.now = T0 + 10_000
        self.chains: dict[str, list[str]] = {}
        self.key_count = 0
        self.presences: list[Presence] = []
        self.claimed: set[str] = set()
        self.accepted: set[str] = set()
        #: (chain, tx id) of every accepted transaction.
        self.recorded: list[tuple[str, str]] = []

    # -- plumbing --

    def _tick(self, seconds: int = 1) -> int:
        self.now += seconds
        return self.now

    def _fresh_key(self) -> str:
        # Names repeat across examples (the counter restarts), so the world's key cache stays
        # bounded; each example has its own node, so a name is fresh within it.
        self.key_count += 1
        return f"ev-{self.key_count}/otk"

    def _submit(self, chain: str, txs: Sequence[SignedModel], expected: str | None) -> None:
        head = self.iut.head(chain)
        evidence = len(self.iut.evidence()["evidence"])
        block = Block.create(
            B.key("producer"),
            chain_id=chain,
            height=head["height"] + 1,
            prev_hash=head["block_hash"] or ZERO_HASH,
            time=self.now,
            txs=list(txs),
        )
        refusal: Refused | None = None
        try:
            self.iut.submit_block(chain, block.model_dump(mode="json"), None)
        except Refused as exc:
            refusal = exc
        if refusal is not None:
            event(f"refused {refusal.req_id}")
            assert refusal.req_id in ENFORCERS, refusal
            assert refusal.req_id == expected, refusal
            assert self.iut.head(chain) == head
            if expected == "IOME-EPS-005":
                assert len(self.iut.evidence()["evidence"]) == evidence + 1
            return
        event("accepted " + "+".join(tx.tx_type for tx in txs))
        assert expected is None, f"accepted, expected {expected}"
        assert self.iut.head(chain) == {"height": block.height, "block_hash": block.block_hash}
        self.accepted.update(tx.tx_id for tx in txs)
        self.recorded += [(chain, tx.tx_id) for tx in txs]

    # -- rules --

    @initialize()
    def register_issuers(self) -> None:
        regs = [B.registration(issuer, t=T0 + 60) for issuer in _ISSUERS]
        self._submit("public", regs, None)
        self.chains = {issuer: [reg.tx_id] for issuer, reg in zip(_ISSUERS, regs, strict=True)}

    @rule(seconds=st.integers(1, 2400))
    def wait(self, seconds: int) -> None:
        self._tick(seconds)

    @rule(issuer=st.sampled_from(_ISSUERS), price=st.integers(-(10**6), 10**6))
    def extend_eps(self, issuer: str, price: int) -> None:
        t = self._tick()
        eps = B.eps(self.chains[issuer][-1], issuer, t, price_micro_per_kwh=price)
        self._submit("public", [eps], None)
        self.chains[issuer].append(eps.tx_id)

    @precondition(lambda self: any(len(chain) > 1 for chain in self.chains.values()))
    @rule(data=st.data())
    def equivocate_eps(self, data: st.DataObject) -> None:
        issuer = data.draw(st.sampled_from([i for i in _ISSUERS if len(self.chains[i]) > 1]))
        prev = data.draw(st.sampled_from(self.chains[issuer][:-1]))
        t = self._tick()
        self._submit("public", [B.eps(prev, issuer, t, region="south")], "IOME-EPS-005")

    @rule(issuer=st.sampled_from(_ISSUERS), prev=_HEX64)
    def eps_off_chain(self, issuer: str, prev: str) -> None:
        t = self._tick()
        self._submit("public", [B.eps(prev, issuer, t)], "IOME-EPS-004")

    @rule(
        kind=st.sampled_from(["source", "destination"]),
        station=st.sampled_from(_STATIONS),
        data=st.data(),
    )
    def dock(self, kind: str, station: str, data: st.DataObject) -> None:
        reuse = bool(self.presences) and data.draw(st.booleans(), label="reuse key")
        t = self._tick()
        if reuse:
            old = data.draw(st.sampled_from(self.presences), label="key of")
            presence = B.presence(kind, station, "unused", t, one_time_pk=old.one_time_pk)
        else:
            presence = B.presence(kind, station, self._fresh_key(), t)
        self._submit("verifiers", [presence], "IOME-PRES-001" if reuse else None)
        if not reuse:
            self.presences.append(presence)

    @precondition(lambda self: bool(self.presences))
    @rule(data=st.data(), on_time=st.booleans())
    def claim(self, data: st.DataObject, on_time: bool) -> None:
        src = data.draw(st.sampled_from(self.presences), label="source")
        dst = data.draw(st.sampled_from(self.presences), label="destination")
        self._claim(src, dst, on_time)

    @rule(
        origin=st.sampled_from(_STATIONS),
        destination=st.sampled_from(_STATIONS),
        slack=st.integers(-200, 900),
        on_time=st.sampled_from([True, True, True, False]),
        twice=st.booleans(),
    )
    def travel(self, origin: str, destination: str, slack: int, on_time: bool, twice: bool) -> None:
        """A vehicle docks, drives (sometimes faster than the roads allow), docks and claims,
        sometimes claiming the same trip again later."""
        src = B.presence("source", origin, self._fresh_key(), self._tick())
        self._tick(max(1, WORLD.travel[origin, destination] + slack))
        dst = B.presence("destination", destination, self._fresh_key(), self.now)
        self._submit("verifiers", [src, dst], None)
        self.presences += [src, dst]
        self._claim(src, dst, on_time)
        if twice:
            self._claim(src, dst, on_time=True)

    @precondition(lambda self: bool(self.claimed))
    @rule(data=st.data())
    def claim_again(self, data: st.DataObject) -> None:
        """A presence already in a claim, paired with any presence, in a new claim."""
        used = [p for p in self.presences if p.tx_id in self.claimed]
        src = data.draw(st.sampled_from(used), label="claimed presence")
        dst = data.draw(st.sampled_from(self.presences), label="other presence")
        pair = data.draw(st.sampled_from([(src, dst), (dst, src)]), label="order")
        self._claim(*pair, on_time=True)

    def _claim(self, src: Presence, dst: Presence, on_time: bool) -> None:
        t = self._tick()
        claim = B.claim(src, dst, t if on_time else dst.t - 1)
        self._submit("verifiers", [claim], self._expected_claim(claim.tx_id, src, dst, on_time))
        if claim.tx_id in self.accepted:
            self.claimed |= {src.tx_id, dst.tx_id}

    def _expected_claim(
        self, tx_id: str, src: Presence, dst: Presence, on_time: bool
    ) -> str | None:
        """The verifier's checks in the spec's order (trips.md, "Verifying a claim")."""
        shortest = WORLD.travel.get((src.station_id, dst.station_id))
        checks = [
            ("IOME-REC-002", tx_id in self.accepted),
            ("IOME-CLAIM-001", src.kind != "source" or dst.kind != "destination"),
            ("IOME-CLAIM-002", src.one_time_pk == dst.one_time_pk),
            (
                "IOME-CLAIM-007",
                src.station_id == dst.station_id or src.station_pk == dst.station_pk,
            ),
            ("IOME-CLAIM-003", src.t >= dst.t),
            ("IOME-CLAIM-004", shortest is None or dst.t - src.t < shortest),
            ("IOME-CLAIM-006", not on_time),
            ("IOME-CLAIM-005", bool({src.tx_id, dst.tx_id} & self.claimed)),
        ]
        return next((req_id for req_id, broken in checks if broken), None)

    @rule(station=st.sampled_from(_STATIONS))
    def block_with_bad_second_tx(self, station: str) -> None:
        """A fresh docking then the same key docked again: the whole block goes."""
        t = self._tick()
        key = self._fresh_key()
        first = B.presence("source", station, key, t)
        second = B.presence("destination", station, key, t)
        self._submit("verifiers", [first, second], "IOME-PRES-001")

    # -- invariants --

    def _holds(self, chain: str, tx_id: str) -> bool:
        return self.iut.get_tx(chain, tx_id)["tx"] is not None

    @invariant()
    def accepted_transactions_are_recorded(self) -> None:
        """Every accepted transaction is on its chain: the issuers' EPS chains, presences and
        claims, asked of the node by tx id (``get_tx``)."""
        assert {tx_id for chain in self.chains.values() for tx_id in chain} <= self.accepted
        assert {p.tx_id for p in self.presences} <= self.accepted
        for chain, tx_id in self.recorded:
            assert self.iut.get_tx(chain, tx_id)["tx"] is not None, (chain, tx_id)

    def teardown(self) -> None:
        self.iut.close()


LedgerMachine.TestCase.settings = settings(stateful_step_count=25)


@pytest.mark.req(
    "IOME-EPS-004",
    "IOME-EPS-005",
    "IOME-PRES-001",
    "IOME-CLAIM-001",
    "IOME-CLAIM-003",
    "IOME-CLAIM-004",
    "IOME-CLAIM-005",
    "IOME-CLAIM-006",
)
class TestLedgerMachine(LedgerMachine.TestCase):  # type: ignore[misc,valid-type]
    """Runs the machine under the loaded Hypothesis profile."""
