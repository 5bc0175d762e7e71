"""The one settings object: defaults, then ``MRCDS_*`` environment variables, then the
mapping passed to ``create_app`` (tests). This is the only module that reads the environment.

Each field's metadata carries its environment variable and its documentation; the README
settings table is checked against it by a test.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cds_service.core.errors import ConfigurationError
from cds_service.core.fhir_base import FhirBase
from cds_service.core.setting_checks import database_url, thresholds_file, valuesets_dir

ENV_PREFIX = "MRCDS_"


def _default_database_url() -> str:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / 'mr-cds-hooks' / 'mr-cds.sqlite3'}"


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _origins(value: str) -> tuple[str, ...]:
    """``*`` or browser origins (scheme://host[:port]): a path or a missing scheme never matches.

    Empty means the authentication mode's default (see ``create_app``)."""
    origins = _csv(value)  # empty: the default of the authentication mode (see create_app)
    for origin in origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ValueError(f"{origin!r} is not an origin like https://ehr.example.org[:port]")
    return origins


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def _fhir_bases(value: str) -> tuple[str, ...]:
    """FHIR base URLs: https, or http only on a loopback host (local servers and tests)."""
    bases = _csv(value)
    for entry in bases:
        try:
            base = FhirBase.parse(entry)
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not a plain http(s) base URL: {exc}") from None
        if base.scheme == "http" and not base.is_loopback:
            raise ValueError(f"http is allowed only on a loopback host, use https: {entry!r}")
    return bases


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _auth(value: str) -> str:
    mode = value.strip().lower()
    if mode not in ("", "jwt", "off"):
        raise ValueError("must be 'jwt' or 'off'")
    return mode


def _public_base_url(value: str) -> str:
    """The service's external base URL (scheme, host, optional path prefix), no trailing slash."""
    url = value.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    if parts.query or parts.fragment or parts.username is not None or parts.password is not None:
        raise ValueError("must have no query, fragment or credentials")
    return url.rstrip("/")


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"not a whole number: {value!r}") from None
    if number <= 0:
        raise ValueError(f"must be positive: {value!r}")
    return number


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"not a number: {value!r}") from None
    # float() accepts "nan" and "inf": a deadline of either makes every fetch fail.
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"must be a positive finite number: {value!r}")
    return number


def _port_or_zero(value: str) -> int:
    """A TCP port, or 0 (empty) for none."""
    text = value.strip()
    if not text:
        return 0
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"must be a whole number from 1 to 65535, not {value!r}")
    return int(text)


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in _LOG_LEVELS:
        raise ValueError(f"{value!r} is not one of {', '.join(_LOG_LEVELS)}")
    return level


#: Ending of the variable that names a file holding a secret setting's value (a mounted
#: Kubernetes or Docker secret), so that the secret is not in the process environment.
FILE_SUFFIX = "_FILE"


def _setting(
    default: Any, parse: Callable[[str], Any], doc: str, *, factory: bool = False, secret: bool = False
) -> Any:
    meta = {"parse": parse, "doc": doc, "secret": secret}
    if factory:
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """Service configuration; see the README table for each setting."""

    auth: str = _setting(
        "",
        _auth,
        "Client authentication: `jwt` or `off`. Empty: `jwt` when trusted issuers are set or "
        "`mr-cds serve` binds a non-loopback address, else `off` (with a warning).",
    )
    trusted_issuers: str = _setting(
        "", str, "JSON file of the issuers whose signed JWTs are accepted (see Authentication)."
    )
    public_base_url: str = _setting(
        "",
        _public_base_url,
        "The service's external base URL, e.g. `https://cds.example.org`; each token's `aud` "
        "must be it plus the path called. Required with `jwt`.",
    )
    jwt_max_expiry_s: int = _setting(
        3600,
        _positive_int,
        "Longest a client's token may still be valid (its `exp` minus now, seconds); a token "
        "valid for longer is refused with 401.",
    )
    allow_insecure: bool = _setting(
        False, _bool, "Allow `MRCDS_AUTH=off` on a non-loopback address (never in production)."
    )
    max_body_bytes: int = _setting(
        5 * 1024 * 1024, _positive_int, "Largest accepted request body (bytes), checked from Content-Length."
    )
    body_read_timeout_s: float = _setting(
        10.0,
        _positive_float,
        "Longest time (seconds) a client may take to send a request body under `mr-cds serve`; "
        "past it the answer is 408 and the connection is closed.",
    )
    max_resources: int = _setting(
        5000,
        _positive_int,
        "Most FHIR resources in one hook request (prefetch included); more is refused with 413, "
        "so one huge chart cannot occupy a worker for long.",
    )
    cors_origins: tuple[str, ...] = _setting(
        (),
        _origins,
        "Comma-separated origins allowed by CORS, `*` for any. Empty: `*` when authentication "
        "is `jwt` (every call needs a signed token; the public sandbox needs it), none when `off`.",
    )
    database_url: str = _setting(
        _default_database_url,
        database_url,
        "SQLAlchemy URL of the feedback store (SQLite file by default, PostgreSQL in production).",
        factory=True,
        secret=True,
    )
    database_lock_timeout_s: float = _setting(
        5.0,
        _positive_float,
        "Longest wait (seconds) for a database lock (SQLite busy timeout, PostgreSQL lock_timeout); "
        "past it a feedback post gets 503 and stores nothing.",
    )
    issued_buffer_cards: int = _setting(
        20_000,
        _positive_int,
        "Issued-card records each worker keeps in memory while the database cannot take them "
        "(stopped, paused, locked); past it new records are dropped, counted and logged.",
    )
    database_upgrade_on_start: bool = _setting(
        True,
        _bool,
        "Upgrade the database schema when the service starts; `false`: run `mr-cds db upgrade` "
        "yourself (start-up then refuses an out-of-date schema).",
    )
    fhir_allowlist: tuple[str, ...] = _setting(
        (),
        _fhir_bases,
        "Comma-separated FHIR base URLs the service may call (https; http only on loopback); "
        "empty: no outgoing calls.",
    )
    fhir_timeout_s: float = _setting(
        3.0, _positive_float, "Overall deadline (seconds) for fetching missing prefetch data per hook call."
    )
    fhir_max_pages: int = _setting(5, _positive_int, "Most `next` pages followed per search.")
    fhir_max_workers: int = _setting(
        11,
        _positive_int,
        "Concurrent FHIR requests per hook call (default: one per prefetch key, so only a "
        "search's own pages wait for each other).",
    )
    thresholds_file: str = _setting(
        "",
        thresholds_file,
        "JSON file overriding clinical thresholds and time windows (empty: built-in defaults).",
    )
    valuesets_dir: str = _setting(
        "",
        valuesets_dir,
        "Folder of site codes: JSON files in the shipped value-set format, each adding its codes "
        "(each with a `source`) to the shipped value set its `id` names (empty: shipped codes only).",
    )
    log_level: str = _setting("INFO", _log_level, "Logging level: DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    expose_openapi: bool = _setting(True, _bool, "Serve `GET /openapi.yaml`.")
    metrics: bool = _setting(
        False,
        _bool,
        "Serve Prometheus metrics at `GET /metrics` (`on` or `off`); keep it off the public network.",
    )
    metrics_port: int = _setting(
        0,
        _port_or_zero,
        "With metrics on: a port of `mr-cds serve` that serves `GET /metrics` and nothing else, "
        "which the service's port then refuses (0: metrics on the service's port), so that a "
        "firewall or NetworkPolicy can keep metrics inside.",
    )
    warm_up: bool = _setting(
        True, _bool, "Evaluate one synthetic chart at start-up so the first real request is not slow."
    )

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Defaults, then ``MRCDS_*`` variables, then ``overrides`` (already typed values)."""
        env = os.environ if environ is None else environ
        _refuse_unknown_variables(env)
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = ENV_PREFIX + f.name.upper()
            text, source = _environment_value(env, name, secret=f.metadata["secret"])
            if text is not None:
                try:
                    values[f.name] = f.metadata["parse"](text)
                except ValueError as exc:
                    raise ConfigurationError(f"{source}: {exc}") from None
        settings = replace(cls(), **values)
        if overrides:
            unknown = set(overrides) - {f.name for f in fields(cls)}
            if unknown:
                raise ConfigurationError(f"unknown settings: {', '.join(sorted(unknown))}")
            settings = replace(settings, **_coerce(overrides))
        return settings


def _environment_value(env: Mapping[str, str], name: str, *, secret: bool) -> tuple[str | None, str]:
    """The variable's text and the variable to name in errors; a secret may come from the
    file named by ``<name>_FILE`` instead (its content, without the final line break)."""
    file_variable = name + FILE_SUFFIX
    if not secret or file_variable not in env:
        return env.get(name), name
    if name in env:
        raise ConfigurationError(f"{file_variable}: set either {name} or {file_variable}, not both")
    path = Path(env[file_variable].strip())
    if path.is_dir():
        raise ConfigurationError(
            f"{file_variable}: {str(path)!r} is a folder, not a file (a container mount of a file "
            "missing on the host leaves a folder in its place)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ConfigurationError(f"{file_variable}: cannot read {str(path)!r} ({why})") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{file_variable}: {str(path)!r} is not UTF-8 text") from None
    text = text.strip()  # secret files usually end with a line break; no value has surrounding space
    if not text:
        raise ConfigurationError(f"{file_variable}: {str(path)!r} is empty")
    return text, file_variable


#: Variables of the test suite (e.g. MRCDS_TEST_POSTGRES_URL), not of the service.
TEST_PREFIX = ENV_PREFIX + "TEST_"


def _refuse_unknown_variables(env: Mapping[str, str]) -> None:
    """A misspelt variable name would otherwise be ignored without a word."""
    known = [variable for variable, _, _ in settings_table()]
    for name in sorted(env):
        if name.startswith(ENV_PREFIX) and not name.startswith(TEST_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigurationError(f"{name}: not a setting of this service{hint}")


def _coerce(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Let tests pass strings as the environment would (checked the same way), or typed values."""
    by_name = {f.name: f for f in fields(Settings)}
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if isinstance(value, str):
            try:
                value = by_name[key].metadata["parse"](value)
            except ValueError as exc:
                raise ConfigurationError(f"{key}: {exc}") from None
        out[key] = value
    return out


def settings_table() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting, for the README."""
    defaults = Settings()
    rows = []
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        if f.name == "database_url":
            shown = "`sqlite:///$XDG_DATA_HOME/mr-cds-hooks/mr-cds.sqlite3`"
        elif isinstance(default, tuple):
            shown = f"`{','.join(default)}`" if default else "(empty)"
        elif isinstance(default, bool):
            shown = f"`{str(default).lower()}`"
        else:
            shown = f"`{default}`" if default != "" else "(empty)"
        variable = ENV_PREFIX + f.name.upper()
        rows.append((variable, shown, f.metadata["doc"]))
        if f.metadata["secret"]:
            rows.append(
                (
                    variable + FILE_SUFFIX,
                    "(empty)",
                    f"A file holding `{variable}` (e.g. a mounted secret), so that it is not in the "
                    "environment; set one of the two, not both.",
                )
            )
    return rows
