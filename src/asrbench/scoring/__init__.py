"""Scoring: text normalisers, WER/CER with substitutions, deletions and insertions, the bootstrap,
significance between two runs, and word alignments. Pure functions of text: no files, no devices."""
