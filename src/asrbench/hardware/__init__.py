"""Hardware: :class:`Device` (a value), what each runtime library says about a device (availability,
synchronisation, memory), NVML, memory watching and thread counts. Libraries are imported when asked."""
