"""The server's VAPID key pair: from the settings when given, else generated once and kept.

Where the pair lives, in order:
1. VAPID_PRIVATE_KEY (or VAPID_PRIVATE_KEY_FILE): the operator's secret store.  VAPID_PUBLIC_KEY, if
   also given, must match it (a mismatch would make every push fail at the push service).
2. Otherwise one row of models.VapidKey, made on first use.  Not a file in the data folder: web and
   worker pods share no disk, and a second pair made by a worker would sign pushes the browsers'
   subscriptions (made with the web pod's public key) refuse.  The database is what they share; a
   unique singleton row makes two processes starting at once agree on one pair.  The private key is
   encrypted under a key derived from SECRET_KEY (SECRET_KEY_FALLBACKS are tried too, so rotating
   SECRET_KEY the Django way keeps it readable).

Keys are read per use (one indexed row); nothing is cached, so every process sees the same pair.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid

from ..models import VapidKey


B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class KeyPair:
    vapid: Vapid  # signs the Authorization header (py_vapid, RFC 8292 "vapid t=…,k=…")
    public_key: str  # base64url of the uncompressed point: the browser's applicationServerKey


def _public_of(private: ec.EllipticCurvePrivateKey) -> str:
    return b64url(private.public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint))


def _raw_private(private: ec.EllipticCurvePrivateKey) -> bytes:
    return private.private_numbers().private_value.to_bytes(32, "big")


def _from_settings() -> KeyPair | None:
    text = (settings.VAPID_PRIVATE_KEY or "").strip()
    if not text:
        return None
    try:
        if "-----BEGIN" in text:
            private = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            private = Vapid.from_string(text).private_key
    except Exception as exc:  # any parse failure is the operator's value, said once, loudly
        raise ImproperlyConfigured(f"VAPID_PRIVATE_KEY is not a P-256 private key (base64url raw or PEM): "
                                   f"{type(exc).__name__}") from None
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
        raise ImproperlyConfigured("VAPID_PRIVATE_KEY must be a P-256 (prime256v1) key")
    public = _public_of(private)
    if settings.VAPID_PUBLIC_KEY and settings.VAPID_PUBLIC_KEY.strip().rstrip("=") != public:
        raise ImproperlyConfigured("VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY")
    return KeyPair(Vapid(private), public)


def _aead(secret: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"todo-app vapid private key").derive(secret.encode())
    return AESGCM(key)


def _encrypt(raw_private: bytes) -> str:
    nonce = os.urandom(12)
    return b64url(nonce + _aead(settings.SECRET_KEY).encrypt(nonce, raw_private, b"vapid"))


def _decrypt(stored: str) -> bytes:
    data = b64url_decode(stored)
    for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        try:
            return _aead(secret).decrypt(data[:12], data[12:], b"vapid")
        except InvalidTag:
            continue
    raise ImproperlyConfigured(
        "the stored VAPID key was encrypted under another SECRET_KEY: put that key in SECRET_KEY_FALLBACKS, or "
        "give VAPID_PRIVATE_KEY, or delete the VapidKey row in admin to make a new pair (every browser must then "
        "enable push again)")


def _stored() -> KeyPair:
    row = VapidKey.objects.filter(singleton=True).first()
    if row is None:
        private = ec.generate_private_key(ec.SECP256R1())
        # ON CONFLICT DO NOTHING: a process that lost the race reads the winner's pair below.
        VapidKey.objects.bulk_create([VapidKey(public_key=_public_of(private),
                                               private_key_encrypted=_encrypt(_raw_private(private)))],
                                     ignore_conflicts=True)
        row = VapidKey.objects.get(singleton=True)
    private = ec.derive_private_key(int.from_bytes(_decrypt(row.private_key_encrypted), "big"), ec.SECP256R1())
    return KeyPair(Vapid(private), row.public_key)


def key_pair() -> KeyPair:
    return _from_settings() or _stored()


def public_key() -> str:
    return key_pair().public_key
