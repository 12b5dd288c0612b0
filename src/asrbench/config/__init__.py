"""Settings: the options table (one declaration per option, read from the command line, ini and
``[tool.asrbench]``), WER thresholds, and a typed frozen :class:`Settings` built once per run."""
