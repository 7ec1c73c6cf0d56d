"""asv benchmarks for tinygrad_edu (see benchmarks/README.md)."""
