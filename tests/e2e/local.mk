# End-to-end test bed (issue 5): a real Xen 4.17 with a Debian PV dom0 under QEMU (TCG), the freshly
# built xenvd .deb (`make deb`) unpacked into dom0, the scenario run inside it.
#   make e2e          the scenario (also part of `make check`; XENVD_E2E=skip skips it)
#   make e2e-bench    block-vd vs stock block hotplug figures and an 8-guest boot storm
#   make e2e-shared   two hosts in two QEMUs sharing one pool on sanlock, migration between them
#   make e2e-shared-fencing  the fencing step: a host cut off from the pool disk while a guest
#                     runs there is reset by its watchdog before the other host attaches (~5 min)
# Console logs: tests/e2e/work/console.log and console-bench.log in the build directory.
e2e_files = tests/e2e/README.md tests/e2e/run.sh tests/e2e/dom0-init.sh tests/e2e/lib.sh tests/e2e/scenario.sh \
	tests/e2e/bench.sh tests/e2e/guest-init.sh tests/e2e/host-lib.sh tests/e2e/shared-run.sh \
	tests/e2e/shared.sh tests/e2e/mig-relay.sh
dist_check_SCRIPTS += tests/e2e/e2e.sh
EXTRA_DIST += $(e2e_files)
TESTS += tests/e2e/e2e.sh

.PHONY: e2e e2e-bench e2e-shared e2e-shared-fencing
e2e: all tests/unit/test_dm_live deb
	bash $(abs_top_srcdir)/tests/e2e/run.sh --build-dir '$(abs_top_builddir)' --deb "$(abs_top_builddir)/$(deb_file)"
e2e-bench: all deb
	bash $(abs_top_srcdir)/tests/e2e/run.sh --bench --build-dir '$(abs_top_builddir)' --deb "$(abs_top_builddir)/$(deb_file)"
e2e-shared: all deb
	bash $(abs_top_srcdir)/tests/e2e/shared-run.sh --build-dir '$(abs_top_builddir)' --deb "$(abs_top_builddir)/$(deb_file)"
e2e-shared-fencing: all deb
	XENVD_E2E_SHARED_STEPS="boot daemons join vd sharing fencing" \
		bash $(abs_top_srcdir)/tests/e2e/shared-run.sh --build-dir '$(abs_top_builddir)' --deb "$(abs_top_builddir)/$(deb_file)"
DISTCLEAN_DIRS += tests/e2e/work tests/e2e/work-shared
