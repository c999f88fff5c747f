# Foundation tests: cmocka unit tests of libxenvd, and xl-vd integration tests on file pools.
UNIT_CORE = tests/unit/test_util tests/unit/test_label tests/unit/test_alloc tests/unit/test_onpool
check_PROGRAMS += $(UNIT_CORE)
TESTS += $(UNIT_CORE)
tests_unit_test_util_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS)
tests_unit_test_label_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS)
tests_unit_test_alloc_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS)
tests_unit_test_util_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_label_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_alloc_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_onpool_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS)
tests_unit_test_onpool_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)

# The integration tests' sqlite3 for a database on a pool's metadata area as well.
check_PROGRAMS += tests/vd-sql
tests_vd_sql_SOURCES = tests/vd-sql.c
tests_vd_sql_LDADD = $(XENVD_LIBS)

# The active-VD lease holder against a real sanlock daemon (skips without one).
check_PROGRAMS += tests/holder-probe
tests_holder_probe_SOURCES = tests/holder-probe.c
tests_holder_probe_LDADD = $(XENVD_LIBS)
TESTS += tests/integration/holder_sanlock.sh tests/integration/shared_hosts.sh
dist_check_SCRIPTS += tests/integration/holder_sanlock.sh tests/integration/shared_hosts.sh
# The same with host 2's sanlock killed and host 1 waiting until sanlock declares it dead
# (host_dead = 8 x io_timeout + 60 s: about 80 s at io_timeout 1).
check-shared-dead:
	XENVD_SHARED_DEAD=1 $(MAKE) $(AM_MAKEFLAGS) check TESTS=tests/integration/shared_hosts.sh
.PHONY: check-shared-dead

# Just the unit tests (the ASan+UBSan CI build runs these), on one line: the on-pool suite
# passes $(TESTS) on in a quoted variable.
check-unit:
	$(MAKE) $(AM_MAKEFLAGS) check \
		TESTS="`for t in $(TESTS); do case $$t in tests/unit/*) printf '%s ' $$t;; esac; done`"
.PHONY: check-unit

INTEGRATION_CORE = \
	tests/integration/xlvd_cli.sh \
	tests/integration/xlvd_bad_input.sh \
	tests/integration/xlvd_concurrency.sh \
	tests/integration/xlvd_crash.sh \
	tests/integration/xlvd_onpool.sh \
	tests/integration/xlvd_crash_loop.sh \
	tests/integration/xlvd_label_search.sh
TESTS += $(INTEGRATION_CORE)
dist_check_SCRIPTS += $(INTEGRATION_CORE) tests/integration/lib.sh
EXTRA_DIST += tests/integration/shared-lib.sh

# A pool shared by two hosts through real sanlock daemons started by the test (skips without
# sanlock or root); ~70 s, most of it sanlock's own wait before refusing a duplicate host id.
TESTS += tests/integration/xlvd_shared.sh
dist_check_SCRIPTS += tests/integration/xlvd_shared.sh
check_PROGRAMS += tests/sanlock-probe
tests_sanlock_probe_SOURCES = tests/sanlock-probe.c
tests_sanlock_probe_LDADD = $(XENVD_LIBS)

# Everything again on the on-pool database (tests/onpool-suite.sh): the whole suite but itself
# and the QEMU bed, which has a step of its own for it.
TESTS += tests/onpool-suite.sh
dist_check_SCRIPTS += tests/onpool-suite.sh
AM_TESTS_ENVIRONMENT += \
	ONPOOL_SUITE='$(TESTS)'; export ONPOOL_SUITE;
CLEAN_DIRS += tests/onpool-suite.d
EXTRA_DIST += tests/unit/pool_fixture.h

# More crash trials than the default suite runs.
check-crash-long:
	XENVD_CRASH_TRIALS=1000 $(MAKE) $(AM_MAKEFLAGS) check TESTS=tests/integration/xlvd_crash.sh
.PHONY: check-crash-long

# More crash trials of a pool that carries its database on a block device.
check-crash-onpool-long:
	XENVD_CRASH_TRIALS=500 $(MAKE) $(AM_MAKEFLAGS) check TESTS=tests/integration/xlvd_crash_loop.sh
.PHONY: check-crash-onpool-long

# The 8 x 200 concurrency run with the database on a loop device (make check runs it on the
# on-pool database of a file-backed pool, in tests/onpool-suite.sh).
check-concurrency-onpool:
	XENVD_CONC_LOOP=1 $(MAKE) $(AM_MAKEFLAGS) check TESTS=tests/integration/xlvd_concurrency.sh
.PHONY: check-concurrency-onpool

# The README's demo: a file-backed pool and its own database in a work directory.
demo: xl-extensions/xl-vd
	$(SHELL) $(top_srcdir)/tests/demo.sh $(abs_top_builddir)/xl-extensions/xl-vd
.PHONY: demo
EXTRA_DIST += tests/demo.sh
