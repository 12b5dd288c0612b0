"""Repository-level pytest configuration.

The asrbench plugin registers itself through its ``pytest11`` entry point once the package is
installed (``pip install -e .``), so nothing needs loading here; this file marks the rootdir.
"""
