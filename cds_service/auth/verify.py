"""Verifying a CDS client's bearer JWT (CDS Hooks 2.0 "Trusting CDS Clients").

Order: header form, issuer on the list, algorithm and ``jku`` the issuer's, key by ``kid``,
then PyJWT checks the signature, ``aud`` (the exact URL called), ``exp``/``iat``/``nbf``
with a small clock skew and the required claims; last, the ``jti`` is claimed once. Every
refusal is an ``AuthRejected`` with a ``Reason``; the caller is told nothing, the log gets
the reason, never the token.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import jwt
from jwt import PyJWK

from cds_service.auth.issuers import TrustedIssuer
from cds_service.auth.keys import KeyStore, KeysUnavailable
from cds_service.auth.replay import ReplayStore

CLOCK_SKEW_S = 60
MAX_TOKEN_CHARS = 16 * 1024
MAX_JTI_CHARS = 255
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]
_KEY_TYPES = {"ES": "EC", "RS": "RSA", "PS": "RSA"}


class Reason(StrEnum):
    """Why a token was refused: logged and counted, never sent to the caller."""

    MISSING = "missing"  # no Authorization header, or not a Bearer one
    MALFORMED = "malformed"  # not a JWT, or too long
    BAD_HEADER = "bad_header"  # typ not JWT, or no kid
    UNTRUSTED_ISSUER = "untrusted_issuer"
    ALGORITHM = "algorithm"  # alg not accepted for this issuer (none, HMAC, ...)
    JKU_MISMATCH = "jku_mismatch"
    KEYS_UNAVAILABLE = "keys_unavailable"
    UNKNOWN_KID = "unknown_kid"
    BAD_SIGNATURE = "bad_signature"
    WRONG_AUDIENCE = "wrong_audience"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"  # nbf or iat in the future
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"
    REPLAYED = "replayed"


class AuthRejected(Exception):
    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class VerifiedClient:
    """What may be logged about an accepted caller."""

    iss: str
    jti: str
    tenant: str | None = None


class Verifier:
    def __init__(
        self,
        issuers: Mapping[str, TrustedIssuer],
        keys: KeyStore,
        replay: ReplayStore,
        *,
        skew_s: int = CLOCK_SKEW_S,
    ) -> None:
        self._issuers = issuers
        self._keys = keys
        self._replay = replay
        self._skew_s = skew_s
        self._lock = threading.Lock()
        #: Refusals by reason since start (this process), for a metrics endpoint.
        self.rejections: Counter[Reason] = Counter()

    def verify(self, authorization: str | None, audience: str) -> VerifiedClient:
        try:
            return self._verify(authorization, audience)
        except AuthRejected as exc:
            with self._lock:
                self.rejections[exc.reason] += 1
            raise

    def _verify(self, authorization: str | None, audience: str) -> VerifiedClient:
        token = _bearer_token(authorization)
        header, unverified = _unverified_parts(token)
        if str(header.get("typ", "")).upper() != "JWT":
            raise AuthRejected(Reason.BAD_HEADER)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthRejected(Reason.BAD_HEADER)
        iss = unverified.get("iss")
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise AuthRejected(Reason.UNTRUSTED_ISSUER)
        alg = header.get("alg")
        if alg not in issuer.algorithms:
            raise AuthRejected(Reason.ALGORITHM)
        if "jku" in header and header["jku"] != issuer.jku:
            raise AuthRejected(Reason.JKU_MISMATCH)
        key = self._key(issuer, kid, alg)
        claims = self._decode(token, key, alg, issuer.iss, audience)
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_CHARS:
            raise AuthRejected(Reason.INVALID_CLAIM)
        expires_at = datetime.fromtimestamp(int(claims["exp"]) + self._skew_s, UTC)
        if not self._replay.claim(jti, issuer.iss, expires_at):
            raise AuthRejected(Reason.REPLAYED)
        tenant = claims.get("tenant")
        return VerifiedClient(issuer.iss, jti, tenant if isinstance(tenant, str) else None)

    def _key(self, issuer: TrustedIssuer, kid: str, alg: str) -> PyJWK:
        try:
            key = self._keys.key(issuer.iss, kid)
        except KeysUnavailable:
            raise AuthRejected(Reason.KEYS_UNAVAILABLE) from None
        if key is None:
            raise AuthRejected(Reason.UNKNOWN_KID)
        # An EC key never verifies an RS token, nor an RSA key an ES one.
        if key.key_type != _KEY_TYPES.get(alg[:2]):
            raise AuthRejected(Reason.ALGORITHM)
        return key

    def _decode(self, token: str, key: PyJWK, alg: str, iss: str, audience: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=audience,
                issuer=iss,
                leeway=self._skew_s,
                options={"require": _REQUIRED_CLAIMS, "strict_aud": False},
            )
        except jwt.InvalidTokenError as exc:
            raise AuthRejected(_pyjwt_reason(exc)) from None
        return claims


#: PyJWT's refusals, most specific first (they subclass InvalidTokenError).
_PYJWT_REASONS: tuple[tuple[type[jwt.InvalidTokenError], Reason], ...] = (
    (jwt.ExpiredSignatureError, Reason.EXPIRED),
    (jwt.ImmatureSignatureError, Reason.NOT_YET_VALID),
    (jwt.InvalidAudienceError, Reason.WRONG_AUDIENCE),
    (jwt.MissingRequiredClaimError, Reason.MISSING_CLAIM),
    (jwt.InvalidSignatureError, Reason.BAD_SIGNATURE),
)


def _pyjwt_reason(exc: jwt.InvalidTokenError) -> Reason:
    return next((reason for cls, reason in _PYJWT_REASONS if isinstance(exc, cls)), Reason.INVALID_CLAIM)


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthRejected(Reason.MISSING)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthRejected(Reason.MISSING)
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise AuthRejected(Reason.MALFORMED)
    return token


def _unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before any check: only used to pick the issuer and key."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise AuthRejected(Reason.MALFORMED) from None
    if not isinstance(claims, dict):
        raise AuthRejected(Reason.MALFORMED)
    return header, claims
