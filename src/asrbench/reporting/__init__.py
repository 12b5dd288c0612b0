"""Reporting: the terminal summary, the JSON report and its schema, saved history, compare, merge,
plots and the baseline gate. Reads results; never runs a model."""
