"""A push service on 127.0.0.1 for the Web Push tests, and a browser's side of a subscription.

The service records each POST; its paths answer as a test needs (/ok 201, /gone 410, /missing 404,
/fail 500, /busy 429, /bad 400).  `Browser` holds what a browser generates when it subscribes (a
P-256 key pair and a 16-byte auth secret) and reads a pushed message as a browser does: it checks
the VAPID Authorization header (the JWT's ES256 signature under the key it names, its audience,
expiry and subject) and decrypts the body with http_ece (RFC 8291 aes128gcm).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

STATUS_BY_PATH = {"/ok": 201, "/gone": 410, "/missing": 404, "/fail": 500, "/busy": 429, "/bad": 400}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PushService:
    def __init__(self):
        self.received: list[dict] = []
        self.arrived = threading.Event()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                path = "/" + self.path.split("?")[0].split("/")[1]  # /ok/<subscription> answers as /ok
                service.received.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                status = STATUS_BY_PATH.get(path, 404)
                payload = b"" if status < 300 else json.dumps({"reason": f"answer {status}"}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                service.arrived.set()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def endpoint(self, path: str) -> str:
        """A unique endpoint under `path` (as a push service gives each subscription its own URL)."""
        return f"{self.origin}{path}/{b64url(os.urandom(12))}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Browser:
    """What PushManager.subscribe() makes in a browser, and reading a push as its service worker would."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = os.urandom(16)

    def subscription_json(self, endpoint: str) -> dict:
        public = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                           serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(public), "auth": b64url(self.auth_secret)}}

    def read(self, request: dict, *, server_public_key: str, audience: str) -> dict:
        """The payload of a pushed `request`, after checking what a push service and browser check."""
        headers = {name.lower(): value for name, value in request["headers"].items()}
        claims = verify_vapid(headers["authorization"], server_public_key=server_public_key)
        assert claims["aud"] == audience
        assert claims["exp"] > time.time()
        assert claims["exp"] <= time.time() + 24 * 3600  # RFC 8292: at most a day ahead
        assert claims["sub"].startswith(("mailto:", "https://"))
        assert headers["content-encoding"] == "aes128gcm"
        assert int(headers["ttl"]) >= 0
        plain = http_ece.decrypt(request["body"], private_key=self.private_key, auth_secret=self.auth_secret,
                                 version="aes128gcm")
        return json.loads(plain)


def verify_vapid(authorization: str, *, server_public_key: str) -> dict:
    """RFC 8292: `vapid t=<JWT>, k=<public key>`; the JWT signed ES256 with the key's private half."""
    scheme, _, params = authorization.partition(" ")
    assert scheme.lower() == "vapid", authorization
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == server_public_key
    header_b64, claims_b64, signature_b64 = fields["t"].split(".")
    assert json.loads(b64url_decode(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    signature = b64url_decode(signature_b64)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(fields["k"]))
    public.verify(utils.encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")),
                  f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    return json.loads(b64url_decode(claims_b64))
