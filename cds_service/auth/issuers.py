"""The trusted issuers file (``MRCDS_TRUSTED_ISSUERS``): who may call, and with which keys.

A JSON list of entries, each ``{"iss": ..., "jku": ...}`` (keys fetched from that URL) or
``{"iss": ..., "jwks": {"keys": [...]}}`` (keys inline), optionally with ``"algorithms"``
and a free-text ``"comment"``. An entry with both uses its inline keys and never fetches;
its ``jku`` is then only the value a token's ``jku`` header must have, if it has one.
CDS Hooks 2.0 forbids ``none`` and symmetric (HMAC) algorithms and recommends ES384 and
RS384, the default here. A bad file stops start-up: ``load_issuers`` raises ``ValueError``
with a message naming the entry, never a key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jwt import PyJWK
from jwt.exceptions import PyJWKError

from cds_service.auth.urls import check_key_url

DEFAULT_ALGORITHMS = ("ES384", "RS384")
#: Docker makes an empty folder where a bind-mounted file is missing on the host.
FOLDER_HINT = " (a container mount of a file missing on the host leaves a folder in its place)"
#: Asymmetric signature algorithms only: never ``none``, never HS*.
ALLOWED_ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)


@dataclass(frozen=True)
class TrustedIssuer:
    iss: str
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    jku: str | None = None
    #: Inline keys by kid (``None`` when the keys come from ``jku``).
    inline_keys: Mapping[str, PyJWK] | None = field(default=None, repr=False, compare=False)


def load_issuers(path: str) -> dict[str, TrustedIssuer]:
    """The issuers in the file at ``path``, by ``iss``."""
    if Path(path).is_dir():
        raise ValueError(f"{path!r} is a folder, not a file{FOLDER_HINT}")
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path!r} ({exc.strerror or type(exc).__name__})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{path!r} is not UTF-8 JSON") from None
    if not isinstance(doc, list) or not doc:
        raise ValueError("the file must hold a non-empty JSON list of issuers")
    issuers: dict[str, TrustedIssuer] = {}
    for index, entry in enumerate(doc):
        issuer = _issuer(entry, f"entry {index}")
        if issuer.iss in issuers:
            raise ValueError(f"entry {index}: iss {issuer.iss!r} is listed twice")
        issuers[issuer.iss] = issuer
    return issuers


def _issuer(entry: Any, where: str) -> TrustedIssuer:
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be an object")
    unknown = set(entry) - {"iss", "jku", "jwks", "algorithms", "comment"}
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
    iss = entry.get("iss")
    if not isinstance(iss, str) or not iss:
        raise ValueError(f"{where}: 'iss' must be a non-empty string")
    algorithms = _algorithms(entry.get("algorithms", list(DEFAULT_ALGORITHMS)), where)
    jku, jwks = entry.get("jku"), entry.get("jwks")
    if jku is None and jwks is None:
        raise ValueError(f"{where}: give 'jku' (a URL to fetch keys from) or 'jwks' (inline keys)")
    if jku is not None:
        if not isinstance(jku, str):
            raise ValueError(f"{where}: 'jku' must be a string")
        try:
            check_key_url(jku)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    if jwks is None:
        return TrustedIssuer(iss, algorithms, jku=jku)
    keys = parse_jwks(jwks)
    if not keys:
        raise ValueError(f"{where}: 'jwks' holds no usable signature key with a kid")
    return TrustedIssuer(iss, algorithms, jku=jku, inline_keys=keys)


def _algorithms(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(a, str) for a in value):
        raise ValueError(f"{where}: 'algorithms' must be a non-empty list of names")
    refused = [a for a in value if a not in ALLOWED_ALGORITHMS]
    if refused:
        raise ValueError(
            f"{where}: algorithm(s) {refused} not accepted (only {', '.join(sorted(ALLOWED_ALGORITHMS))})"
        )
    return tuple(value)


def parse_jwks(jwks: Any) -> dict[str, PyJWK]:
    """The usable signature keys of a JWK Set, by kid; keys without kid or for
    encryption are skipped, as are keys PyJWT cannot use."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        return {}
    keys: dict[str, PyJWK] = {}
    for item in jwks["keys"]:
        if not isinstance(item, dict) or item.get("use", "sig") != "sig":
            continue
        kid = item.get("kid")
        if not isinstance(kid, str) or not kid or item.get("kty") not in ("EC", "RSA"):
            continue
        if any(private in item for private in ("d", "p", "q")):
            continue  # a private key has no place in a trust list
        try:
            keys[kid] = PyJWK(item)
        except PyJWKError:
            continue
    return keys
