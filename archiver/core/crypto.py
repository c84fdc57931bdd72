"""The small crypto surface of archiver, built only from `cryptography` primitives.

- ``seal``/``unseal``: AES-256-GCM with a random 96-bit nonce and associated data.
- ``derive_passphrase_key``: Argon2id with parameters stored beside the ciphertext.
- ``derive_fast_key``: HKDF-SHA256, for high-entropy secrets (key files, recovery keys).
- ``envelope_seal``/``envelope_open``: X25519 + HKDF + AES-GCM (ECIES, as in `age`),
  so the database key can be re-wrapped for every key slot without its secret.
- Ed25519 signing keys and their fingerprints.

Every decryption failure raises ``CryptoFailure`` and nothing else, so callers cannot
leak which check failed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12


class CryptoFailure(Exception):
    """A ciphertext, tag or signature did not verify (deliberately uninformative)."""


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise CryptoFailure from exc


# --- symmetric -------------------------------------------------------------------------


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM: returns nonce || ciphertext-with-tag."""
    nonce = random_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < NONCE_BYTES + 16:
        raise CryptoFailure
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError) as exc:
        raise CryptoFailure from exc


# --- key derivation --------------------------------------------------------------------


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost parameters, stored in each passphrase slot."""

    iterations: int = 3
    lanes: int = 4
    memory_kib: int = 131072  # 128 MiB: about 0.3 s on a 2-core machine

    def as_dict(self) -> dict[str, int]:
        return {"iterations": self.iterations, "lanes": self.lanes, "memory_kib": self.memory_kib}

    def out_of_bounds(self) -> str | None:
        """Why these parameters are outside ``ARGON2_BOUNDS`` (None: they are inside).

        The parameters are read from ``keys.json`` before anything is authenticated: the
        bounds keep an edited slot from hanging an unlock or exhausting memory."""
        for name, (low, high) in ARGON2_BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                return f"{name} is {value!r}, outside {low}..{high}"
        if self.memory_kib < 8 * self.lanes:
            return f"memory_kib {self.memory_kib} is below 8 KiB per lane ({self.lanes} lanes)"
        if self.iterations * self.memory_kib > ARGON2_MAX_WORK_KIB:
            return (
                f"{self.iterations} passes over {self.memory_kib} KiB exceed "
                f"{ARGON2_MAX_WORK_KIB // (1024 * 1024)} passes over 1 GiB"
            )
        return None


# What a passphrase slot may ask of an unlock: at most 1 GiB of memory and about ten
# times the default work (4 passes over 1 GiB took 7-9 s on a 2-core machine, against
# 0.4 s for the default), so a slot edited to 10^6 passes or 32 GiB is refused with a
# message instead of hanging, or failing for lack of memory.
ARGON2_BOUNDS: dict[str, tuple[int, int]] = {
    "iterations": (1, 10),
    "lanes": (1, 16),
    "memory_kib": (8, 1024 * 1024),
}
ARGON2_MAX_WORK_KIB = 4 * 1024 * 1024  # iterations x memory_kib


def derive_passphrase_key(passphrase: bytes, salt: bytes, params: Argon2Params) -> bytes:
    return Argon2id(
        salt=salt,
        length=KEY_BYTES,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    ).derive(passphrase)


def derive_fast_key(secret: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA256; only for secrets that already carry >= 128 bits of entropy."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info).derive(secret)


def subkey(master: bytes, purpose: str) -> bytes:
    """A purpose-bound key derived from a master secret (audit MAC, tombstones...)."""
    return derive_fast_key(master, b"archiver-subkey-v1", purpose.encode("utf-8"))


def mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def mac_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


# --- envelopes (X25519) ----------------------------------------------------------------


def x25519_generate() -> tuple[bytes, bytes]:
    """A new (private, public) X25519 key pair as raw bytes."""
    private = X25519PrivateKey.generate()
    return _raw_private(private), _raw_public(private.public_key())


def envelope_seal(recipient_public: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt to an X25519 public key: ephemeral public || nonce || ciphertext."""
    ephemeral = X25519PrivateKey.generate()
    eph_public = _raw_public(ephemeral.public_key())
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    key = derive_fast_key(shared, eph_public + recipient_public, b"archiver-envelope-v1")
    return eph_public + seal(key, plaintext, aad)


def envelope_open(recipient_private: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 32:
        raise CryptoFailure
    try:
        private = X25519PrivateKey.from_private_bytes(recipient_private)
        eph_public = blob[:32]
        shared = private.exchange(X25519PublicKey.from_public_bytes(eph_public))
    except ValueError as exc:
        raise CryptoFailure from exc
    recipient_public = _raw_public(private.public_key())
    key = derive_fast_key(shared, eph_public + recipient_public, b"archiver-envelope-v1")
    return unseal(key, blob[32:], aad)


def _raw_private(key: X25519PrivateKey | Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def _raw_public(key: X25519PublicKey | Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# --- signatures (Ed25519) --------------------------------------------------------------


def ed25519_generate() -> tuple[bytes, bytes]:
    """A new (private, public) Ed25519 key pair as raw bytes."""
    private = Ed25519PrivateKey.generate()
    return _raw_private(private), _raw_public(private.public_key())


def sign(private: bytes, data: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(private).sign(data)


def verify_signature(public: bytes, signature: bytes, data: bytes) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, data)
    except (InvalidSignature, ValueError) as exc:
        raise CryptoFailure from exc


def fingerprint(public: bytes) -> str:
    """A human-comparable fingerprint of a public key: SHA-256, 16 groups of 4 hex."""
    digest = hashlib.sha256(public).hexdigest()
    return ":".join(digest[i : i + 4] for i in range(0, 64, 4))


PEM_LABEL = "ARCHIVER ED25519 PUBLIC KEY"


def public_key_pem(public: bytes) -> str:
    """The public key as PEM (SubjectPublicKeyInfo), for `verify-signed --public-key`."""
    pem = Ed25519PublicKey.from_public_bytes(public).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii")


def load_public_key_pem(data: bytes) -> bytes:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise CryptoFailure from exc
    if not isinstance(key, Ed25519PublicKey):
        raise CryptoFailure
    return _raw_public(key)
