# Benchmarks: built on demand, never part of make check.
EXTRA_PROGRAMS = bench/bench_alloc
bench_bench_alloc_LDADD = $(XENVD_LIBS)
CLEANFILES += bench/bench_alloc

bench-alloc: bench/bench_alloc
	./bench/bench_alloc
.PHONY: bench-alloc

# Whole-process latency against the pool's size (xl-vd create/show/list, block-vd's database
# phase through bench_dbphase): 10^3..10^6 extents side by side.
EXTRA_PROGRAMS += bench/bench_dbphase
bench_bench_dbphase_LDADD = $(XENVD_LIBS)
CLEANFILES += bench/bench_dbphase
EXTRA_DIST += bench/bench_pool.sh

bench-pool: bench/bench_dbphase xl-extensions/xl-vd
	XL_VD=$(abs_builddir)/xl-extensions/xl-vd BENCH_DBPHASE=$(abs_builddir)/bench/bench_dbphase \
		bash $(srcdir)/bench/bench_pool.sh
.PHONY: bench-pool
