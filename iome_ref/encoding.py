"""Wire decoding and canonical bytes: the only place JSON text becomes Python data and back.

Canonical bytes are RFC 8785 (JCS) from a maintained library, never ``json.dumps(sort_keys=True)``,
which differs from JCS on number and string forms and would fork implementations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import rfc8785

from iome_ref.constants import MAX_MESSAGE_BYTES
from iome_ref.errors import Malformed
from iome_ref.requirements import enforces

__all__ = ["canonical_json", "check_message_size", "compute_hash", "decode_json_object"]


@enforces("IOME-ENC-002")
def check_message_size(data: bytes) -> None:
    """Refuse oversized input before parsing, so a hostile peer cannot make a node parse gigabytes.

    Raises:
        Malformed: IOME-ENC-002.
    """
    if len(data) > MAX_MESSAGE_BYTES:
        raise Malformed(
            "IOME-ENC-002", f"message is {len(data)} bytes, limit is {MAX_MESSAGE_BYTES}"
        )


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKeyError(key)
        seen[key] = value
    return seen


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_constant(name: str) -> Any:
    raise _NonFiniteError(name)


class _NonFiniteError(ValueError):
    pass


@enforces("IOME-ENC-001")
def decode_json_object(data: bytes | str) -> dict[str, Any]:
    """Decode one I-JSON object (RFC 7493): UTF-8, no duplicate names, no NaN or Infinity.

    Duplicate member names are refused because parsers disagree on which value wins, and two
    nodes reading one message differently is a fork.

    Raises:
        Malformed: IOME-ENC-002 when too large, IOME-ENC-001 otherwise.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    check_message_size(raw)
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except UnicodeDecodeError as exc:
        raise Malformed("IOME-ENC-001", f"message is not UTF-8 at byte {exc.start}") from None
    except _DuplicateKeyError as exc:
        raise Malformed("IOME-ENC-001", f"member name {exc.key!r} appears twice") from None
    except _NonFiniteError as exc:
        raise Malformed("IOME-ENC-001", f"non-finite number {exc} is not JSON") from None
    except json.JSONDecodeError as exc:
        raise Malformed(
            "IOME-ENC-001", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise Malformed("IOME-ENC-001", "JSON nesting is too deep") from None
    if not isinstance(value, dict):
        raise Malformed("IOME-ENC-001", f"expected a JSON object, found {type(value).__name__}")
    # Valid UTF-8 cannot spell a surrogate, so only a \u escape can yield one: text without
    # escapes, the usual message, skips the walk over every decoded string.
    if "\\u" in text and _has_lone_surrogate(value):
        raise Malformed("IOME-ENC-001", "a string holds a lone surrogate (RFC 7493 §2.1)")
    return value


def _has_lone_surrogate(value: Any) -> bool:
    """Whether any string in decoded JSON holds an escaped lone surrogate like ``"\\ud800"``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def canonical_json(value: Mapping[str, Any] | list[Any]) -> bytes:
    """RFC 8785 canonical bytes of already-validated JSON data.

    Models reject floats and out-of-range integers first, so the library's domain errors can
    only mean a bug; they still surface as Malformed, never as a bare ValueError.

    Raises:
        Malformed: IOME-ENC-007 if the data holds a number JCS cannot encode.
    """
    try:
        return bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError as exc:
        raise Malformed("IOME-ENC-007", f"value cannot be canonicalised: {exc}") from None


def compute_hash(data: bytes) -> str:
    """Lowercase hex SHA-256, the protocol's one hash (tx ids, block hashes, data commitments)."""
    return hashlib.sha256(data).hexdigest()
