"""Optional Ed25519 signatures over entry hashes (the `cryptography` package).

What is signed is ``b"dockbench-archive-entry:v1:" + hash`` (the hex hash), so a signature
cannot be replayed as anything else. Only the signature and the key id (the first 16 hex
digits of the SHA-256 of the raw public key) are stored; private keys never enter an archive.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from dockbench.benchmark.archive.base import ArchiveError

DOMAIN = b"dockbench-archive-entry:v1:"


def _crypto():
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:  # pragma: no cover - cryptography comes with paramiko
        raise ArchiveError("signing needs the 'cryptography' package") from exc
    return serialization, ed25519, InvalidSignature


def key_id(public_key) -> str:
    serialization, _, _ = _crypto()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class Signer:
    def __init__(self, private_key):
        self._key = private_key
        self.key_id = key_id(private_key.public_key())

    @classmethod
    def load(cls, path: str | os.PathLike, password: bytes | None = None) -> Signer:
        serialization, ed25519, _ = _crypto()
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=password)
        except TypeError as exc:   # encrypted without a password, or a password for a plain key
            raise ArchiveError(f"{path}: {exc}") from exc
        except (OSError, ValueError) as exc:
            raise ArchiveError(f"{path}: not a readable PEM private key ({exc})") from exc
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ArchiveError(f"{path}: not an Ed25519 private key (make one with `dockbench archive keygen`)")
        return cls(key)

    def sign(self, entry_hash: str) -> str:
        return base64.b64encode(self._key.sign(DOMAIN + entry_hash.encode("ascii"))).decode("ascii")


class Verifier:
    def __init__(self, public_key):
        self._key = public_key
        self.key_id = key_id(public_key)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Verifier:
        serialization, ed25519, _ = _crypto()
        try:
            key = serialization.load_pem_public_key(Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            raise ArchiveError(f"{path}: not a readable PEM public key ({exc})") from exc
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise ArchiveError(f"{path}: not an Ed25519 public key")
        return cls(key)

    def verify(self, entry_hash: str, signature: str) -> bool:
        _, _, invalid = _crypto()
        try:
            self._key.verify(base64.b64decode(signature, validate=True), DOMAIN + entry_hash.encode("ascii"))
            return True
        except (invalid, ValueError):
            return False


def keygen(private_path: str | os.PathLike) -> tuple[Path, Path, str]:
    """Write a new Ed25519 key pair: PRIVATE (PEM, mode 0600) and PRIVATE.pub. Never overwrites."""
    serialization, ed25519, _ = _crypto()
    private_path = Path(private_path)
    public_path = private_path.with_name(private_path.name + ".pub")
    for path in (private_path, public_path):
        if path.exists():
            raise ArchiveError(f"{path} exists; not overwriting a key")
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as stream:
        stream.write(pem)
    os.chmod(private_path, 0o600)   # whatever the umask
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path, key_id(key.public_key())
