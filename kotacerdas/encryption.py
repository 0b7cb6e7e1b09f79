"""Encryption at rest (AES-256-GCM, `cryptography`) of the raw zone and Dagster's value store.

The key comes from KOTACERDAS_STORAGE_KEY; earlier keys listed in KOTACERDAS_STORAGE_OLD_KEYS are still read
(key rotation). Without a key nothing is written or read: there is no clear-text fallback.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kotacerdas.config import settings
from kotacerdas.config.settings import ENV_NAMES
from kotacerdas.errors import ConfigError

# A sealed blob: MAGIC, the key's id (so rotation knows which key opens it), a fresh nonce, ciphertext + tag.
MAGIC = b"KCSEAL1\n"
KEY_ID_BYTES = 8
NONCE_BYTES = 12
HEADER_BYTES = len(MAGIC) + KEY_ID_BYTES + NONCE_BYTES
KEY_ENV = ENV_NAMES["storage_key"]
OLD_KEYS_ENV = ENV_NAMES["storage_old_keys"]
KEY_HINT = (
    f"export {KEY_ENV}=<32 random bytes, url-safe base64>; make one with `kotacerdas storage-key` and keep it "
    "with the backups (docs/operators/privacy.md)"
)


class SealedDataError(ValueError):
    """Stored bytes that cannot be opened: not sealed, sealed with an unknown key, or altered."""


def generate_key() -> str:
    """A new storage key as KOTACERDAS_STORAGE_KEY wants it."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"kotacerdas-storage-key:" + key).digest()[:KEY_ID_BYTES]


def _parse_key(text: str, variable: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{variable} is not a storage key (32 bytes in url-safe base64)", hint=KEY_HINT)
    return key


@dataclass(frozen=True)
class StorageKeys:
    """The key that seals (the current one) and every key that may open (current and old ones) by id."""

    current: bytes
    readers: dict[bytes, bytes]

    @classmethod
    def from_text(cls, current: str, old: str | None = None) -> StorageKeys:
        key = _parse_key(current, KEY_ENV)
        readers = {key_id(key): key}
        for text in (old or "").split(","):
            if text.strip():
                k = _parse_key(text, OLD_KEYS_ENV)
                readers.setdefault(key_id(k), k)
        return cls(key, readers)


def storage_keys() -> StorageKeys:
    """The storage keys of the environment; ConfigError naming the variable when the key is unset or malformed."""
    given = settings()
    if given.storage_key is None or not given.storage_key.get_secret_value().strip():
        raise ConfigError(
            f"{KEY_ENV} is not set: the raw zone and Dagster's value store are encrypted at rest, and nothing is "
            "written or read in clear",
            hint=KEY_HINT,
        )
    old = given.storage_old_keys.get_secret_value() if given.storage_old_keys else None
    return StorageKeys.from_text(given.storage_key.get_secret_value(), old)


def is_sealed(blob: bytes) -> bool:
    return blob.startswith(MAGIC)


def seal(data: bytes, context: str, keys: StorageKeys | None = None) -> bytes:
    """`data` encrypted with the current key; `context` (where it is stored) is authenticated with it, so a
    sealed file moved to another place no longer opens."""
    keys = keys or storage_keys()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keys.current).encrypt(nonce, data, context.encode("utf-8"))
    return MAGIC + key_id(keys.current) + nonce + sealed


def unseal(blob: bytes, context: str, keys: StorageKeys | None = None) -> bytes:
    """The clear bytes of a sealed blob; SealedDataError if it is clear text, of an unknown key, or altered."""
    if not is_sealed(blob):
        raise SealedDataError(
            f"{context} is not encrypted (written before encryption at rest, or not by kotacerdas): it is not read; "
            "run `kotacerdas storage-reseal` to encrypt the raw zone"
        )
    keys = keys or storage_keys()
    start = len(MAGIC)
    kid = blob[start : start + KEY_ID_BYTES]
    nonce = blob[start + KEY_ID_BYTES : HEADER_BYTES]
    key = keys.readers.get(kid)
    if key is None:
        raise SealedDataError(
            f"{context} was encrypted with a storage key that is neither {KEY_ENV} nor one of {OLD_KEYS_ENV} "
            f"(key id {kid.hex()})"
        )
    try:
        return AESGCM(key).decrypt(nonce, blob[HEADER_BYTES:], context.encode("utf-8"))
    except InvalidTag:
        raise SealedDataError(f"{context} does not decrypt: the file was altered or moved") from None


def sealed_id(blob: bytes) -> str:
    """What tells this sealed blob from any other (its key id and fresh nonce), read from its first `HEADER_BYTES`:
    another file sealed with it in its context opens only beside this very blob."""
    if len(blob) < HEADER_BYTES or not is_sealed(blob):
        raise SealedDataError("not a sealed blob's header")
    return blob[len(MAGIC) : HEADER_BYTES].hex()


def sealed_with_current(blob: bytes, keys: StorageKeys) -> bool:
    return is_sealed(blob) and blob[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES] == key_id(keys.current)


def write_sealed(path: Path, data: bytes, context: str, *, exclusive: bool = False) -> None:
    """Seal and write `data` (mode 0600); `exclusive` refuses to replace an existing file."""
    blob = seal(data, context)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(blob)


def demo_key(data_dir: Path) -> tuple[str, Path, bool]:
    """The demo's own storage key, kept in `<data_dir>/storage.key` (0600) and made on first use:
    (key, file, made now). Only for the demo's data folder; a deployment sets KOTACERDAS_STORAGE_KEY."""
    path = Path(data_dir) / "storage.key"
    if path.is_file():
        return path.read_text(encoding="ascii").strip(), path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key, path, True
