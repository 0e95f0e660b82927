"""Benchmarks: each bench/bench_*.py has a main() that prints `name=value` figures."""
