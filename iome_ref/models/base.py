"""Shared field types and the SignedModel base; the one place pydantic errors become ``Malformed``.

Each field type carries the requirement id its value errors break (``Req``), so a rejected
field is reported with the rule it violates rather than with pydantic's wording. Models hold
shape only: rules that relate fields to each other or to chain state live in ``iome_ref.rules``.
"""

from __future__ import annotations

import functools
import json.encoder
import reprlib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final, NamedTuple, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PrivateAttr,
    StringConstraints,
    ValidationError,
)
from pydantic_core import ErrorDetails, PydanticCustomError, core_schema

from iome_ref.constants import (
    DER_HEX_PATTERN,
    HASH_PATTERN,
    IDENTIFIER_PATTERN,
    MAX_LIST_LEN,
    MAX_SAFE_INT,
    SIGNATURE_PATTERN,
)
from iome_ref.crypto import KeyPair
from iome_ref.encoding import canonical_json, compute_hash, plain_canonical_text
from iome_ref.errors import Malformed
from iome_ref.requirements import enforces

__all__ = [
    "LIST_REQ",
    "BoundedList",
    "CrlHex",
    "EnergyWh",
    "Hash",
    "Identifier",
    "ListBound",
    "Micro",
    "ProtocolModel",
    "PublicKey",
    "Quantity",
    "Req",
    "Seconds",
    "SigSpec",
    "Signature",
    "SignedModel",
    "raise_malformed",
]


@dataclass(frozen=True)
class Req:
    """Requirement ids that a field's value errors break, by pydantic error type."""

    default: str
    #: (pydantic error type, requirement id) pairs; a tuple so the marker stays hashable.
    by_error: tuple[tuple[str, str], ...] = ()

    def for_error(self, error_type: str) -> str:
        return dict(self.by_error).get(error_type, self.default)


_INT_RANGE = Field(ge=-MAX_SAFE_INT, le=MAX_SAFE_INT)
Micro = Annotated[int, _INT_RANGE, Req("IOME-ENC-007")]
"""Signed integer micro-units of currency per kWh (prices may be negative, paper §IV)."""
Quantity = Annotated[
    int,
    Field(ge=0, le=MAX_SAFE_INT),
    Req("IOME-ENC-007", (("greater_than_equal", "IOME-ENC-012"),)),
]
"""Non-negative integer within the I-JSON safe range (IOME-ENC-007, IOME-ENC-012)."""
Seconds = Quantity
EnergyWh = Quantity
Hash = Annotated[str, StringConstraints(pattern=HASH_PATTERN), Req("IOME-ENC-006")]
PublicKey = Hash
Signature = Annotated[str, StringConstraints(pattern=SIGNATURE_PATTERN), Req("IOME-ENC-006")]
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN), Req("IOME-ENC-008")]
CrlHex = Annotated[str, StringConstraints(pattern=DER_HEX_PATTERN), Req("IOME-ENC-006")]
"""DER bytes of a revocation list as lowercase hex, an even number of digits (IOME-ENC-006);
its length is bounded by the message size (IOME-ENC-002)."""

_ENUM_REQ = Req("IOME-ENC-009")
LIST_REQ = Req("IOME-ENC-010")
"""The rule of a list's length: IOME-ENC-010."""


@dataclass(frozen=True)
class ListBound:
    """A list of at most ``max_length`` entries (IOME-ENC-010), checked in the order the
    reference reports: a list too long is IOME-ENC-010 whatever its entries, and otherwise the
    first bad entry is reported and validation of the list stops there (``fail_fast``).

    Reporting one error but building all of them made a hostile 1 MB O-D matrix cost ~100
    times its parse; with this the cost of a refusal is bounded by that of a valid list.
    """

    max_length: int

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = handler(source)
        if schema["type"] != "list":
            raise TypeError(f"ListBound applies to lists, not {schema['type']}")
        bounded = typing.cast(
            "core_schema.ListSchema",
            {**schema, "max_length": self.max_length, "fail_fast": True},
        )
        return core_schema.no_info_before_validator_function(self._check_length, bounded)

    def _check_length(self, value: Any) -> Any:
        if isinstance(value, list) and len(value) > self.max_length:
            raise PydanticCustomError(
                "too_long",
                "List should have at most {max_length} items after validation, not {actual}",
                {"max_length": self.max_length, "actual": len(value)},
            )
        return value


_T = TypeVar("_T")
BoundedList = Annotated[list[_T], ListBound(MAX_LIST_LEN), LIST_REQ]
"""A list field of at most MAX_LIST_LEN entries (IOME-ENC-010)."""


class SigSpec(NamedTuple):
    """One signature a model carries: which field holds it, which key signs, over what.

    ``payload`` names the field whose hex value is signed; almost always ``tx_id``, except the
    paper's second station signature of a Presence, which covers the one-time key alone.
    """

    field: str
    key_field: str
    tag: str
    payload: str = "tx_id"


class ProtocolModel(BaseModel):
    """Frozen, strict, closed: unknown fields and type coercion are refused (IOME-ENC-004/007)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    @classmethod
    def parse(cls, data: Any) -> Self:
        """Validate Python data into this model, mapping every error to ``Malformed``."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise_malformed(exc, cls)


class SignedModel(ProtocolModel):  # noqa: PLW1641 - pydantic gives each frozen model its __hash__
    """A transaction: canonical bytes, tx id and domain-separated signatures (DESIGN §2)."""

    #: Signatures this model carries; their fields and tx_id are outside the canonical bytes.
    SIGNATURES: ClassVar[tuple[SigSpec, ...]] = ()
    #: Fields besides SIGNATURES that are not signed (list-valued quorum signatures).
    EXTRA_UNSIGNED: ClassVar[frozenset[str]] = frozenset()
    #: The field holding the time the transaction claims (certificates are checked at it).
    TIME_FIELD: ClassVar[str] = "timestamp"

    tx_id: Hash = Field(description="SHA-256 of the canonical bytes (IOME-ENC-011).")

    #: Canonical bytes and their hash, computed on first use and carried with the object, so
    #: the layers a transaction passes (stateless rules, chain, verifier quorum, blocks) hash
    #: it once between them (issue 16). Sound because the model is frozen (and its lists are
    #: never changed in place: no code does, models are values); ``model_copy``
    #: drops them when an update touches a signed field.
    _canonical: bytes | None = PrivateAttr(default=None)
    _computed_tx_id: str | None = PrivateAttr(default=None)
    #: Set once every signature of this object verified (``rules.encoding.check_signatures``):
    #: a frozen object's signatures cannot stop verifying, so the consortium chain applying
    #: the presences and claim its verifiers already checked does not verify them again.
    #: Dropped by any ``model_copy`` update (signature fields are unsigned but verified).
    _signatures_verified: bool = PrivateAttr(default=False)
    #: Set by ``chain.parallel`` when a worker process ran the whole stateless pipeline
    #: (``rules.stateless.check_stateless``) on this object's content and it passed:
    #: ``(directory, quorum, anchor_role, certified keys)``. ``check_stateless`` with that very
    #: directory object, quorum and anchor role then returns the keys without judging again;
    #: with any other arguments the mark is ignored. Dropped by any ``model_copy`` update.
    _stateless_passed: tuple[Any, int, str, tuple[Any, ...]] | None = PrivateAttr(default=None)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Give each transaction class :func:`_init_carried` as its post-init hook.

        pydantic's own hook asks every private attribute for a (deep-copied) default on every
        validated instance, and runs twice for a subclass: a quarter of parsing a small
        transaction. The defaults here are immutable scalars (``_private_defaults`` checks),
        so one dict of them is all an instance needs. A transaction model therefore has no
        post-init hook of its own (it would be replaced here).
        """
        super().__pydantic_init_subclass__(**kwargs)
        cls.model_post_init = _init_carried  # type: ignore[assignment]

    def _carried(self) -> dict[str, Any]:
        """The private attributes' dict, read directly: ``self._x`` goes through pydantic's
        ``__getattr__``, which costs ~8 us a read, as much as the rest of a tx id."""
        return typing.cast("dict[str, Any]", self.__pydantic_private__)

    @classmethod
    def unsigned_fields(cls) -> frozenset[str]:
        """tx_id, the signature fields and EXTRA_UNSIGNED: outside the canonical bytes."""
        return _unsigned_fields_of(cls)

    def __eq__(self, other: object) -> bool:
        """Equal when of one type with equal fields; what a model carries (its cached
        canonical bytes) is no part of its identity."""
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; its carried canonical bytes and tx id survive only an update of unsigned
        fields (tx id, signatures), which the canonical bytes do not cover."""
        copied = super().model_copy(update=update, deep=deep)
        if update:
            carried = copied._carried()
            carried["_signatures_verified"] = False
            carried["_stateless_passed"] = None
            if not self.unsigned_fields().issuperset(update):
                carried["_canonical"] = None
                carried["_computed_tx_id"] = None
        return copied

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Self:
        """The model holding ``fields`` (this model's validated field values, e.g. another
        instance's ``__dict__`` sent to a worker process), built as unpickling builds it: no
        validation, nothing carried."""
        model = cls.__new__(cls)
        model.__setstate__(
            {
                "__dict__": fields,
                "__pydantic_extra__": None,
                "__pydantic_fields_set__": set(fields),
                "__pydantic_private__": dict(_private_defaults(cls)),
            }
        )
        return model

    def __getstate__(self) -> dict[Any, Any]:
        """Pickled without a stateless mark: it names a directory object of this process,
        which means nothing in another (worker processes are sent transactions pickled)."""
        state = super().__getstate__()
        private = state["__pydantic_private__"]
        if private and private.get("_stateless_passed") is not None:
            state["__pydantic_private__"] = {**private, "_stateless_passed": None}
        return state

    @property
    def signatures_verified(self) -> bool:
        """Whether every signature of this very object was verified already."""
        return bool(self._carried()["_signatures_verified"])

    def mark_signatures_verified(self) -> None:
        """Record that every signature verified; only ``check_signatures`` and the parallel
        pre-verification (which runs the same checks in worker processes) call this."""
        self._carried()["_signatures_verified"] = True

    def stateless_passed(
        self, directory: object, quorum: int, anchor_role: str
    ) -> list[Any] | None:
        """The certified keys, if the whole stateless pipeline passed on this object with these
        arguments (``mark_stateless_passed``); None when it must be judged."""
        mark = self._carried()["_stateless_passed"]
        if mark is None or mark[0] is not directory or mark[1:3] != (quorum, anchor_role):
            return None
        return list(mark[3])

    def mark_stateless_passed(
        self, directory: object, quorum: int, anchor_role: str, certified: tuple[Any, ...]
    ) -> None:
        """Record that ``check_stateless(self, directory, quorum=..., anchor_role=...)`` passed
        (in a worker process, on an equal copy) returning ``certified``; only
        ``chain.parallel`` calls this. Its signatures verified too, so that is marked."""
        carried = self._carried()
        carried["_stateless_passed"] = (directory, quorum, anchor_role, certified)
        carried["_signatures_verified"] = True

    @property
    def tx_type(self) -> str:
        """Every concrete model declares ``type``; read from the validated values (a chain asks
        several times per transaction, and ``getattr`` plus ``str`` cost five times as much)."""
        return typing.cast("str", self.__dict__["type"])

    @property
    def time(self) -> int:
        """The time this transaction claims, checked against certificates and blocks."""
        return typing.cast("int", self.__dict__[self.TIME_FIELD])

    def canonical_bytes(self) -> bytes:
        """RFC 8785 bytes of every field except tx_id and signatures (DESIGN §2)."""
        carried = self._carried()
        canonical: bytes | None = carried["_canonical"]
        if canonical is None:
            canonical = _canonical_writer_of(type(self))(self.__dict__)
            if canonical is None:
                canonical = canonical_json(
                    self.model_dump(mode="json", exclude=set(self.unsigned_fields()))
                )
            carried["_canonical"] = canonical
        return canonical

    def compute_tx_id(self) -> str:
        """SHA-256 of the canonical bytes: what ``tx_id`` must be (IOME-ENC-011)."""
        carried = self._carried()
        computed: str | None = carried["_computed_tx_id"]
        if computed is None:
            computed = compute_hash(self.canonical_bytes())
            carried["_computed_tx_id"] = computed
        return computed

    def signed_payload(self, spec: SigSpec) -> str:
        """The hex text ``spec``'s signature covers: the tx id, or the field it names."""
        return self.tx_id if spec.payload == "tx_id" else str(getattr(self, spec.payload))

    @classmethod
    def create(cls, signers: Mapping[str, KeyPair], **fields: Any) -> Self:
        """Build, hash and sign a transaction; ``signers`` maps signature field to key pair.

        Roles and the vector generator build every object through here, so the reference
        never hand-assembles a tx id.
        """
        placeholders: dict[str, Any] = {"tx_id": "0" * 64}
        placeholders.update({spec.field: "0" * 128 for spec in cls.SIGNATURES})
        draft = cls.parse({**fields, **placeholders})
        # The draft validated every field; the tx id and signatures filled in below are
        # well-formed hex by construction, and fields outside the canonical bytes, so they
        # are written into the draft (no other code has seen it) rather than into two
        # copies (a copy costs a fifth of a small transaction's creation).
        values = draft.__dict__
        values["tx_id"] = draft.compute_tx_id()
        for spec in cls.SIGNATURES:
            values[spec.field] = signers[spec.field].sign(spec.tag, draft.signed_payload(spec))
        return draft


@functools.cache
def _unsigned_fields_of(model: type[SignedModel]) -> frozenset[str]:
    return frozenset({"tx_id", *(spec.field for spec in model.SIGNATURES), *model.EXTRA_UNSIGNED})


def _init_carried(model: SignedModel, context: Any, /) -> None:
    """What pydantic's ``init_private_attributes`` does for a transaction: the private
    attributes at their defaults, unless already set (a copy or unpickling sets them)."""
    if getattr(model, "__pydantic_private__", None) is None:
        object.__setattr__(model, "__pydantic_private__", dict(_private_defaults(type(model))))


@functools.cache
def _private_defaults(model: type[SignedModel]) -> tuple[tuple[str, Any], ...]:
    """(name, default) of the model's private attributes; all are immutable scalars, so a
    fresh model may share them (what ``model_construct`` would deep-copy each time)."""
    defaults = tuple(
        (name, attr.get_default()) for name, attr in model.__private_attributes__.items()
    )
    if not all(value is None or type(value) is bool for _, value in defaults):
        raise TypeError(f"{model.__name__}: private defaults must be None or bool")
    return defaults


@functools.cache
def _canonical_writer_of(model: type[SignedModel]) -> _Writer:
    """``_member_writer`` of ``model``'s signed members, looked up by class (hashing the
    members on every call would cost a tenth of the writing)."""
    return _member_writer(_signed_members_of(model))


@functools.cache
def _signed_members_of(model: type[SignedModel]) -> tuple[str, ...]:
    """The names of the signed fields, in RFC 8785 member order (the names are ASCII, so
    code-point order is UTF-16 order)."""
    names = sorted(set(model.model_fields) - _unsigned_fields_of(model))
    if not all(name.isascii() and name.isidentifier() for name in names):
        raise TypeError(f"{model.__name__}: field names must be ASCII identifiers")
    return tuple(names)


#: The string writer of ``json``'s C encoder with ``ensure_ascii=False``: the one
#: ``encoding.canonical_json`` writes strings with.
_WRITE_STRING: Final = json.encoder.encode_basestring
#: Canonical bytes of a model's signed field values, or None to take the general path.
_Writer = Callable[[dict[str, Any]], bytes | None]


def _write_other(value: object) -> str | None:
    """A member value that is not text or a safe integer: None, a boolean, a plain list or
    dict (``plain_canonical_text``, ``canonical_json``'s own plain path), else None."""
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is list or type(value) is dict:
        return plain_canonical_text(value)
    return None


@functools.cache
def _member_writer(members: tuple[str, ...]) -> _Writer:
    """The writer of these members, generated once per tuple of members (per model): RFC 8785
    bytes of the members' values, written from the validated field values (no ``model_dump``,
    no dict built), or None when a value is not plain data (a nested model, non-ASCII text, an
    integer out of the safe range), which the caller then canonicalises through ``model_dump``
    and ``canonical_json``. Byte for byte what ``canonical_json(model_dump(mode="json",
    exclude=unsigned))`` writes (tests/unit/test_carried_ids.py: every vector and builder
    object, and a property over random values).

    Generated, as ``dataclasses`` generates ``__init__``, because a loop over the members
    costs as much again as the writing: one straight-line function reads each value, writes
    it (text through ``_WRITE_STRING``, anything else but a safe integer through
    ``_write_other``) and joins them in one f-string, which writes an ``int`` as
    ``int.__repr__`` does. Names are ASCII identifiers
    (``_signed_members_of`` checks it), so they are written into the source as they are.
    """
    lines = ["def write(values):"]
    for index, name in enumerate(members):
        lines += [
            f"    v = values[{name!r}]",
            "    if type(v) is str:",
            f"        p{index} = write_string(v)",
            "    elif type(v) is int and -max_safe <= v <= max_safe:",
            f"        p{index} = v",
            "    else:",
            f"        p{index} = write_other(v)",
            f"        if p{index} is None:",
            "            return None",
        ]
    body = ",".join(f'"{name}":{{p{index}}}' for index, name in enumerate(members))
    lines += [
        f"    text = f'{{{{{body}}}}}'",
        "    return text.encode() if text.isascii() else None",
    ]
    namespace: dict[str, Any] = {
        "write_string": _WRITE_STRING,
        "write_other": _write_other,
        "max_safe": MAX_SAFE_INT,
    }
    exec(compile("\n".join(lines), f"<canonical writer {len(members)}>", "exec"), namespace)
    return typing.cast("_Writer", namespace["write"])


def _unwrap(annotation: Any) -> tuple[Any, Req | None]:
    """Split an annotation into its bare type and its Req, looking through Annotated/Optional."""
    req: Req | None = None
    while True:
        if typing.get_origin(annotation) is Annotated:
            args = typing.get_args(annotation)
            req = next((m for m in args[1:] if isinstance(m, Req)), req)
            annotation = args[0]
        elif (
            isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union
        ):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation, req
            annotation = options[0]
        else:
            return annotation, req


def _union_members(annotation: Any) -> list[type]:
    """Model classes of a (possibly nested, possibly Annotated) union."""
    bare, _ = _unwrap(annotation)
    if isinstance(bare, type):
        return [bare]
    return [m for arg in typing.get_args(bare) for m in _union_members(arg)]


def _field_req(root: Any, loc: tuple[int | str, ...]) -> Req | None:
    """Walk ``loc`` through models, lists and tagged unions to the governing field's Req."""
    current: Any = root
    req: Req | None = None
    for step in loc:
        current, _ = _unwrap(current)
        if isinstance(step, int):
            args = typing.get_args(current)
            current = args[0] if args else None
            # An item type with its own rule (an identifier, a quantity) governs its errors;
            # otherwise the list's rule does.
            req = _unwrap(current)[1] or req
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(step)
            if info is None:
                return req
            meta = next((m for m in info.metadata if isinstance(m, Req)), None)
            current, inner = _unwrap(info.annotation)
            req = (
                meta
                or inner
                or (_ENUM_REQ if typing.get_origin(current) is typing.Literal else None)
            )
            continue
        # A tag of a discriminated union: the step names the member model.
        current = next((m for m in _union_members(current) if m.__name__ == step), None)
    return req


_STRUCTURAL = {
    "missing": "IOME-ENC-005",
    "extra_forbidden": "IOME-ENC-004",
    "union_tag_invalid": "IOME-ENC-003",
    "union_tag_not_found": "IOME-ENC-003",
    "too_long": "IOME-ENC-010",
    "literal_error": "IOME-ENC-009",
}


def _error_req(root: Any, error: ErrorDetails) -> str:
    structural = _STRUCTURAL.get(error["type"])
    if structural is not None:
        return structural
    req = _field_req(root, tuple(error["loc"]))
    if req is not None:
        return req.for_error(error["type"])
    if error["type"].startswith("int") or error["type"] in {
        "greater_than_equal",
        "less_than_equal",
    }:
        return "IOME-ENC-007"
    return "IOME-ENC-001"


def _short_repr() -> reprlib.Repr:
    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxdict = 2, 4, 4
    short.maxstring = short.maxother = 60
    return short


_SHORT_REPR = _short_repr()


@enforces(
    "IOME-ENC-003",
    "IOME-ENC-004",
    "IOME-ENC-005",
    "IOME-ENC-006",
    "IOME-ENC-007",
    "IOME-ENC-008",
    "IOME-ENC-009",
    "IOME-ENC-010",
    "IOME-ENC-012",
)
def raise_malformed(exc: ValidationError, root: Any) -> typing.NoReturn:
    """Re-raise pydantic's first error as ``Malformed`` with the id of the field's rule.

    Only the first error is reported: pydantic orders errors by field, so the verdict is
    deterministic, and one sentence per rejection is what the CLI and the harness print.
    """
    error = exc.errors(include_url=False)[0]
    req_id = _error_req(root, error)
    where = ".".join(str(part) for part in error["loc"]) or "message"
    # reprlib bounds the work: the input of a too-long list is the whole list.
    found = _SHORT_REPR.repr(error.get("input"))
    raise Malformed(req_id, f"{where}: {error['msg']}; found {found}") from None
