"""Benchmarks: scripts that print figures. Results and commands are in BENCHMARKS.md."""
