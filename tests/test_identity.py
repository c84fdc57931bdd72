"""Identity helpers: the bound keyed hash and packed Merkle leaves equal their plain forms."""

from __future__ import annotations

import hashlib

import pytest

from archiver import identity


def test_a_bound_keyer_gives_the_keyed_fingerprint() -> None:
    keyed = identity.keyer(b"k" * 32)
    for i in range(5):
        fp = hashlib.sha256(str(i).encode()).digest()
        assert keyed(fp) == identity.keyed(b"k" * 32, fp)
    assert keyed(b"x") != identity.keyer(b"j" * 32)(b"x")


def test_packed_merkle_leaves_give_the_same_root_across_blocks() -> None:
    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(2500)]
    one_by_one = identity.merkle_root(leaves)
    packed = identity.MerkleBuilder()
    packed.add_packed(b"".join(leaves[:700]))
    packed.add_packed(b"".join(leaves[700:]))
    assert packed.count == 2500
    assert packed.root() == one_by_one
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
