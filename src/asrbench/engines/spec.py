"""``--asr-model`` values: :class:`ModelSpec` and :func:`parse_model_spec`, which checks the engine,
its model name and its options against the engine class (found through the registry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asrbench.core.errors import ConfigError
from asrbench.core.identity import looks_like_path
from asrbench.engines.registry import engine_class, engine_names

__all__ = ["ModelSpec", "parse_model_spec"]


@dataclass(frozen=True)
class ModelSpec:
    """``ENGINE[:MODEL][,KEY=VALUE...]``, e.g. ``faster_whisper:tiny.en,compute_type=float32``."""

    engine: str
    model: str | None = None
    options: tuple[tuple[str, str], ...] = field(default=())
    #: The label chosen at start-up so that no two models of a run share one (see ``identity``).
    shown: str | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """Short name used in test ids and reports: a model path is shown by its file name, or by
        as many parent folders as it takes to tell two models of one run apart."""
        if self.shown is not None:
            return self.shown
        model = self.model or engine_class(self.engine).default_model
        shown = Path(model).name if looks_like_path(model) else model
        return f"{self.engine}:{shown}{self.options_text}"

    @property
    def options_text(self) -> str:
        return "".join(f",{key}={value}" for key, value in self.options)

    def option(self, key: str, default: Any) -> Any:
        for name, value in self.options:
            if name == key:
                return value
        return default

    def __str__(self) -> str:
        text = self.engine if self.model is None else f"{self.engine}:{self.model}"
        return text + self.options_text


def parse_model_spec(text: str) -> ModelSpec:
    """Parse a ``--asr-model`` value and check the engine and its options exist."""
    head, *rest = text.strip().split(",")
    engine, _, model = head.partition(":")
    engine = engine.strip()
    if not engine:
        raise ConfigError(f"--asr-model {text!r}: missing engine name; valid: {engine_names()}")
    options: list[tuple[str, str]] = []
    for part in rest:
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--asr-model {text!r}: option {part!r} is not KEY=VALUE")
        options.append((key.strip(), value.strip()))
    spec = ModelSpec(engine, model.strip() or None, tuple(options))
    cls = engine_class(engine)
    if (cls.model_names and spec.model is not None and spec.model not in cls.model_names
            and not looks_like_path(spec.model)):
        raise ConfigError(f"--asr-model {text!r}: unknown {engine} model {spec.model!r}; valid: "
                          f"{', '.join(cls.model_names)}, or a path")
    for key, value in spec.options:
        parser = cls.options.get(key)
        if parser is None:
            valid = ", ".join(sorted(cls.options)) or "none"
            raise ConfigError(f"--asr-model {text!r}: unknown option {key!r}; valid: {valid}")
        try:
            parser(value)
        except ValueError as exc:
            raise ConfigError(f"--asr-model {text!r}: bad value for {key!r} ({exc})") from exc
    cls.check_model(spec)
    return spec
