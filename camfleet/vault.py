"""The credential vault: camera passwords encrypted at rest with Fernet."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from camfleet.config import Mode, Settings


class VaultError(Exception):
    """The key is missing or unusable, or a ciphertext does not decrypt with it."""


def _fernet_from_secret(secret: str) -> Fernet:
    try:
        return Fernet(secret.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        # A passphrase rather than a Fernet key: derive a key from it.
        digest = hashlib.sha256(b"camfleet-vault-v1:" + secret.encode("utf-8")).digest()
        return Fernet(base64.urlsafe_b64encode(digest))


def _read_or_create_key(path: Path, create: bool) -> str:
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise VaultError(f"key file {path} is readable by others; chmod 600 it")
        return path.read_text(encoding="ascii").strip()
    if not create:
        raise VaultError(f"key file {path} does not exist")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key.decode("ascii")


class Vault:
    """Encrypts and decrypts camera passwords; never logs or shows them."""

    def __init__(self, fernet: Fernet) -> None:
        self._fernet = fernet

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        """Build the vault from the configured key, or the key file (created in development)."""
        if settings.secret_key is not None:
            return cls(_fernet_from_secret(settings.secret_key.get_secret_value()))
        create = settings.mode is Mode.DEVELOPMENT
        return cls(_fernet_from_secret(_read_or_create_key(settings.effective_key_file, create)))

    def encrypt(self, password: str) -> bytes:
        """Return the ciphertext of a password."""
        return self._fernet.encrypt(password.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        """Return the password of a ciphertext, or raise VaultError (without the ciphertext)."""
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError):
            raise VaultError("a stored credential does not decrypt with this key") from None

    def __repr__(self) -> str:
        return "Vault(<key hidden>)"
