"""RFC 6962 Merkle tree hash and RFC 9162 inclusion proofs (IOME-BLK-003).

Expected values come from two sources independent of ``iome_ref.merkle``: trees written out
by hand from the RFC 6962 §2.1 definition, and the vectors published with Certificate
Transparency (google/certificate-transparency, reused as transparency-dev/merkle
``testonly/constants.go``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest

from iome_ref.errors import UsageError
from iome_ref.merkle import (
    compute_inclusion_proof,
    compute_merkle_root,
    compute_merkle_root_hex,
    is_valid_inclusion_proof,
)

pytestmark = pytest.mark.req("IOME-BLK-003")


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def reference_root(data: Sequence[bytes]) -> bytes:
    """MTH written straight from RFC 6962 §2.1 (recursive, for small trees only)."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf(data[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return node(reference_root(data[:k]), reference_root(data[k:]))


def reference_path(m: int, data: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) written straight from RFC 6962 §2.1.1."""
    n = len(data)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*reference_path(m, data[:k]), reference_root(data[k:])]
    return [*reference_path(m - k, data[k:]), reference_root(data[:k])]


D = [bytes([i]) * 32 for i in range(8)]

CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PATHS: list[tuple[int, int, list[str]]] = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, hashlib.sha256(b"").digest()),
        (1, leaf(D[0])),
        (2, node(leaf(D[0]), leaf(D[1]))),
        (3, node(node(leaf(D[0]), leaf(D[1])), leaf(D[2]))),
        (
            5,
            node(
                node(node(leaf(D[0]), leaf(D[1])), node(leaf(D[2]), leaf(D[3]))),
                leaf(D[4]),
            ),
        ),
        (
            7,
            node(
                node(node(leaf(D[0]), leaf(D[1])), node(leaf(D[2]), leaf(D[3]))),
                node(node(leaf(D[4]), leaf(D[5])), leaf(D[6])),
            ),
        ),
    ],
)
def test_accepts_hand_built_rfc6962_trees(size: int, expected: bytes) -> None:
    assert compute_merkle_root(D[:size]) == expected


@pytest.mark.parametrize("size", range(1, 9))
def test_accepts_certificate_transparency_roots(size: int) -> None:
    assert compute_merkle_root(CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), CT_PATHS)
def test_accepts_certificate_transparency_paths(index: int, size: int, path: list[str]) -> None:
    proof = compute_inclusion_proof(CT_LEAVES[:size], index)
    assert [p.hex() for p in proof] == path
    root = bytes.fromhex(CT_ROOTS[size - 1])
    assert is_valid_inclusion_proof(CT_LEAVES[index], index, size, proof, root)


def test_accepts_empty_root_as_sha256_of_nothing() -> None:
    expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert compute_merkle_root([]).hex() == expected
    assert compute_merkle_root_hex([]) == expected


def test_accepts_tx_ids_as_raw_32_byte_leaves() -> None:
    tx_ids = [hashlib.sha256(bytes([i])).hexdigest() for i in range(5)]
    expected = reference_root([bytes.fromhex(t) for t in tx_ids]).hex()
    assert compute_merkle_root_hex(tx_ids) == expected


@pytest.mark.parametrize("bad", ["AB" * 32, "ab" * 31, "zz" * 32, 7])
def test_rejects_malformed_tx_id(bad: object) -> None:
    with pytest.raises(UsageError) as info:
        compute_merkle_root_hex(["00" * 32, bad])  # type: ignore[list-item]
    assert info.value.component == "merkle"


def test_accepts_roots_matching_the_recursive_definition_up_to_100() -> None:
    data = [hashlib.sha256(i.to_bytes(2, "big")).digest() for i in range(100)]
    for n in range(101):
        assert compute_merkle_root(data[:n]) == reference_root(data[:n]), n


@pytest.mark.parametrize("size", range(1, 18))
def test_accepts_inclusion_proof_of_every_index(size: int) -> None:
    data = [hashlib.sha256(bytes([i])).digest() for i in range(size)]
    root = reference_root(data)
    for index in range(size):
        proof = compute_inclusion_proof(data, index)
        assert proof == reference_path(index, data)
        assert is_valid_inclusion_proof(data[index], index, size, proof, root)


@pytest.mark.parametrize("size", range(1, 18))
def test_rejects_tampered_inclusion_proofs(size: int) -> None:
    data = [hashlib.sha256(bytes([i])).digest() for i in range(size)]
    root = compute_merkle_root(data)
    for index in range(size):
        proof = compute_inclusion_proof(data, index)
        tampered_leaf = bytes([data[index][0] ^ 1]) + data[index][1:]
        assert not is_valid_inclusion_proof(tampered_leaf, index, size, proof, root)
        for j in range(len(proof)):
            bad = list(proof)
            bad[j] = bytes([bad[j][0] ^ 0x80]) + bad[j][1:]
            assert not is_valid_inclusion_proof(data[index], index, size, bad, root)
        for other in (index - 1, index + 1):
            if 0 <= other < size and data[other] != data[index]:
                assert not is_valid_inclusion_proof(data[index], other, size, proof, root)
        assert not is_valid_inclusion_proof(data[index], index, size, [*proof, root], root)
        if proof:
            assert not is_valid_inclusion_proof(data[index], index, size, proof[1:], root)
        wrong_root = bytes([root[0] ^ 1]) + root[1:]
        assert not is_valid_inclusion_proof(data[index], index, size, proof, wrong_root)


@pytest.mark.parametrize(
    ("index", "size"),
    [(0, 0), (3, 3), (-1, 3), (True, 3)],
)
def test_rejects_inclusion_outside_the_tree(index: int, size: int) -> None:
    assert not is_valid_inclusion_proof(b"a", index, size, [], compute_merkle_root([b"a"]))


def test_rejects_inclusion_proof_with_malformed_elements() -> None:
    data = [b"a", b"b", b"c"]
    root = compute_merkle_root(data)
    assert not is_valid_inclusion_proof(b"a", 0, 3, [b"short", b"x" * 32], root)
    assert not is_valid_inclusion_proof(b"a", 0, 3, ["not bytes"], root)  # type: ignore[list-item]


@pytest.mark.parametrize("index", [-1, 3, True])
def test_rejects_proof_request_outside_the_tree(index: int) -> None:
    with pytest.raises(UsageError) as info:
        compute_inclusion_proof([b"a", b"b", b"c"], index)
    assert info.value.component == "merkle"


def test_accepts_large_tree_quickly() -> None:
    data = [i.to_bytes(4, "big") for i in range(50_000)]
    root = compute_merkle_root(data)
    proof = compute_inclusion_proof(data, 31_337)
    assert len(proof) == 16
    assert is_valid_inclusion_proof(data[31_337], 31_337, len(data), proof, root)


def test_rejects_index_exactly_at_size() -> None:
    # Boundary of ``0 <= index < size``: a one-leaf tree's root is its leaf hash, so index 1
    # with an empty proof would pass every later step.
    root = compute_merkle_root([b"a"])
    assert is_valid_inclusion_proof(b"a", 0, 1, [], root)
    assert not is_valid_inclusion_proof(b"a", 1, 1, [], root)


def test_rejects_bool_index_that_would_prove_position_one() -> None:
    data = [b"a", b"b", b"c"]
    proof, root = compute_inclusion_proof(data, 1), compute_merkle_root(data)
    assert is_valid_inclusion_proof(b"b", 1, 3, proof, root)
    assert not is_valid_inclusion_proof(b"b", True, 3, proof, root)


@pytest.mark.parametrize(
    ("leaf", "index", "size", "proof", "root"),
    [
        pytest.param("a", 0, 1, [], None, id="leaf-str"),
        pytest.param(b"a", 0, 1, [], "root", id="root-str"),
        pytest.param(b"a", "0", 1, [], None, id="index-str"),
        pytest.param(b"a", 0.0, 1, [], None, id="index-float"),
        pytest.param(b"a", 0, 3, ["x" * 32], None, id="element-str-of-hash-length"),
    ],
)
def test_rejects_wrong_types_without_raising(
    leaf: object, index: object, size: object, proof: list[object], root: object
) -> None:
    real_root = compute_merkle_root([b"a", b"b", b"c"][: size if isinstance(size, int) else 1])
    given_root = real_root if root is None else root
    assert not is_valid_inclusion_proof(leaf, index, size, proof, given_root)  # type: ignore[arg-type]


def test_rejects_usage_with_message_naming_the_bad_value() -> None:
    with pytest.raises(UsageError) as info:
        compute_inclusion_proof([b"a", b"b", b"c"], 3)
    assert str(info.value) == "merkle: inclusion proof: index 3 is outside 0..2"
    with pytest.raises(UsageError) as info:
        compute_merkle_root_hex(["00" * 32, "AB" * 32])
    assert str(info.value) == f"merkle: tx id 1: expected 64 lowercase hex, found {'AB' * 32!r}"
