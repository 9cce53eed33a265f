"""RFC 6962 / RFC 9162 §2.1 Merkle tree: hashing, stored perfect subtrees, proofs, verification."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence

HASH_SIZE = 32
MAX_TREE_SIZE = 2**64 - 1
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeAddress = tuple[int, int]
"""``(level, index)``: the perfect subtree over leaves ``[index·2**level, (index+1)·2**level)``."""

StoredNode = tuple[int, int, bytes]
"""``(level, index, hash)`` of one stored perfect subtree."""

NodeGetter = Callable[[int, int], bytes]
"""``get_node(level, index) -> hash`` of a stored perfect subtree (the database implements it)."""


class ProofError(ValueError):
    """Raised when an inclusion or consistency proof does not verify."""


# --------------------------------------------------------------------------- hashing


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 ‖ data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash ``SHA-256(0x01 ‖ left ‖ right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return MTH over the given leaf hashes (the O(n) reference definition of RFC 6962 §2.1)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = _split_point(len(leaf_hashes))
    return node_hash(root_from_leaf_hashes(leaf_hashes[:k]), root_from_leaf_hashes(leaf_hashes[k:]))


# --------------------------------------------------------------------------- stored nodes


def node_span(level: int, index: int) -> tuple[int, int]:
    """Return the leaf range ``[lo, hi)`` covered by the stored node ``(level, index)``."""
    if level < 0 or index < 0:
        raise ValueError("node level and index must be non-negative")
    return index << level, (index + 1) << level


def compact_range(size: int) -> list[NodeAddress]:
    """Return the addresses of the perfect subtrees covering ``[0, size)``, largest first.

    Their hashes, in this order, are the "right border" that :func:`append_nodes` and
    :func:`root_from_border` work with.
    """
    _check_size(size)
    addresses: list[NodeAddress] = []
    lo = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            addresses.append((level, lo >> level))
            lo += 1 << level
    return addresses


def append_nodes(
    size: int, right_border: Sequence[bytes], leaf_hash: bytes
) -> tuple[list[StoredNode], list[bytes]]:
    """Append ``leaf_hash`` to a tree of ``size`` leaves whose compact range is ``right_border``.

    Returns every perfect node created by the append (the leaf itself at level 0 first, then
    each completed parent) and the new right border (for ``size + 1``).
    """
    _check_size(size + 1)
    if len(right_border) != size.bit_count():
        raise ValueError(
            f"right border has {len(right_border)} hashes, a tree of size {size} needs "
            f"{size.bit_count()}"
        )
    for h in (*right_border, leaf_hash):
        _check_hash(h)
    stack = list(right_border)
    current = leaf_hash
    level, index = 0, size
    created: list[StoredNode] = [(0, size, current)]
    while size >> level & 1:
        current = node_hash(stack.pop(), current)
        level += 1
        index >>= 1
        created.append((level, index, current))
    stack.append(current)
    return created, stack


def root_from_border(right_border: Sequence[bytes]) -> bytes:
    """Return the tree root from its compact range (largest perfect subtree first)."""
    if not right_border:
        return EMPTY_ROOT
    for h in right_border:
        _check_hash(h)
    root = right_border[-1]
    for h in reversed(right_border[:-1]):
        root = node_hash(h, root)
    return root


def append_leaf(size: int, border: list[bytes], leaf: bytes) -> None:
    """Append ``leaf`` to the right border of a tree of ``size`` leaves, in place.

    :func:`append_nodes` without listing the created nodes or re-checking the hashes, for a
    caller that made every hash itself: the streaming verifier, once per record.
    """
    sha256 = hashlib.sha256
    while size & 1:
        leaf = sha256(b"\x01" + border.pop() + leaf).digest()
        size >>= 1
    border.append(leaf)


def border_root(border: Sequence[bytes]) -> bytes:
    """:func:`root_from_border` without re-checking the hashes (for the same callers)."""
    if not border:
        return EMPTY_ROOT
    sha256 = hashlib.sha256
    root = border[-1]
    for h in border[-2::-1]:
        root = sha256(b"\x01" + h + root).digest()
    return root


def range_nodes(lo: int, hi: int) -> list[NodeAddress]:
    """Return the stored nodes (left to right) from which :func:`range_hash` computes ``[lo, hi)``.

    The range is split exactly as RFC 6962 splits ``MTH(D[lo:hi])`` until every piece is a
    perfect aligned subtree. For every range that occurs in an RFC 6962 proof or as a tree
    prefix (``lo`` a multiple of the largest power of two below ``hi - lo``) that is one node
    per set bit of ``hi - lo``; other ranges are correct but may need up to ``hi - lo`` nodes.
    """
    _check_range(lo, hi)
    return _range_nodes(lo, hi) if lo < hi else []


def range_hash(lo: int, hi: int, get_node: NodeGetter) -> bytes:
    """Return ``MTH(D[lo:hi])`` (the RFC 6962 hash of leaves lo..hi-1) from stored nodes."""
    _check_range(lo, hi)
    if lo == hi:
        return EMPTY_ROOT
    return _range_hash(lo, hi, get_node)


def root_hash(size: int, get_node: NodeGetter) -> bytes:
    """Return the root of the tree of ``size`` leaves, reading its compact range only."""
    _check_size(size)
    return range_hash(0, size, get_node)


# --------------------------------------------------------------------------- proofs


def inclusion_proof(index: int, size: int, get_node: NodeGetter) -> list[bytes]:
    """Return the RFC 9162 §2.1.3.1 inclusion proof (``PATH(index, D[size])``), leaf side first."""
    return [_range_hash(lo, hi, get_node) for lo, hi in _inclusion_ranges(index, size)]


def inclusion_proof_nodes(index: int, size: int) -> list[NodeAddress]:
    """Return every stored node that :func:`inclusion_proof` reads, for one batch fetch."""
    return _dedupe(a for lo, hi in _inclusion_ranges(index, size) for a in _range_nodes(lo, hi))


def inclusion_proof_from_nodes(
    index: int, size: int, nodes: Mapping[NodeAddress, bytes]
) -> list[bytes]:
    """Build the inclusion proof from fetched nodes (see :func:`inclusion_proof_nodes`)."""
    return inclusion_proof(index, size, _mapping_getter(nodes))


def consistency_proof(size1: int, size2: int, get_node: NodeGetter) -> list[bytes]:
    """Return the RFC 9162 §2.1.4.1 consistency proof ``PROOF(size1, D[size2])``.

    The proof is empty when ``size1`` is 0 or equal to ``size2``.
    """
    return [_range_hash(lo, hi, get_node) for lo, hi in _consistency_ranges(size1, size2)]


def consistency_proof_nodes(size1: int, size2: int) -> list[NodeAddress]:
    """Return every stored node that :func:`consistency_proof` reads, for one batch fetch."""
    ranges = _consistency_ranges(size1, size2)
    return _dedupe(a for lo, hi in ranges for a in _range_nodes(lo, hi))


def consistency_proof_from_nodes(
    size1: int, size2: int, nodes: Mapping[NodeAddress, bytes]
) -> list[bytes]:
    """Build the consistency proof from fetched nodes (see :func:`consistency_proof_nodes`)."""
    return consistency_proof(size1, size2, _mapping_getter(nodes))


# --------------------------------------------------------------------------- verification


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Verify an inclusion proof as RFC 9162 §2.1.3.2 specifies; raise :class:`ProofError`.

    The caller must compute ``leaf_hash`` itself from the leaf bytes (the module-level
    ``leaf_hash`` function), never take it from the proof's sender.
    Returns None on success.
    """
    _check_proof_inputs(proof, leaf_hash, root)
    if not 0 <= index < size <= MAX_TREE_SIZE:
        raise ProofError(f"leaf index {index} is not inside a tree of size {size}")
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if not hmac.compare_digest(r, root):
        raise ProofError("inclusion proof does not lead to the expected root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Verify a consistency proof as RFC 9162 §2.1.4.2 specifies; raise :class:`ProofError`.

    Edge cases outside the RFC algorithm (which covers ``0 < size1 < size2``): equal sizes
    need an empty proof and equal roots; ``size1 == 0`` needs an empty proof and
    ``root1 == EMPTY_ROOT``. Returns None on success.
    """
    _check_proof_inputs(proof, root1, root2)
    if not 0 <= size1 <= size2 <= MAX_TREE_SIZE:
        raise ProofError(f"cannot prove consistency from size {size1} to size {size2}")
    if size1 == size2 or size1 == 0:
        _verify_trivial_consistency(size1, proof, root1, root2)
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if not hmac.compare_digest(fr, root1):
        raise ProofError("consistency proof does not lead to the first root")
    if not hmac.compare_digest(sr, root2):
        raise ProofError("consistency proof does not lead to the second root")


# --------------------------------------------------------------------------- helpers


def _verify_trivial_consistency(
    size1: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check the equal-size and empty-first-tree cases of consistency."""
    if proof:
        raise ProofError("consistency proof must be empty for these sizes")
    if size1 == 0 and not hmac.compare_digest(root1, EMPTY_ROOT):
        raise ProofError("the root of an empty tree must be SHA-256 of the empty string")
    if size1 != 0 and not hmac.compare_digest(root1, root2):
        raise ProofError("trees of equal size have different roots")


def _check_proof_inputs(proof: Sequence[bytes], *hashes: bytes) -> None:
    """Raise ProofError unless every hash and proof element is 32 bytes."""
    if len(proof) > 64:
        raise ProofError("proof has more than 64 elements")
    for h in (*hashes, *proof):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise ProofError("hashes must be 32-byte values")


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose MTH form ``PATH(index, D[size])``, leaf side first."""
    _check_size(size)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not inside a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split_point(hi - lo)
        if index < mid:
            ranges.append((mid, hi))
            hi = mid
        else:
            ranges.append((lo, mid))
            lo = mid
    ranges.reverse()
    return ranges


def _consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose MTH form ``SUBPROOF(size1, D[size2], true)``, in proof order."""
    _check_size(size2)
    if not 0 <= size1 <= size2:
        raise ValueError(f"cannot prove consistency from size {size1} to size {size2}")
    if size1 == 0 or size1 == size2:
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi, m, whole = 0, size2, size1, True
    while m != hi - lo:
        k = _split_point(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def _range_nodes(lo: int, hi: int) -> list[NodeAddress]:
    """Decompose non-empty ``[lo, hi)`` along the RFC 6962 split into stored node addresses."""
    n = hi - lo
    if n & (n - 1) == 0 and lo % n == 0:
        level = n.bit_length() - 1
        return [(level, lo >> level)]
    k = _split_point(n)
    return _range_nodes(lo, lo + k) + _range_nodes(lo + k, hi)


def _range_hash(lo: int, hi: int, get_node: NodeGetter) -> bytes:
    """Return ``MTH(D[lo:hi])`` for non-empty ``[lo, hi)`` from stored nodes."""
    n = hi - lo
    if n & (n - 1) == 0 and lo % n == 0:
        level = n.bit_length() - 1
        return _check_hash(get_node(level, lo >> level))
    k = _split_point(n)
    return node_hash(_range_hash(lo, lo + k, get_node), _range_hash(lo + k, hi, get_node))


def _split_point(n: int) -> int:
    """Return the largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mapping_getter(nodes: Mapping[NodeAddress, bytes]) -> NodeGetter:
    """Adapt a mapping of fetched nodes to a :data:`NodeGetter` with a clear error."""

    def get_node(level: int, index: int) -> bytes:
        try:
            return nodes[(level, index)]
        except KeyError:
            raise ValueError(f"node ({level}, {index}) was not fetched") from None

    return get_node


def _dedupe(addresses: Iterable[NodeAddress]) -> list[NodeAddress]:
    """Return the addresses in first-seen order without repeats."""
    return list(dict.fromkeys(addresses))


def _check_hash(h: bytes) -> bytes:
    """Return ``h`` if it is a 32-byte hash, else raise ValueError."""
    if not isinstance(h, bytes) or len(h) != HASH_SIZE:
        raise ValueError("node hashes must be 32-byte values")
    return h


def _check_size(size: int) -> None:
    """Raise ValueError unless ``size`` is a valid tree size."""
    if not 0 <= size <= MAX_TREE_SIZE:
        raise ValueError(f"tree size {size} out of range")


def _check_range(lo: int, hi: int) -> None:
    """Raise ValueError unless ``0 <= lo <= hi`` is a valid leaf range."""
    if not 0 <= lo <= hi <= MAX_TREE_SIZE:
        raise ValueError(f"invalid leaf range [{lo}, {hi})")
