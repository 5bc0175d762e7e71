"""The app's Flask: no sessions, and "is this view or hook async?" asked once per function;
each as Flask itself would answer (issue 18)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, session
from flask.sessions import NullSession

from cds_service.http.app import ServiceFlask
from tests.conftest import SERVICE_URL, hook_request


def _session_write_error(app: Flask) -> str:
    @app.get("/write-session")
    def write() -> str:
        session["x"] = 1
        return "written"

    @app.errorhandler(RuntimeError)
    def said(exc: RuntimeError) -> tuple[str, int]:
        return str(exc), 500

    return app.test_client().get("/write-session").get_data(as_text=True)


def test_a_session_reads_empty_and_refuses_writes_as_flasks_own_without_a_secret_key() -> None:
    assert _session_write_error(ServiceFlask("a")) == _session_write_error(Flask("b"))
    assert "no secret key" in _session_write_error(ServiceFlask("c"))
    app = ServiceFlask("d")
    seen: list[Any] = []

    @app.get("/read-session")
    def read() -> str:
        seen.append(session._get_current_object())  # type: ignore[attr-defined]
        return str(dict(session))

    client = app.test_client()
    assert [client.get("/read-session").get_data(as_text=True) for _ in range(2)] == ["{}", "{}"]
    assert isinstance(seen[0], NullSession)
    assert seen[0] is seen[1]


def test_the_service_app_is_a_service_flask_and_answers_without_a_cookie(client: Any) -> None:
    assert isinstance(client.application, ServiceFlask)
    for response in (client.get("/cds-services"), client.post(SERVICE_URL, json=hook_request())):
        assert response.status_code in (200, 412)  # discovery; a call without its prefetch
        assert "Set-Cookie" not in response.headers
        assert "Vary" not in response.headers


def _flask_answer(app: Flask, func: Callable[..., Any]) -> Any:
    try:
        return Flask.ensure_sync(app, func)
    except RuntimeError as exc:  # async without Flask's async extra
        return ("refused", str(exc))


def _service_answer(app: ServiceFlask, func: Callable[..., Any]) -> Any:
    try:
        return app.ensure_sync(func)
    except RuntimeError as exc:
        return ("refused", str(exc))


class _Unhashable:
    __hash__ = None  # type: ignore[assignment]

    def __call__(self) -> None:
        pass


def test_ensure_sync_answers_as_flask_each_time_for_plain_and_async_functions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = ServiceFlask("e")
    made: list[Callable[..., Any]] = []

    def wrapped(func: Callable[..., Any]) -> Callable[..., Any]:
        def sync() -> Any:
            return func

        made.append(sync)
        return sync

    monkeypatch.setattr(app, "async_to_sync", wrapped)

    def plain() -> None:
        pass

    async def coroutine() -> None:
        pass

    unhashable = _Unhashable()
    for _ in range(3):
        assert app.ensure_sync(plain) is plain
        assert app.ensure_sync(unhashable) is unhashable
        assert app.ensure_sync(coroutine) is made[-1]  # wrapped every time, as by Flask
    assert len(made) == 3
    assert plain in app._plain_functions
    assert coroutine not in app._plain_functions
    # Without the async extra both refuse the same way.
    bare = ServiceFlask("f")
    assert _service_answer(bare, coroutine) == _flask_answer(Flask("g"), coroutine)


def test_the_plain_functions_remembered_are_bounded() -> None:
    app = ServiceFlask("h")
    functions = [lambda n=n: n for n in range(ServiceFlask.MAX_REMEMBERED + 20)]
    for func in functions:
        assert app.ensure_sync(func) is func
    assert len(app._plain_functions) == ServiceFlask.MAX_REMEMBERED
    assert all(app.ensure_sync(func) is func for func in functions)
