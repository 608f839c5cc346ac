"""Benchmarks behind `rrm bench`: they print JSON figures; tests never assert timings."""
