"""Audio and datasets: decode to float32 mono 16 kHz, read manifests and ``hf:`` datasets, shard them.

Knows nothing of engines, devices or pytest."""
