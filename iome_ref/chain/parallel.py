"""The stateless checks of many transactions at once, in worker processes (issue 16).

Block application and trip extraction judge a batch in two parts. The stateless pipeline of
every transaction (``rules.stateless.check_stateless``: tx id, field rules, certificates,
signatures) depends on the transaction and the certificates in force only, so
:meth:`SignatureChecker.prevalidate` sends it to worker processes, chunk by chunk, and
yields the transactions back in input order as their chunks come back; one that passed is
marked (``SignedModel.mark_stateless_passed``: the directory object, quorum and anchor role it
passed with, and the certified keys). The caller's sequential pass then applies each yielded
transaction as before: placement, the stateless pipeline (skipped for a transaction marked
with the very arguments it is judged with, so a revocation list or a handover earlier in the
batch sends the later transactions through the full pipeline again), then the state rules,
the reuse checks of presences and one-time keys among them, on the chain's one state. The
workers go on with later chunks meanwhile. :meth:`SignatureChecker.map_ordered` runs any other
pure per-chunk function the same way (the verifiers' Trip proposals, ``roles.verifier``).

Why this is safe:

- Deterministic. A worker's answer is a pure function of what it was sent (the transaction's
  fields, the directory's PEM text, quorum and anchor role); answers are read in input order
  (chunk ``i`` goes to worker ``i % n``); a mark only skips a pipeline that passed on equal
  content with equal arguments. Which worker did what, and when, changes nothing.
- No shared mutable state. Workers receive plain data and return plain data; they see no
  chain state. Each keeps the directory it rebuilt from the PEM text of the last batches
  (keyed by the text's SHA-256), a cache of a pure function of what it is sent.
- Refusals are named by the sequential pass. A transaction the pipeline refuses is left
  unmarked: the chain then meets it in order and raises the id of its first broken rule, as
  without workers, so a batch reports the same first failure either way.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Final, NamedTuple, Self, TypeVar

from iome_ref.crypto import verify
from iome_ref.errors import IoMEError, UsageError
from iome_ref.models import SignedModel
from iome_ref.pki import CertificateDirectory
from iome_ref.rules.certificates import Certified
from iome_ref.rules.encoding import signature_checks
from iome_ref.rules.stateless import check_stateless

__all__ = [
    "DirectoryText",
    "Sent",
    "SignatureChecker",
    "StatelessJob",
    "as_rebuilt",
    "as_sent",
    "directory_from_text",
    "judge_stateless",
    "verify_groups",
]

#: (public key hex, signature hex, tag, payload hex) of one signature.
Check = tuple[str, str, str, str]
#: Below this many transactions a batch is checked in the calling process: sending it to
#: workers would cost more than it saves.
MIN_PARALLEL_BATCH: Final = 16
#: Chunks per worker: two, so the caller's sequential pass starts on the first chunk while the
#: others are judged. Not more: every chunk adds to the calling process's CPU per claim (4 per
#: worker cost ~13% more than 2, measured), and that serial part is what bounds the scaling.
_CHUNKS_PER_WORKER: Final = 2
#: Directories a worker keeps rebuilt (one per revocation list in force, the latest few).
_DIRECTORIES_KEPT: Final = 4
_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


class DirectoryText(NamedTuple):
    """A certificate directory as the text a worker rebuilds it from (``to_json``), and that
    text's SHA-256, by which workers keep the rebuilt directory."""

    fingerprint: str
    text: str

    @classmethod
    def of(cls, directory: CertificateDirectory) -> Self:
        text = json.dumps(directory.to_json(), sort_keys=True)
        return cls(hashlib.sha256(text.encode()).hexdigest(), text)


_rebuilt: dict[str, CertificateDirectory] = {}


def directory_from_text(sent: DirectoryText) -> CertificateDirectory:
    """The directory ``sent`` describes, rebuilt once per worker (the latest few kept)."""
    directory = _rebuilt.get(sent.fingerprint)
    if directory is None:
        directory = CertificateDirectory.from_json(json.loads(sent.text))
        while len(_rebuilt) >= _DIRECTORIES_KEPT:
            del _rebuilt[next(iter(_rebuilt))]
        _rebuilt[sent.fingerprint] = directory
    return directory


class StatelessJob(NamedTuple):
    """What a worker needs to run the stateless pipeline: the arguments of ``check_stateless``
    (the directory as text)."""

    directory: DirectoryText
    quorum: int
    anchor_role: str


#: A transaction as sent to a worker: its class and its (validated) field values.
Sent = tuple[type[SignedModel], dict[str, Any]]


def as_sent(tx: SignedModel) -> Sent:
    """A transaction as plain data for a worker: its class and its field values (pickled by
    the C pickler as a dict, ~5 times cheaper than pickling the model). Nothing it carries
    travels: a worker computes its own tx id; models are frozen, so the dict is not copied."""
    return type(tx), tx.__dict__


def as_rebuilt(sent: Sent) -> SignedModel:
    """The worker's equal copy of a sent transaction, rebuilt as unpickling rebuilds a model
    (no validation: the fields were validated by the sender's parse)."""
    model, fields = sent
    return model.from_fields(fields)


def judge_stateless(
    tx: SignedModel, directory: CertificateDirectory, job: StatelessJob
) -> tuple[Certified, ...] | None:
    """``check_stateless`` of ``tx`` with the job's arguments: the certified keys if it passed,
    None if any rule refused it (the sequential pass names which)."""
    try:
        return tuple(check_stateless(tx, directory, quorum=job.quorum, anchor_role=job.anchor_role))
    except IoMEError:
        return None


def _judge_chunk(job: StatelessJob, sent: Sequence[Sent]) -> list[tuple[Certified, ...] | None]:
    """Worker side of :meth:`SignatureChecker.prevalidate`."""
    directory = directory_from_text(job.directory)
    return [judge_stateless(as_rebuilt(item), directory, job) for item in sent]


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


class _Workers:
    """``count`` forked processes, each answering one chunk at a time over its own pipe.

    Why not ``concurrent.futures.ProcessPoolExecutor``: its feeder and manager threads pickle
    and unpickle in the calling process beside the thread applying the results, and cost it
    about as much CPU as that thread's own work per claim (measured), which is the serial part
    that bounds the scaling. Here the calling thread sends and receives itself, and each
    worker holds at most one chunk: chunk ``i`` goes to worker ``i % count``, and its next
    chunk is sent as soon as its answer is read, before that answer is applied.
    """

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("fork")
        self._pipes: list[Connection] = []
        self._processes: list[BaseProcess] = []
        #: Chunks sent and not yet answered, per worker (drained before new work).
        self._outstanding = [0] * count
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs,), daemon=True)
            process.start()
            theirs.close()
            self._pipes.append(ours)
            self._processes.append(process)

    def map(
        self, function: Callable[[Any, Any], list[Any]], context: object, parts: Sequence[Any]
    ) -> Iterator[list[Any]]:
        """``function(context, part)`` of every part, in order, as each answer arrives."""
        self._drain()
        count = len(self._pipes)
        for index in range(min(count, len(parts))):
            self._send(index % count, (function, context, parts[index]))
        for index in range(len(parts)):
            worker = index % count
            ok, answer = self._receive(worker)
            following = index + count
            if following < len(parts):
                self._send(worker, (function, context, parts[following]))
            if not ok:
                raise answer
            yield answer

    def _send(self, worker: int, message: object) -> None:
        self._pipes[worker].send(message)
        self._outstanding[worker] += 1

    def _receive(self, worker: int) -> tuple[bool, Any]:
        answer: tuple[bool, Any] = self._pipes[worker].recv()
        self._outstanding[worker] -= 1
        return answer

    def _drain(self) -> None:
        """Read and drop the answers of a batch its caller stopped reading (a refusal)."""
        for worker, pending in enumerate(self._outstanding):
            for _ in range(pending):
                self._receive(worker)

    def close(self) -> None:
        for pipe in self._pipes:
            try:
                self._drain()
                pipe.send(None)
            except (OSError, EOFError):
                pass
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        for pipe in self._pipes:
            pipe.close()
        self._pipes, self._processes = [], []


def _serve(pipe: Connection) -> None:
    """A worker's loop: answer (True, result) or (False, exception) per message, until None."""
    while True:
        try:
            message = pipe.recv()
        except EOFError:
            return
        if message is None:
            return
        function, context, part = message
        try:
            answer: tuple[bool, Any] = (True, function(context, part))
        except Exception as exc:
            answer = (False, exc)
        pipe.send(answer)


class SignatureChecker:
    """Runs the stateless checks of batches of transactions on ``workers`` processes.

    With ``workers`` 0 every batch is judged in the calling process (signatures batched, the
    rest left to the sequential pass). Use as a context manager, or call :meth:`close`: the
    worker processes live as long as the checker.
    """

    def __init__(self, workers: int = 0, *, min_parallel_batch: int = MIN_PARALLEL_BATCH) -> None:
        if workers < 0 or min_parallel_batch < 1:
            raise UsageError("parallel", "workers must be >= 0 and min_parallel_batch >= 1")
        self.workers = workers
        self.min_parallel_batch = min_parallel_batch
        self._text: tuple[CertificateDirectory, DirectoryText] | None = None
        # fork: workers start with the modules already imported, in milliseconds; they run
        # only the pure functions they are sent.
        self._workers: _Workers | None = _Workers(workers) if workers else None

    def parallel(self, size: int) -> bool:
        """Whether a batch of ``size`` goes to the worker processes."""
        return self._workers is not None and size >= self.min_parallel_batch

    def directory_text(self, directory: CertificateDirectory) -> DirectoryText:
        """``directory`` as text for the workers, computed once per directory object."""
        if self._text is None or self._text[0] is not directory:
            self._text = (directory, DirectoryText.of(directory))
        return self._text[1]

    def map_ordered(
        self,
        function: Callable[[Any, Sequence[_Item]], list[_Result]],
        context: object,
        items: Sequence[_Item],
    ) -> Iterator[_Result]:
        """``function(context, chunk)`` over chunks of ``items`` on the workers, its results
        yielded one per item in input order as each chunk comes back (the first chunk's while
        the workers judge later ones). ``function`` must be a pure module-level function.
        """
        if self._workers is None:
            raise UsageError("parallel", "map_ordered needs worker processes")
        chunks = max(1, min(len(items), self.workers * _CHUNKS_PER_WORKER))
        size = -(-len(items) // chunks)
        parts = [items[i : i + size] for i in range(0, len(items), size)]
        for part in self._workers.map(function, context, parts):
            yield from part

    def prevalidate(
        self,
        txs: Sequence[SignedModel],
        directory: CertificateDirectory,
        *,
        quorum: int,
        anchor_role: str,
    ) -> Iterator[SignedModel]:
        """Yield ``txs`` in order, each marked once its stateless pipeline passed in a worker
        (``mark_stateless_passed``); refused ones are yielded unmarked, for the caller's rules.

        A batch below ``min_parallel_batch`` (or without workers) only has its signatures
        verified first, in the calling process, as :meth:`preverify`.
        """
        if not self.parallel(len(txs)):
            self.preverify(txs)
            yield from txs
            return
        job = StatelessJob(self.directory_text(directory), quorum, anchor_role)
        judged = self.map_ordered(_judge_chunk, job, [as_sent(tx) for tx in txs])
        for tx, certified in zip(txs, judged, strict=True):
            if certified is not None:
                tx.mark_stateless_passed(directory, quorum, anchor_role, certified)
            yield tx

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
        if not self.parallel(len(groups)):
            return verify_groups(groups)
        return list(self.map_ordered(_verify_chunk, None, groups))

    def close(self) -> None:
        """Stop the worker processes (idempotent)."""
        if self._workers is not None:
            self._workers.close()
            self._workers = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _verify_chunk(_: None, groups: Sequence[Sequence[Check]]) -> list[bool]:
    return verify_groups(groups)
