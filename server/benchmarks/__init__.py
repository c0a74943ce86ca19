"""Seller benchmarks: per-metric definitions and the differentially private release mechanism."""
