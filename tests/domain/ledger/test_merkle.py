"""Tests for the RFC 6962 / RFC 9162 Merkle tree: known answers, all proofs, tampering, reads."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sunvote.domain.ledger.merkle import (
    EMPTY_ROOT,
    ProofError,
    append_leaf,
    append_nodes,
    border_root,
    compact_range,
    consistency_proof,
    consistency_proof_from_nodes,
    consistency_proof_nodes,
    inclusion_proof,
    inclusion_proof_from_nodes,
    inclusion_proof_nodes,
    leaf_hash,
    node_hash,
    node_span,
    range_hash,
    range_nodes,
    root_from_border,
    root_from_leaf_hashes,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

# Known answers: the RFC 6962 test tree used by certificate-transparency and
# github.com/transparency-dev/merkle (proof/verify_test.go).
KAT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
KAT_ROOTS = [
    bytes.fromhex(h)
    for h in [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]
# (leaf index, tree size, proof)
KAT_INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
# (size1, size2, proof)
KAT_CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip

MAX_INCLUSION_SIZE = 256
MAX_CONSISTENCY_SIZE = 100
LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(MAX_INCLUSION_SIZE)]
SETTINGS = settings(database=None, deadline=None, max_examples=200)


# ------------------------------------------------------------------ naive reference (RFC 6962)


@cache
def ref_mth(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) over LEAVES, literally as RFC 6962 §2.1 defines it."""
    n = hi - lo
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return LEAVES[lo]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(ref_mth(lo, lo + k), ref_mth(lo + k, hi))


def ref_path(m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]) from RFC 6962 §2.1.1 (m relative to lo)."""
    n = hi - lo
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, lo, lo + k), ref_mth(lo + k, hi)]
    return [*ref_path(m - k, lo + k, hi), ref_mth(lo, lo + k)]


def ref_subproof(m: int, lo: int, hi: int, b: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b) from RFC 6962 §2.1.2 (m relative to lo)."""
    n = hi - lo
    if m == n:
        return [] if b else [ref_mth(lo, hi)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(m, lo, lo + k, b), ref_mth(lo + k, hi)]
    return [*ref_subproof(m - k, lo + k, hi, False), ref_mth(lo, lo + k)]


# ------------------------------------------------------------------ stored-node fixture


def build_store(leaves: list[bytes]) -> tuple[dict[tuple[int, int], bytes], list[list[bytes]]]:
    """Append every leaf with append_nodes; return the node store and the border per size."""
    store: dict[tuple[int, int], bytes] = {}
    borders: list[list[bytes]] = [[]]
    for size, h in enumerate(leaves):
        created, border = append_nodes(size, borders[-1], h)
        for level, index, value in created:
            assert (level, index) not in store
            store[(level, index)] = value
        borders.append(border)
    return store, borders


STORE, BORDERS = build_store(LEAVES)


def getter_for(size: int) -> Callable[[int, int], bytes]:
    """A get_node that only serves nodes that already exist in a tree of ``size`` leaves."""

    def get_node(level: int, index: int) -> bytes:
        _, hi = node_span(level, index)
        assert hi <= size, f"node ({level}, {index}) does not exist at size {size}"
        return STORE[(level, index)]

    return get_node


# ------------------------------------------------------------------ known answers


def test_empty_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert root_from_border([]) == EMPTY_ROOT
    assert root_hash(0, getter_for(0)) == EMPTY_ROOT


def test_leaf_and_node_hash_domain_separation() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    expected = hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert node_hash(b"a" * 32, b"b" * 32) == expected


def test_known_roots_for_the_rfc6962_eight_leaf_tree() -> None:
    hashes = [leaf_hash(x) for x in KAT_LEAVES]
    store, borders = build_store(hashes)
    for size in range(1, 9):
        assert root_from_leaf_hashes(hashes[:size]) == KAT_ROOTS[size - 1]
        assert root_from_border(borders[size]) == KAT_ROOTS[size - 1]
        assert root_hash(size, lambda lv, ix: store[(lv, ix)]) == KAT_ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), KAT_INCLUSION)
def test_known_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    hashes = [leaf_hash(x) for x in KAT_LEAVES]
    store, _ = build_store(hashes)
    expected = [bytes.fromhex(p) for p in proof]
    assert inclusion_proof(index, size, lambda lv, ix: store[(lv, ix)]) == expected
    verify_inclusion(hashes[index], index, size, expected, KAT_ROOTS[size - 1])


@pytest.mark.parametrize(("size1", "size2", "proof"), KAT_CONSISTENCY)
def test_known_consistency_proofs(size1: int, size2: int, proof: list[str]) -> None:
    hashes = [leaf_hash(x) for x in KAT_LEAVES]
    store, _ = build_store(hashes)
    expected = [bytes.fromhex(p) for p in proof]
    assert consistency_proof(size1, size2, lambda lv, ix: store[(lv, ix)]) == expected
    verify_consistency(size1, size2, expected, KAT_ROOTS[size1 - 1], KAT_ROOTS[size2 - 1])


# ------------------------------------------------------------------ stored nodes


def test_append_creates_exactly_the_perfect_aligned_subtrees() -> None:
    for (level, index), value in STORE.items():
        lo, hi = node_span(level, index)
        assert value == ref_mth(lo, hi)
    expected_count = sum(MAX_INCLUSION_SIZE >> level for level in range(9))
    assert len(STORE) == expected_count


def test_border_is_the_compact_range_and_gives_the_root() -> None:
    for size in range(MAX_INCLUSION_SIZE + 1):
        border = BORDERS[size]
        assert border == [STORE[a] for a in compact_range(size)]
        assert root_from_border(border) == ref_mth(0, size)
        assert root_hash(size, getter_for(size)) == ref_mth(0, size)


def test_in_place_append_and_unchecked_root_match_the_checked_ones() -> None:
    # The streaming verifier's helpers: same border and root as append_nodes/root_from_border.
    border: list[bytes] = []
    assert border_root(border) == EMPTY_ROOT
    for size in range(MAX_INCLUSION_SIZE):
        append_leaf(size, border, LEAVES[size])
        assert border == BORDERS[size + 1]
        assert border_root(border) == ref_mth(0, size + 1)


def test_append_rejects_a_border_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError):
        append_nodes(3, [LEAVES[0]], LEAVES[3])
    with pytest.raises(ValueError):
        append_nodes(1, [b"short"], LEAVES[1])


def test_range_hash_matches_mth_of_every_sublist() -> None:
    n = 40
    get = getter_for(MAX_INCLUSION_SIZE)
    for lo in range(n + 1):
        for hi in range(lo, n + 1):
            assert range_hash(lo, hi, get) == ref_mth(lo, hi)
            nodes = range_nodes(lo, hi)
            assert sum(node_span(*a)[1] - node_span(*a)[0] for a in nodes) == hi - lo


# ------------------------------------------------------------------ every proof


def test_every_inclusion_proof_up_to_256_leaves() -> None:
    for size in range(1, MAX_INCLUSION_SIZE + 1):
        get = getter_for(size)
        root = ref_mth(0, size)
        for index in range(size):
            proof = inclusion_proof(index, size, get)
            assert proof == ref_path(index, 0, size)
            fetched = {a: get(*a) for a in inclusion_proof_nodes(index, size)}
            assert inclusion_proof_from_nodes(index, size, fetched) == proof
            verify_inclusion(LEAVES[index], index, size, proof, root)


def test_every_consistency_proof_up_to_100_leaves() -> None:
    for size2 in range(1, MAX_CONSISTENCY_SIZE + 1):
        get = getter_for(size2)
        root2 = ref_mth(0, size2)
        for size1 in range(0, size2 + 1):
            proof = consistency_proof(size1, size2, get)
            expected = [] if size1 in (0, size2) else ref_subproof(size1, 0, size2, True)
            assert proof == expected
            fetched = {a: get(*a) for a in consistency_proof_nodes(size1, size2)}
            assert consistency_proof_from_nodes(size1, size2, fetched) == proof
            verify_consistency(size1, size2, proof, ref_mth(0, size1), root2)


def test_inclusion_verification_rejects_wrong_inputs() -> None:
    other = hashlib.sha256(b"other").digest()
    for size in range(1, MAX_INCLUSION_SIZE + 1):
        root = ref_mth(0, size)
        for index in range(size):
            proof = ref_path(index, 0, size)
            leaf = LEAVES[index]
            # As in transparency-dev/merkle, the size is perturbed by *2 and //2 only: an
            # RFC 6962 root does not encode the tree size on its own (e.g. leaf 0's proof in a
            # size-3 tree also "verifies" at size 4 against the size-3 root, which no size-4
            # tree has); the signed checkpoint binds size and root together.
            bad = [
                (leaf, index + 1, size, proof, root),
                (leaf, index - 1, size, proof, root),
                (leaf, index ^ 2, size, proof, root),
                (leaf, index, size // 2, proof, root),
                (leaf, index, size * 2, proof, root),
                (leaf, index, size, proof, other),
                (other, index, size, proof, root),
                (leaf, index, size, [*proof, other], root),
                (leaf, index, size, [other, *proof], root),
                (leaf, index, size, proof[:-1], root),
            ]
            if not proof:
                bad.pop()  # an empty proof cannot be truncated
            for i in range(len(proof)):
                bad.append((leaf, index, size, [*proof[:i], other, *proof[i + 1 :]], root))
            for args in bad:
                with pytest.raises(ProofError):
                    verify_inclusion(*args)


def test_consistency_verification_rejects_wrong_inputs() -> None:
    other = hashlib.sha256(b"other").digest()
    for size2 in range(2, MAX_CONSISTENCY_SIZE + 1):
        root2 = ref_mth(0, size2)
        for size1 in range(1, size2):
            root1 = ref_mth(0, size1)
            proof = ref_subproof(size1, 0, size2, True)
            bad = [
                (size1 + 1, size2, proof, root1, root2),
                (size1 - 1, size2, proof, root1, root2),
                (size1 ^ 2, size2, proof, root1, root2),
                (size1, size2 * 2, proof, root1, root2),
                (size1, size2 // 2, proof, root1, root2),
                (size1, size2, proof, other, root2),
                (size1, size2, proof, root1, other),
                (size1, size2, proof, root2, root1),
                (size1, size2, [], root1, root2),
                (size1, size2, proof[:-1], root1, root2),
                (size1, size2, [*proof, other], root1, root2),
                (size1, size2, [other, *proof], root1, root2),
                (size1, size2, [proof[0], *proof], root1, root2),
                (size2, size1, proof, root2, root1),
            ]
            for i in range(len(proof)):
                bad.append((size1, size2, [*proof[:i], other, *proof[i + 1 :]], root1, root2))
            for args in bad:
                with pytest.raises(ProofError):
                    verify_consistency(*args)


def test_consistency_edge_cases() -> None:
    r1 = ref_mth(0, 1)
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(0, 5, [], EMPTY_ROOT, ref_mth(0, 5))
    verify_consistency(1, 1, [], r1, r1)
    for args in [
        (0, 0, [], r1, r1),  # an empty tree has the empty root
        (0, 5, [r1], EMPTY_ROOT, ref_mth(0, 5)),  # proof must be empty
        (1, 1, [], r1, EMPTY_ROOT),  # equal sizes, different roots
        (1, 1, [r1], r1, r1),  # equal sizes, non-empty proof
        (2, 1, [], ref_mth(0, 2), r1),  # time travel
        (1, 2, [], r1, ref_mth(0, 2)),  # empty proof
    ]:
        with pytest.raises(ProofError):
            verify_consistency(*args)


def test_inclusion_edge_cases() -> None:
    r1 = ref_mth(0, 1)
    verify_inclusion(r1, 0, 1, [], r1)
    for args in [
        (r1, 0, 0, [], EMPTY_ROOT),
        (r1, 1, 1, [], r1),
        (r1, 0, 1, [], EMPTY_ROOT),
        (b"", 0, 1, [], r1),  # leaf hash of the wrong length
        (r1, 0, 1, [b"x"], r1),  # proof element of the wrong length
        (r1, -1, 1, [], r1),
    ]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)


def test_generation_rejects_impossible_requests() -> None:
    get = getter_for(8)
    with pytest.raises(ValueError):
        inclusion_proof(8, 8, get)
    with pytest.raises(ValueError):
        inclusion_proof(0, 0, get)
    with pytest.raises(ValueError):
        consistency_proof(9, 8, get)
    with pytest.raises(ValueError):
        inclusion_proof_from_nodes(0, 8, {})


# ------------------------------------------------------------------ bit flips (Hypothesis)


def _flip(data: bytes, bit: int) -> bytes:
    """Return ``data`` with one bit flipped."""
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


@SETTINGS
@given(st.data())
def test_any_bit_flip_in_an_inclusion_proof_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(2, MAX_INCLUSION_SIZE), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_proof(index, size, getter_for(size))
    element = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(st.integers(0, 255), label="bit")
    proof[element] = _flip(proof[element], bit)
    with pytest.raises(ProofError):
        verify_inclusion(LEAVES[index], index, size, proof, ref_mth(0, size))


@SETTINGS
@given(st.data())
def test_any_bit_flip_in_a_consistency_proof_fails(data: st.DataObject) -> None:
    size2 = data.draw(st.integers(2, MAX_INCLUSION_SIZE), label="size2")
    size1 = data.draw(st.integers(1, size2 - 1), label="size1")
    proof = consistency_proof(size1, size2, getter_for(size2))
    element = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(st.integers(0, 255), label="bit")
    proof[element] = _flip(proof[element], bit)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof, ref_mth(0, size1), ref_mth(0, size2))


@SETTINGS
@given(st.data())
def test_any_bit_flip_in_a_root_or_leaf_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, MAX_INCLUSION_SIZE), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    bit = data.draw(st.integers(0, 255), label="bit")
    proof = inclusion_proof(index, size, getter_for(size))
    with pytest.raises(ProofError):
        verify_inclusion(_flip(LEAVES[index], bit), index, size, proof, ref_mth(0, size))
    with pytest.raises(ProofError):
        verify_inclusion(LEAVES[index], index, size, proof, _flip(ref_mth(0, size), bit))


# ------------------------------------------------------------------ read cost


class CountingStore:
    """A synthetic node store: values derived from the address, nothing cached, reads counted."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.reads = 0

    def get_node(self, level: int, index: int) -> bytes:
        _, hi = node_span(level, index)
        assert hi <= self.size, "read a node that does not exist yet"
        self.reads += 1
        return hashlib.sha256(f"{level}/{index}".encode()).digest()


N_BIG = 1_000_000
BIG_CASES = [0, 1, 2, 12345, 524_287, 524_288, 999_998, 999_999]


@pytest.mark.parametrize("index", BIG_CASES)
def test_inclusion_proof_reads_are_logarithmic(index: int) -> None:
    log_n = math.ceil(math.log2(N_BIG))
    store = CountingStore(N_BIG)
    proof = inclusion_proof(index, N_BIG, store.get_node)
    assert len(proof) <= log_n
    assert store.reads <= 2 * log_n
    assert len(inclusion_proof_nodes(index, N_BIG)) == store.reads


@pytest.mark.parametrize("size1", [1, 2, 3, 1000, 524_287, 524_288, 524_289, 999_999])
def test_consistency_proof_reads_are_logarithmic(size1: int) -> None:
    log_n = math.ceil(math.log2(N_BIG))
    store = CountingStore(N_BIG)
    proof = consistency_proof(size1, N_BIG, store.get_node)
    assert len(proof) <= log_n + 1
    assert store.reads <= 2 * log_n
    assert len(consistency_proof_nodes(size1, N_BIG)) == store.reads


def test_root_reads_are_the_compact_range() -> None:
    store = CountingStore(N_BIG)
    root_hash(N_BIG, store.get_node)
    assert store.reads == bin(N_BIG).count("1") == len(compact_range(N_BIG))
