"""Hostile input: whatever bytes arrive, the reference answers with a verdict.

h11's rule (``fuzz/afl-server.py``): any other exception escaping is a bug. Hypothesis mutates
valid vector inputs byte by byte and structurally, and feeds them to every entry point a peer
can reach: wire decoding, the vector runner and ``iome validate``'s document path.

A verdict is acceptance or ``Rejected``/``Malformed`` with a requirement id. ``UsageError`` is
no verdict: on protocol input it is a bug like any other (issue 12 §7). The one exception is a
vector case whose *harness* fields (context, setup, chain, block_time) are broken: that case
is a broken vector and ``UsageError("vectors")`` says so, unless it merely wraps an internal
error (a ``KeyError``, ``TypeError``, ... caught and re-raised), which fails the test too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from iome_ref.errors import Rejected, UsageError
from iome_ref.models import decode_message
from iome_ref.vectors.runner import validate_document
from iome_ref.vectors.spec_index import default_spec_dir

_INPUTS: list[bytes] = []
for _path in sorted((default_spec_dir() / "vectors").glob("*.json")):
    for _case in json.loads(Path(_path).read_text("utf-8"))["cases"]:
        if _case["input"] is not None and len(json.dumps(_case["input"])) < 20_000:
            _INPUTS.append(json.dumps(_case["input"]).encode())

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


_REQ_ID = re.compile(r"IOME-[A-Z]+-\d{3}")
#: Built-in errors that mean a bug when one is the cause of an error the reference raises.
_INTERNAL = (KeyError, TypeError, AttributeError, IndexError, ValueError, RecursionError)


def _wraps_internal_error(error: BaseException) -> bool:
    cause = error.__cause__ or error.__context__
    return isinstance(cause, _INTERNAL) and not isinstance(cause, Rejected | ValidationError)


def _accepts_or_refuses(data: bytes, *, harness_broken: bool = False) -> None:
    """Judge ``data`` at every entry point; only a verdict may come out.

    ``harness_broken``: ``data`` is a vector case whose harness fields were mutated, so
    ``UsageError("vectors")`` is a fair answer from the runner (module docstring).
    """
    for entry in (decode_message, validate_document):
        refusal: Rejected | None = None
        try:
            entry(data)
        except Rejected as error:
            refusal = error
        except UsageError as error:
            allowed = harness_broken and entry is validate_document and error.component == "vectors"
            if not allowed or _wraps_internal_error(error):
                raise AssertionError(f"{entry.__name__}: no verdict on protocol input") from error
        if refusal is not None:
            assert _REQ_ID.fullmatch(refusal.req_id), refusal


@given(st.sampled_from(_INPUTS), st.data())
def test_byte_mutations_raise_only_iome_errors(original: bytes, data: st.DataObject) -> None:
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(mutated) - 1))
        mutated[index] = data.draw(st.integers(0, 255))
    _accepts_or_refuses(bytes(mutated))


@given(st.sampled_from(_INPUTS), st.data())
def test_field_replacements_raise_only_iome_errors(original: bytes, data: st.DataObject) -> None:
    document: dict[str, Any] = json.loads(original)
    key = data.draw(st.sampled_from(sorted(document)))
    document[key] = data.draw(_JSON)
    _accepts_or_refuses(json.dumps(document).encode())


@given(st.binary(max_size=512))
def test_arbitrary_bytes_raise_only_iome_errors(blob: bytes) -> None:
    _accepts_or_refuses(blob)


@given(_JSON)
def test_arbitrary_json_raises_only_iome_errors(value: Any) -> None:
    _accepts_or_refuses(json.dumps(value).encode())


_VECTOR_FILE = json.loads((default_spec_dir() / "vectors" / "eps.json").read_text("utf-8"))


@given(st.sampled_from(_VECTOR_FILE["cases"]), st.data())
def test_case_envelope_mutations_raise_only_iome_errors(
    case: dict[str, Any], data: st.DataObject
) -> None:
    envelope: dict[str, Any] = {"context": _VECTOR_FILE["context"], **case}
    target = data.draw(
        st.sampled_from(["context", "setup", "chain", "block_time", "input", "quorum", "pki"])
    )
    if target in ("quorum", "pki"):
        envelope["context"] = {**envelope["context"], target: data.draw(_JSON)}
    else:
        envelope[target] = data.draw(_JSON)
    _accepts_or_refuses(json.dumps(envelope).encode(), harness_broken=target != "input")
