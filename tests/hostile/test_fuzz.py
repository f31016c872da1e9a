"""Hostile input: whatever bytes arrive, the reference answers with an IoMEError or a verdict.

h11's rule (``fuzz/afl-server.py``): any other exception escaping is a bug. Hypothesis mutates
valid vector inputs byte by byte and structurally, and feeds them to every entry point a peer
can reach: wire decoding, the vector runner and ``iome validate``'s document path.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from iome_ref.errors import IoMEError
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


def _accepts_or_refuses(data: bytes) -> None:
    for entry in (decode_message, validate_document):
        with contextlib.suppress(IoMEError):
            entry(data)


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
    _accepts_or_refuses(json.dumps(envelope).encode())
