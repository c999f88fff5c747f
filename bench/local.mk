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

# The on-pool database against the file database (root: loop devices).
EXTRA_PROGRAMS += bench/bench_onpool_dbphase
bench_bench_onpool_dbphase_LDADD = $(XENVD_LIBS)
CLEANFILES += bench/bench_onpool_dbphase
EXTRA_DIST += bench/bench_onpool.sh
bench-onpool: bench/bench_onpool_dbphase xl-extensions/xl-vd
	PATH='$(abs_top_builddir)/xl-extensions':"$$PATH" DBPHASE=bench/bench_onpool_dbphase \
		bash $(top_srcdir)/bench/bench_onpool.sh
.PHONY: bench-onpool

# A shared pool (sanlock lease around every metadata transaction) against the same pool
# unshared, with the floor of one bare lease acquisition (root, sanlock: the script starts its
# own daemon).
EXTRA_PROGRAMS += bench/bench_lease
bench_bench_lease_LDADD = $(XENVD_LIBS)
CLEANFILES += bench/bench_lease
EXTRA_DIST += bench/bench_shared.sh
bench-shared: bench/bench_onpool_dbphase bench/bench_lease xl-extensions/xl-vd
	PATH='$(abs_top_builddir)/xl-extensions':"$$PATH" DBPHASE=bench/bench_onpool_dbphase \
		LEASE=bench/bench_lease bash $(top_srcdir)/bench/bench_shared.sh
.PHONY: bench-shared
