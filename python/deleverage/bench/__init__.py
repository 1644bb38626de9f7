"""Benchmarks that ship with the package (``deleverage bench ...``)."""

from deleverage.bench.book import BookBenchmark, bench_book

__all__ = ["BookBenchmark", "bench_book"]
