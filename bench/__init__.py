"""Benchmarks: repeatable commands that print figures, with their baselines measured in the same run."""
