# Benchmarks: built on demand, never part of make check.
EXTRA_PROGRAMS = bench/bench_alloc
bench_bench_alloc_LDADD = $(XENVD_LIBS)
CLEANFILES += bench/bench_alloc

bench-alloc: bench/bench_alloc
	./bench/bench_alloc
.PHONY: bench-alloc
