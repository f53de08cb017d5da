"""A stand-in host app's signing side: key pairs, its tokens, and a JWKS endpoint on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER = "https://host.example/"
AUDIENCE = "switchboard"


@dataclass
class KeyPair:
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    algorithm: str
    kid: str

    @classmethod
    def rsa(cls, kid: str = "rsa-1") -> KeyPair:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256", kid)

    @classmethod
    def ec(cls, kid: str = "ec-1") -> KeyPair:
        return cls(ec.generate_private_key(ec.SECP256R1()), "ES256", kid)

    @property
    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    @property
    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        key: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        key.update({"kid": self.kid, "use": "sig", "alg": self.algorithm})
        return key

    def token(self, sub: object = "auth0|abc", **claims: object) -> str:
        """A host token: `iss`, `aud`, an hour of life; `None` drops a claim."""
        now = int(time.time())
        body: dict[str, object] = {
            "sub": sub,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 3600,
        }
        body.update(claims)
        payload = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(
            payload, self.private, algorithm=self.algorithm, headers={"kid": self.kid}
        )


class JwksServer:
    """Serves `{"keys": [...]}` at /jwks; `keys` may be replaced (rotation) or `down` set."""

    def __init__(self, keys: list[KeyPair]) -> None:
        self.keys = keys
        self.down = False
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                if owner.down or self.path != "/jwks":
                    self.send_error(503 if owner.down else 404)
                    return
                body = json.dumps({"keys": [k.jwk for k in owner.keys]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: pytest shows failures, not every fetch

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/jwks"

    def __enter__(self) -> JwksServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
