"""Signature checks of many transactions at once, in worker processes (issue 16).

Block application and trip extraction verify every signature of a batch before judging its
transactions one by one: :meth:`SignatureChecker.preverify` sends each transaction's signature
checks (key, signature, tag and payload as text) to worker processes, which run the strict
verifier (``iome_ref.crypto.verify``) and answer one bool per transaction. A transaction whose
signatures all verified is marked (``SignedModel.mark_signatures_verified``); the sequential
pass then skips only that check. Everything else stays where it was, in the order it was:
placement, field rules, certificates and the state rules (the reuse checks of presences and
one-time keys among them) run in the calling process, on the chain's one state.

Why this is safe:

- Deterministic. A worker's answer is a pure function of the text it was sent; answers come
  back in order (``Executor.map``); a mark only skips a check that would pass. Which worker
  did what, and when, changes nothing.
- No shared mutable state. Workers receive strings and return bools; they hold nothing
  between batches and see no chain state.
- Refusals are named by the sequential pass. A transaction with a bad signature is simply
  left unmarked: the chain then meets it in order and raises the id of its first broken rule,
  as without batching, so a block reports the same first failure either way.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from types import TracebackType
from typing import Final, Self

from iome_ref.crypto import verify
from iome_ref.errors import IoMEError, UsageError
from iome_ref.models import SignedModel
from iome_ref.rules.encoding import signature_checks

__all__ = ["SignatureChecker", "verify_groups"]

#: (public key hex, signature hex, tag, payload hex) of one signature.
Check = tuple[str, str, str, str]
#: Below this many transactions a batch is verified in the calling process: sending it to
#: workers would cost more than it saves.
MIN_PARALLEL_BATCH: Final = 16
#: Chunks per worker: several, so a slow chunk does not leave the other workers idle.
_CHUNKS_PER_WORKER: Final = 4


def verify_groups(groups: Sequence[Sequence[Check]]) -> list[bool]:
    """For each group (one transaction's checks), whether every signature in it verifies.

    Runs in the worker processes (and in the caller for small batches); never raises for a
    bad signature or malformed text: that transaction is simply reported False.
    """
    verdicts = []
    for checks in groups:
        try:
            for public_key, signature, tag, payload in checks:
                verify(public_key, signature, tag, payload)
        except IoMEError:
            verdicts.append(False)
        else:
            verdicts.append(True)
    return verdicts


class SignatureChecker:
    """Pre-verifies the signatures of batches of transactions on ``workers`` processes.

    With ``workers`` 0 every batch is verified in the calling process (still batched, the
    chain's pass skips the marked transactions). Use as a context manager, or call
    :meth:`close`: the worker processes live as long as the checker.
    """

    def __init__(self, workers: int = 0, *, min_parallel_batch: int = MIN_PARALLEL_BATCH) -> None:
        if workers < 0 or min_parallel_batch < 1:
            raise UsageError("parallel", "workers must be >= 0 and min_parallel_batch >= 1")
        self.workers = workers
        self.min_parallel_batch = min_parallel_batch
        self._executor: Executor | None = None
        if workers:
            # fork: workers start with the modules already imported, in milliseconds; they
            # run only verify_groups on the strings they are sent.
            self._executor = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("fork")
            )

    def preverify(self, txs: Iterable[SignedModel]) -> int:
        """Verify the signatures of ``txs`` and mark each transaction whose signatures all
        verify; return how many were marked. Refused ones are left for the caller's rules."""
        pending = [tx for tx in txs if not tx.signatures_verified]
        groups = [signature_checks(tx) for tx in pending]
        verdicts = self._verify(groups)
        for tx, ok in zip(pending, verdicts, strict=True):
            if ok:
                tx.mark_signatures_verified()
        return sum(verdicts)

    def _verify(self, groups: list[list[Check]]) -> list[bool]:
        if self._executor is None or len(groups) < self.min_parallel_batch:
            return verify_groups(groups)
        chunks = max(1, min(len(groups), self.workers * _CHUNKS_PER_WORKER))
        size = -(-len(groups) // chunks)
        parts = [groups[i : i + size] for i in range(0, len(groups), size)]
        return [ok for part in self._executor.map(verify_groups, parts) for ok in part]

    def close(self) -> None:
        """Stop the worker processes (idempotent)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
