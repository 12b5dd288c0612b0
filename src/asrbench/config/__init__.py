"""Settings: the options table (:mod:`~asrbench.config.table`, one declaration per option), reading
it from the command line, ini and ``[tool.asrbench]`` (:mod:`~asrbench.config.options`), WER
thresholds, and the typed frozen :class:`~asrbench.config.settings.Settings` built once per run."""
