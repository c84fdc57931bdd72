"""Identity helpers: the bound keyed hash and packed Merkle leaves equal their plain forms."""

from __future__ import annotations

import hashlib

import pytest

from archiver.core import identity


def test_a_bound_keyer_gives_the_keyed_fingerprint() -> None:
    keyed = identity.keyer(b"k" * 32)
    for i in range(5):
        fp = hashlib.sha256(str(i).encode()).digest()
        assert keyed(fp) == identity.keyed(b"k" * 32, fp)
    assert keyed(b"x") != identity.keyer(b"j" * 32)(b"x")


def reference_root(values: list[bytes]) -> str:
    """RFC 6962's Merkle tree hash over blocks of MERKLE_BLOCK values, recursively."""

    def tree(leaves: list[bytes]) -> bytes:
        if len(leaves) == 1:
            return leaves[0]
        k = 1 << ((len(leaves) - 1).bit_length() - 1)  # largest power of two below n
        return hashlib.sha256(b"\x01" + tree(leaves[:k]) + tree(leaves[k:])).digest()

    size = identity.MERKLE_BLOCK
    blocks = [values[i : i + size] for i in range(0, len(values), size)]
    return tree([hashlib.sha256(b"\x00" + b"".join(b)).digest() for b in blocks]).hex()


@pytest.mark.parametrize("n", [1, 1023, 1024, 1025, 2500, 5 * 1024])
def test_packed_merkle_leaves_give_the_rfc6962_root_across_blocks(n: int) -> None:
    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(n)]
    assert identity.merkle_root(leaves) == reference_root(leaves)
    packed = identity.MerkleBuilder()
    packed.add_packed(b"".join(leaves[:700]))
    packed.add_packed(b"".join(leaves[700:]))
    assert packed.count == n
    assert packed.root() == reference_root(leaves)
    many = identity.MerkleBuilder()
    many.add_many(leaves[:3])
    many.add_many(leaves[3:])
    assert many.root() == reference_root(leaves)
    with pytest.raises(ValueError, match="32 bytes each"):
        identity.MerkleBuilder().add_packed(b"x" * 33)


@pytest.mark.parametrize(
    "fields",
    [
        ("Dana", 1709283600, "text", "Price is 101.5", 0, None),
        (None, None, "system", "Dana joined", 2, None),
        ("user42", 1709283600, "text", "Straße 見積 \ud83d lone surrogate", 0, "7"),
    ],
)
def test_a_conversations_fingerprinter_gives_the_canonical_fingerprint(
    fields: tuple[str | None, int | None, str, str, int, str | None],
) -> None:
    sender, ts, kind, text, occurrence, msg_id = fields
    canonical = "\x1f".join(
        [
            "archiver-message-v1",
            "whatsapp",
            "Deal Desk",
            sender or "",
            "" if ts is None else str(ts),
            kind,
            text,
            str(occurrence),
            msg_id or "",
        ]
    )
    expected = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).digest()
    assert identity.fingerprinter("whatsapp", "Deal Desk")(*fields) == expected
    assert identity.fingerprint("whatsapp", "Deal Desk", *fields) == expected
