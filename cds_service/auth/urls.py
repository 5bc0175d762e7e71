"""Which hosts count as loopback, and which key URLs may be fetched."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP address (brackets of an IPv6 literal allowed)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_key_url(url: str) -> str:
    """``url`` if keys may be fetched from it: https, or http on a loopback host (tests)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("a jku must be an absolute http(s) URL")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise ValueError("a jku must carry no credentials or fragment")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError("a jku must use https (http only on a loopback host)")
    return url
