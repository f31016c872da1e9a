"""Pydantic v2 models of every IoME message, and decoding of untrusted input into them."""

from __future__ import annotations

import typing
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from iome_ref.encoding import decode_json_object
from iome_ref.models.base import SignedModel, raise_malformed
from iome_ref.models.energy import EPS, ESDP, IssuerRegistration
from iome_ref.models.ledger import (
    Anchor,
    Block,
    DataCommitment,
    ExternalRecord,
    ManagerHandover,
    RevocationList,
    Transaction,
)
from iome_ref.models.mobility import (
    ChargeSession,
    ODMatrix,
    Presence,
    Trip,
    TripClaim,
    VerifierSignature,
)

__all__ = [
    "EPS",
    "ESDP",
    "MESSAGE_TYPES",
    "TRANSACTION_TYPES",
    "Anchor",
    "Block",
    "ChargeSession",
    "DataCommitment",
    "ExternalRecord",
    "IssuerRegistration",
    "ManagerHandover",
    "Message",
    "ODMatrix",
    "Presence",
    "RevocationList",
    "SignedModel",
    "Transaction",
    "Trip",
    "TripClaim",
    "VerifierSignature",
    "decode_message",
    "parse_message",
]

#: Transaction models by type name, read off the ``Transaction`` union so the two cannot drift.
TRANSACTION_TYPES: dict[str, type[SignedModel]] = {
    model.__name__: model for model in typing.get_args(typing.get_args(Transaction)[0])
}
MESSAGE_TYPES: dict[str, type[SignedModel] | type[Block]] = {**TRANSACTION_TYPES, "Block": Block}

Message = Annotated[Transaction | Block, Field(discriminator="type")]
_MESSAGE = TypeAdapter[Any](Message)


def parse_message(data: Any) -> SignedModel | Block:
    """Validate decoded JSON into a transaction or block, refusing anything else as Malformed."""
    try:
        result: SignedModel | Block = _MESSAGE.validate_python(data)
    except ValidationError as exc:
        raise_malformed(exc, Message)
    return result


def decode_message(data: bytes | str) -> SignedModel | Block:
    """Decode wire bytes (IOME-ENC-001/002) and validate them into a model."""
    return parse_message(decode_json_object(data))
