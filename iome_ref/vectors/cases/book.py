"""CaseBook: collects the cases of one vector file in the format of spec/vectors/README.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from iome_ref.models import Block, SignedModel
from iome_ref.vectors.world import T0

__all__ = ["BLOCK_TIME", "CaseBook"]

#: Default time of the block a transaction case is judged in: after every builder default.
BLOCK_TIME = T0 + 100_000


def _dump(obj: SignedModel | Block | dict[str, Any]) -> dict[str, Any]:
    return obj if isinstance(obj, dict) else obj.model_dump(mode="json")


@dataclass
class CaseBook:
    """The cases of one vector file; ids are ``<file>-<nnn>-<slug>`` in insertion order.

    ``chain`` and ``setup`` are what a case is judged on unless it says otherwise: a file whose
    cases share them (presences on the verifiers' chain, O-D matrices after the same trips)
    states them once.
    """

    name: str
    chain: str = "public"
    setup: Sequence[Block] = ()
    cases: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        slug: str,
        comment: str,
        *,
        expected: str,
        req_id: str | None = None,
        obj: SignedModel | Block | dict[str, Any] | None = None,
        text: str | None = None,
        setup: Sequence[Block] | None = None,
        chain: str | None = None,
        block_time: int = BLOCK_TIME,
        flags: Sequence[str] = (),
        evidence: Sequence[str] = (),
        stored: Sequence[dict[str, Any]] = (),
        pad: int = 0,
        pki: dict[str, Any] | None = None,
    ) -> None:
        blocks = self.setup if setup is None else setup
        # "pki" appears only in cases that replace the file's PKI (spec/vectors/README.md).
        extra = {} if pki is None else {"pki": pki}
        self.cases.append(
            {
                "id": f"{self.name}-{len(self.cases) + 1:03d}-{slug}",
                "comment": comment,
                "flags": sorted(flags),
                "setup": [block.model_dump(mode="json") for block in blocks],
                "chain": self.chain if chain is None else chain,
                "block_time": block_time,
                "input": None if obj is None else _dump(obj),
                "input_text": text,
                "pad": pad,
                "expected": expected,
                "req_id": req_id,
                "evidence": list(evidence),
                "stored": list(stored),
                **extra,
            }
        )

    def valid(self, slug: str, comment: str, obj: Any = None, **kw: Any) -> None:
        self.add(slug, comment, expected="valid", obj=obj, **kw)

    def invalid(self, slug: str, req_id: str, comment: str, obj: Any = None, **kw: Any) -> None:
        self.add(slug, comment, expected="invalid", req_id=req_id, obj=obj, **kw)
