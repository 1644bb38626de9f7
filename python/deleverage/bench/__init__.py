"""Benchmarks that ship with the package (``deleverage bench ...``): one module per suite."""
