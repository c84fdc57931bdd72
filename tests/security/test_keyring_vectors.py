"""Golden vectors for keys.json: a file written by this version (format 2, roles sealed
into the slots) and one in the format of archives made before roles (format 1) must keep
unlocking to the same database key, with the same roles, for the life of an archive.

The files in tests/fixtures/keyslots were made once with fixed secrets (vectors.json) and
are never regenerated: a change that breaks them breaks every existing archive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archiver.core.errors import KeysFileDamaged
from archiver.security.keyring import Keyring, Secret, _slot_check

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keyslots"
VECTORS = json.loads((FIXTURES / "vectors.json").read_text())
DB_KEY = bytes.fromhex(VECTORS["db_key_hex"])
SECRETS = {
    "keyfile": Secret("keyfile", bytes.fromhex(VECTORS["keyfile_hex"]), "vector"),
    "passphrase": Secret.passphrase(VECTORS["passphrase"], "vector"),
    "recovery": Secret("recovery", bytes.fromhex(VECTORS["recovery_hex"]), "vector"),
}


@pytest.mark.parametrize(
    ("name", "kind", "role"),
    [
        ("keys-v2.json", "keyfile", "ingest"),
        ("keys-v2.json", "passphrase", "admin"),
        ("keys-v2.json", "recovery", "admin"),
        ("keys-v1.json", "keyfile", "admin"),  # before roles: every slot is admin
        ("keys-v1.json", "passphrase", "admin"),
        ("keys-v1.json", "recovery", "admin"),
    ],
)
def test_golden_keys_files_unlock_to_the_same_key_and_role(name: str, kind: str, role: str) -> None:
    ring = Keyring.load(FIXTURES / name)
    unlocked = ring.unlock(SECRETS[kind])
    assert unlocked.candidates == [DB_KEY]
    assert unlocked.role == role
    ring.check_mac(DB_KEY)


def test_the_golden_roles_are_sealed(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "keys-v2.json").read_text())
    slot = doc["slots"][0]
    assert slot["role"] == "ingest"
    slot["role"] = "admin"
    slot["check"] = _slot_check(slot)
    (tmp_path / "keys.json").write_text(json.dumps(doc))
    with pytest.raises(KeysFileDamaged, match="sealed database key does not verify"):
        Keyring.load(tmp_path / "keys.json").unlock(SECRETS["keyfile"])
