"""Benchmarks: scripts that print figures (run one with `python -m bench.<name>`); not tests."""
