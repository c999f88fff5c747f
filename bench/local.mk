# Benchmarks: built on demand, never part of make check.
EXTRA_PROGRAMS = bench/bench_alloc bench/bench_dbphase
bench_bench_alloc_LDADD = $(XENVD_LIBS)
CLEANFILES += bench/bench_alloc

bench-alloc: bench/bench_alloc
	./bench/bench_alloc
.PHONY: bench-alloc

# The on-pool database against the file database (root: loop devices).
bench_bench_dbphase_LDADD = $(XENVD_LIBS)
CLEANFILES += bench/bench_dbphase
EXTRA_DIST += bench/bench_onpool.sh
bench-onpool: bench/bench_dbphase xl-extensions/xl-vd
	PATH='$(abs_top_builddir)/xl-extensions':"$$PATH" DBPHASE=bench/bench_dbphase \
		bash $(top_srcdir)/bench/bench_onpool.sh
.PHONY: bench-onpool
