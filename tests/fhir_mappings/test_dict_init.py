"""``dict_init`` builds the same instances as dataclass's own ``__init__``, and stays frozen."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field

import pytest

from fhir_mappings.dict_init import dict_init


@dataclass(frozen=True)
class _Generated:
    name: str
    count: int = 0
    tags: tuple[str, ...] = ()
    extra: dict[str, int] = field(default_factory=dict)


@dict_init
@dataclass(frozen=True)
class _Filled:
    name: str
    count: int = 0
    tags: tuple[str, ...] = ()
    extra: dict[str, int] = field(default_factory=dict)


def test_the_signature_is_the_dataclasses_own() -> None:
    generated = inspect.signature(_Generated.__init__).parameters
    filled = inspect.signature(_Filled.__init__).parameters
    assert list(filled) == list(generated)
    for name in ("count", "tags"):
        assert filled[name].default == generated[name].default


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("a",), {}), (("a", 2), {}), (("a",), {"tags": ("x",), "extra": {"k": 1}}), (("a", 3, ("y",)), {})],
)
def test_an_instance_has_the_fields_dataclass_would_give(args: tuple, kwargs: dict) -> None:
    assert dataclasses.astuple(_Filled(*args, **kwargs)) == dataclasses.astuple(_Generated(*args, **kwargs))


def test_a_default_factory_is_called_per_instance() -> None:
    first, second = _Filled("a"), _Filled("b")
    assert first.extra == {}
    assert first.extra is not second.extra


def test_the_instance_stays_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _Filled("a").count = 1  # type: ignore[misc]


def test_a_class_needing_dataclasses_own_init_is_refused() -> None:
    with pytest.raises(TypeError):

        @dict_init
        @dataclass(frozen=True)
        class _Checked:
            value: int

            def __post_init__(self) -> None:
                pass
