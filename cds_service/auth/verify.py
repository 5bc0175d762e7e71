"""Verifying a CDS client's bearer JWT (CDS Hooks 2.0 "Trusting CDS Clients").

Order: header form, issuer on the list, algorithm and ``jku`` the issuer's, key by ``kid``
(its type and, for EC, its curve fitting ``alg``), then PyJWT checks the signature, ``aud``
(the exact URL called), ``exp``/``iat``/``nbf`` with a small clock skew and the required
claims; then ``exp`` no further ahead than the configured cap, and the ``jti``'s form;
last, the (``iss``, ``jti``) pair is claimed once. Every refusal is an ``AuthRejected``
with a ``Reason``; the caller is told nothing, the log gets the reason, never the token.
Whatever PyJWT or the cryptography library raises on a hostile token is a refusal (401),
never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt import PyJWK

from cds_service.auth.issuers import TrustedIssuer
from cds_service.auth.keys import KeyStore, KeysUnavailable
from cds_service.auth.replay import ReplayStore

CLOCK_SKEW_S = 60
MAX_TOKEN_CHARS = 16 * 1024
MAX_JTI_CHARS = 255
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]
_KEY_TYPES = {"ES": "EC", "RS": "RSA", "PS": "RSA"}
#: The curve each ECDSA algorithm is defined on (RFC 7518 section 3.4).
_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}
#: What PyJWT and cryptography raise on tokens they cannot use, besides InvalidTokenError
#: (``InvalidKeyError`` for a key that does not fit the algorithm, ValueError/TypeError
#: from key and signature decoding, OverflowError from huge numbers).
_TOKEN_ERRORS = (jwt.PyJWTError, ValueError, TypeError, OverflowError)
#: One hour, as the issue's threat model proposes; tokens are minutes long in practice.
DEFAULT_MAX_EXPIRY_S = 3600


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
    EXPIRY_TOO_FAR = "expiry_too_far"  # exp further ahead than the configured cap
    NOT_YET_VALID = "not_yet_valid"  # nbf or iat in the future
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"  # e.g. a jti too long or holding control characters
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
        max_expiry_s: int = DEFAULT_MAX_EXPIRY_S,
    ) -> None:
        self._issuers = issuers
        self._keys = keys
        self._replay = replay
        self._skew_s = skew_s
        self._max_expiry_s = max_expiry_s

    def verify(self, authorization: str | None, audience: str) -> VerifiedClient:
        """The accepted client, or ``AuthRejected`` with its reason (a metrics label)."""
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
        expires_at = self._expiry(claims["exp"])
        jti = claims["jti"]
        if not valid_jti(jti):
            raise AuthRejected(Reason.INVALID_CLAIM)
        if not self._replay.claim(jti, issuer.iss, expires_at):
            raise AuthRejected(Reason.REPLAYED)
        tenant = claims.get("tenant")
        return VerifiedClient(issuer.iss, jti, tenant if isinstance(tenant, str) else None)

    def _expiry(self, exp: Any) -> datetime:
        """When the replay record may go: ``exp`` (already checked as a number by PyJWT) plus
        the skew. An ``exp`` years ahead is a token that never dies (and one past the year
        9999 is no date at all): refused beyond ``max_expiry_s`` from now."""
        now = datetime.now(UTC).timestamp()
        if not isinstance(exp, int | float) or exp - now > self._max_expiry_s + self._skew_s:
            raise AuthRejected(Reason.EXPIRY_TOO_FAR)
        return datetime.fromtimestamp(int(exp) + self._skew_s, UTC)

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
        # Nor a P-256 key an ES384 token: PyJWT raises InvalidKeyError on that pair.
        curve = _CURVES.get(alg)
        if curve is not None and not (
            isinstance(key.key, ec.EllipticCurvePublicKey) and isinstance(key.key.curve, curve)
        ):
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
        except _TOKEN_ERRORS:
            raise AuthRejected(Reason.BAD_SIGNATURE) from None
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


def valid_jti(jti: Any) -> bool:
    """A ``jti`` the replay table can hold: 1-255 printable characters (no NUL, no control
    character, no unpaired surrogate), checked before any database sees it."""
    # isprintable() is false for control characters (NUL included) and surrogates (Cs).
    return isinstance(jti, str) and 0 < len(jti) <= MAX_JTI_CHARS and jti.isprintable()


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
    except _TOKEN_ERRORS:
        raise AuthRejected(Reason.MALFORMED) from None
    if not isinstance(claims, dict):
        raise AuthRejected(Reason.MALFORMED)
    return header, claims
