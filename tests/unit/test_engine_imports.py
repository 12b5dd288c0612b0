"""Installed is not the same as working: an absent engine package skips, a broken one errors."""

from __future__ import annotations

import pytest

from asrbench.core.errors import EngineError, EngineUnavailable
from asrbench.engines import base as engine_base
from asrbench.engines import engine_class, parse_model_spec
from asrbench.hardware.devices import Device

ENGINES = ["faster_whisper", "whisper", "lfm2_5_audio"]
MAIN_MODULE = {"faster_whisper": "faster_whisper", "whisper": "whisper",
               "lfm2_5_audio": "liquid_audio"}


@pytest.mark.parametrize("name", ENGINES)
def test_every_installed_engine_really_imports(name):
    # the test extras install every engine: each must import, or the suite fails (never skips)
    status = engine_class(name).import_status()
    assert (status.state, status.reason) == ("ok", None)


@pytest.mark.parametrize("name", ENGINES)
def test_a_broken_import_is_an_error_naming_package_version_and_cause(name, break_import):
    cls = engine_class(name)
    break_import(MAIN_MODULE[name], RuntimeError("compiled with different CUDA versions"))
    with pytest.raises(EngineError) as caught:
        cls.load(parse_model_spec(name), Device("cpu"))
    message = str(caught.value)
    assert message.startswith(f"{name}: {cls.package} ")
    assert "is installed but cannot be imported (RuntimeError: compiled with different CUDA" in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ENGINES)
def test_an_absent_package_is_unavailable_with_the_extra_to_install(name, monkeypatch):
    cls = engine_class(name)
    real = engine_base._version
    monkeypatch.setattr(engine_base, "_version", lambda d: None if d == cls.package else real(d))
    with pytest.raises(EngineUnavailable, match=rf"{cls.package} is not installed "
                                                rf"\(pip install 'pytest-asrbench\[{cls.extra}\]'\)"):
        cls.load(parse_model_spec(name), Device("cpu"))
