"""Feed an engine's stream session a clip in chunks and check the streaming contract on the way."""

from __future__ import annotations

from typing import Any

from asrbench.engines import StreamSession


def stream(engine: Any, audio: Any, chunk_ms: int = 100, policy: Any = None) -> tuple[Any, list[Any], Any]:
    """The session, its updates and the final one. On every update the committed words are a
    prefix of its partial and of every later committed text; the final update commits all."""
    session = engine.start_stream(policy)
    assert isinstance(session, StreamSession)
    step = 16 * chunk_ms
    updates = [session.accept(audio[i:i + step]) for i in range(0, len(audio), step)]
    final = session.finish()
    committed: list[str] = []
    for update in [*updates, final]:
        words = update.committed.split()
        assert words[:len(committed)] == committed, f"committed text changed: {update}"
        assert update.partial.split()[:len(words)] == words, f"not a prefix: {update}"
        committed = words
    assert final.partial == final.committed
    return session, updates, final
