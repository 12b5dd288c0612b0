"""Measuring: the protocol (the one clock), the guard (timeouts, out-of-memory), the model and audio
caches, the runner that measures and scores an utterance or a corpus, throughput mode, and results."""
