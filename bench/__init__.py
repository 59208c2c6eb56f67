# Benchmarks of the HB modules (see bench/README.md). Not part of make test.
