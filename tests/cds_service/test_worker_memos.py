"""The worker's memos of gunicorn's per-request work: a peer's trust as a forwarding proxy,
and the worker's settings as plain attributes. Each gives what gunicorn gives (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.http import message as gunicorn_message
from gunicorn.http.parser import RequestParser

from cds_service.runtime import gunicorn_worker
from cds_service.runtime.gunicorn_worker import freeze_settings, ip_in_allow_list

GUNICORNS_CHECK = gunicorn_worker._gunicorn_ip_in_allow_list

PEERS = ["127.0.0.1", "10.0.0.7", "10.1.0.7", "::1", "fe80::1", "2001:db8::5", "not-an-address", ""]
ALLOW_LISTS = [["127.0.0.1", "::1"], ["*"], ["10.0.0.0/16", "2001:db8::/32"], [], ["10.0.0.7"]]


def _config(allow: list[str]) -> Config:
    cfg = Config()
    cfg.set("forwarded_allow_ips", ",".join(allow))
    return cfg


@pytest.fixture(autouse=True)
def _fresh_memo() -> None:
    gunicorn_worker._peer_answers.clear()


def test_gunicorns_parser_asks_the_remembering_check() -> None:
    assert GUNICORNS_CHECK is not None
    assert gunicorn_message._ip_in_allow_list is ip_in_allow_list


@pytest.mark.parametrize("allow", ALLOW_LISTS)
def test_each_peer_gets_gunicorns_answer_the_first_time_and_every_time_after(allow: list[str]) -> None:
    assert GUNICORNS_CHECK is not None
    cfg = _config(allow)
    allow_list, networks = cfg.forwarded_allow_ips, cfg.forwarded_allow_networks()
    for _ in range(3):
        for peer in PEERS:
            assert ip_in_allow_list(peer, allow_list, networks) == GUNICORNS_CHECK(peer, allow_list, networks)


def test_an_answer_is_kept_for_its_own_allow_list_only() -> None:
    local, anywhere = _config(["127.0.0.1"]), _config(["*"])
    assert ip_in_allow_list("10.0.0.7", anywhere.forwarded_allow_ips, anywhere.forwarded_allow_networks())
    assert not ip_in_allow_list("10.0.0.7", local.forwarded_allow_ips, local.forwarded_allow_networks())
    # The same list with other networks (a configuration read again) is asked again.
    other_networks = _config(["10.0.0.0/8"]).forwarded_allow_networks()
    assert ip_in_allow_list("10.0.0.7", local.forwarded_allow_ips, other_networks) == GUNICORNS_CHECK(
        "10.0.0.7", local.forwarded_allow_ips, other_networks
    )


def test_the_memo_is_bounded() -> None:
    cfg = _config(["10.0.0.0/8"])
    for n in range(gunicorn_worker.MAX_PEERS_REMEMBERED + 10):
        ip_in_allow_list(
            f"10.{n // 256}.{n % 256}.1", cfg.forwarded_allow_ips, cfg.forwarded_allow_networks()
        )
    assert 0 < len(gunicorn_worker._peer_answers) <= gunicorn_worker.MAX_PEERS_REMEMBERED


def _scheme(cfg: Config, peer: str) -> str:
    raw = b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\n\r\n"
    request: Any = next(iter(RequestParser(cfg, [raw], (peer, 5000))))
    return str(request.scheme)


def test_only_a_trusted_proxy_sets_the_scheme_request_after_request() -> None:
    cfg = _config(["10.0.0.7"])
    for _ in range(3):
        assert _scheme(cfg, "10.0.0.7") == "https"
        assert _scheme(cfg, "10.0.0.8") == "http"


def _served_config() -> Config:
    """Some of what ``mr-cds serve`` sets (``server.options``; importing it patches gevent)."""
    cfg = Config()
    cfg.set("bind", "127.0.0.1:8000")
    cfg.set("worker_connections", 1000)
    cfg.set("keepalive", 5)
    cfg.set("limit_request_fields", 100)
    cfg.set("logger_class", "cds_service.runtime.gunicorn_logger.NoAccessLogger")
    return cfg


def test_frozen_settings_read_as_gunicorn_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    plain, frozen = _served_config(), _served_config()
    freeze_settings(frozen)
    asked: list[str] = []
    original = Config.__getattr__

    def counting(self: Config, name: str) -> Any:
        asked.append(name)
        return original(self, name)

    monkeypatch.setattr(Config, "__getattr__", counting)
    for name in plain.settings:
        assert getattr(frozen, name) == getattr(plain, name), name
    assert frozen.worker_connections == 1000
    # Config's properties stay properties, and give the same.
    for name in ("is_ssl", "address", "uid", "gid", "proc_name", "logger_class", "worker_class_str"):
        assert getattr(frozen, name) == getattr(plain, name), name
    asked.clear()
    for name in plain.settings:
        getattr(frozen, name)
    assert asked == []  # none read through Config.__getattr__
    for name in plain.settings:
        getattr(plain, name)
    assert asked  # as gunicorn reads them
