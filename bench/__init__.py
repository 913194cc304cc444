"""Benchmarks (``make bench``): figures, never asserts. Each is reported as a ratio
against a baseline measured in the same run."""
