"""RFC 6962 Merkle tree hash of a block's tx ids, with inclusion proofs for light clients.

A block commits to its transactions by this root (IOME-BLK-003). RFC 6962 (Certificate
Transparency) was chosen over Bitcoin's tree because leaves and inner nodes are hashed with
different prefixes (0x00, 0x01) and an odd node is promoted rather than duplicated, so no two
different lists of transactions share a root. Light clients of child chains check that a
transaction is in an anchored block with :func:`is_valid_inclusion_proof` (RFC 9162 §2.1.3.2).

Everything is iterative and linear in the number of leaves.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Final

from iome_ref.constants import HASH_PATTERN
from iome_ref.errors import UsageError

__all__ = [
    "EMPTY_ROOT",
    "compute_inclusion_proof",
    "compute_merkle_root",
    "compute_merkle_root_hex",
    "is_valid_inclusion_proof",
]

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"
_HASH_LEN: Final = 32
_TX_ID = re.compile(HASH_PATTERN)
#: Root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _next_level(level: list[bytes]) -> list[bytes]:
    """Hash adjacent pairs; an unpaired last node moves up unchanged.

    Pairing left to right and promoting the odd node builds exactly RFC 6962's tree, whose
    left subtree is always the largest power of two smaller than n.
    """
    sha256, prefix = hashlib.sha256, _NODE_PREFIX  # locals: a block hashes ~2 nodes per tx
    paired = [
        sha256(prefix + left + right).digest()
        for left, right in zip(level[::2], level[1::2], strict=False)
    ]
    if len(level) % 2 == 1:
        paired.append(level[-1])
    return paired


def compute_merkle_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 §2.1 Merkle tree hash MTH of ``leaves`` (raw leaf data, in order)."""
    if not leaves:
        return EMPTY_ROOT
    sha256, prefix = hashlib.sha256, _LEAF_PREFIX
    level = [sha256(prefix + bytes(leaf)).digest() for leaf in leaves]
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


def compute_merkle_root_hex(tx_ids: Sequence[str]) -> str:
    """Hex root over raw 32-byte tx ids in block order (IOME-BLK-003).

    Raises:
        UsageError: a tx id is not 64 lowercase hex (models validate them before they get here).
    """
    raw: list[bytes] = []
    for position, tx_id in enumerate(tx_ids):
        if not isinstance(tx_id, str) or _TX_ID.fullmatch(tx_id) is None:
            raise UsageError(
                "merkle", f"tx id {position}: expected 64 lowercase hex, found {tx_id!r:.80}"
            )
        raw.append(bytes.fromhex(tx_id))
    return compute_merkle_root(raw).hex()


def compute_inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 6962 §2.1.1 audit path PATH(index, leaves), ordered from the leaf up.

    Raises:
        UsageError: ``index`` is not a position in ``leaves``.
    """
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(leaves):
        raise UsageError(
            "merkle", f"inclusion proof: index {index!r} is outside 0..{len(leaves) - 1}"
        )
    proof: list[bytes] = []
    level = [_leaf_hash(bytes(leaf)) for leaf in leaves]
    position = index
    while len(level) > 1:
        sibling = position ^ 1
        if sibling < len(level):  # the promoted last node has no sibling at this level
            proof.append(level[sibling])
        position //= 2
        level = _next_level(level)
    return proof


def is_valid_inclusion_proof(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows leaf data ``leaf`` at ``index`` of a tree of ``size`` with ``root``.

    The RFC 9162 §2.1.3.2 algorithm; never raises: malformed input is simply not a proof.
    """
    if (
        not isinstance(leaf, bytes | bytearray)
        or not isinstance(root, bytes | bytearray)
        or any(not isinstance(n, int) or isinstance(n, bool) for n in (index, size))
        or not 0 <= index < size
    ):
        return False
    fn, sn = index, size - 1
    r = _leaf_hash(bytes(leaf))
    for p in proof:
        if not isinstance(p, bytes | bytearray) or len(p) != _HASH_LEN or sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node_hash(bytes(p), r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node_hash(r, bytes(p))
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == bytes(root)
