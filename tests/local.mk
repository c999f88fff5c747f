# Foundation tests: cmocka unit tests of libxenvd, and xl-vd integration tests on file pools.
UNIT_CORE = tests/unit/test_util tests/unit/test_label tests/unit/test_alloc
check_PROGRAMS += $(UNIT_CORE)
TESTS += $(UNIT_CORE)
tests_unit_test_util_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS)
tests_unit_test_label_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS)
tests_unit_test_alloc_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS)
tests_unit_test_util_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_label_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_alloc_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)

# Just the unit tests (the ASan+UBSan CI build runs these).
check-unit:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="`for t in $(TESTS); do case $$t in tests/unit/*) echo $$t;; esac; done`"
.PHONY: check-unit

INTEGRATION_CORE = \
	tests/integration/xlvd_cli.sh \
	tests/integration/xlvd_bad_input.sh \
	tests/integration/xlvd_concurrency.sh \
	tests/integration/xlvd_crash.sh \
	tests/integration/xlvd_label_search.sh
TESTS += $(INTEGRATION_CORE)
dist_check_SCRIPTS += $(INTEGRATION_CORE) tests/integration/lib.sh

# More crash trials than the default suite runs.
check-crash-long:
	XENVD_CRASH_TRIALS=1000 $(MAKE) $(AM_MAKEFLAGS) check TESTS=tests/integration/xlvd_crash.sh
.PHONY: check-crash-long

# The README's demo: a file-backed pool and its own database in a work directory.
demo: xl-extensions/xl-vd
	$(SHELL) $(top_srcdir)/tests/demo.sh $(abs_top_builddir)/xl-extensions/xl-vd
.PHONY: demo
EXTRA_DIST += tests/demo.sh
