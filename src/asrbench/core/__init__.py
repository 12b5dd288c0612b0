"""The bottom layer: the error family, atomic file writes, JSON-safe figures, package versions
and run identity.

Imports nothing else of asrbench; everything else may import it."""
