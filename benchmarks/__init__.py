"""Benchmarks: scripts that print figures (quality, speed, memory); see docs/benchmarks.md."""
