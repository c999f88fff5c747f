# vdloader tests: libxl-style runs on images built with mke2fs -d and sfdisk,
# hostile images, pygrub side by side, parser unit tests, libFuzzer runs.
UNIT_BOOT = tests/unit/test_boot_parsers tests/unit/test_boot_sandbox tests/unit/test_boot_loader
check_PROGRAMS += $(UNIT_BOOT)
TESTS += $(UNIT_BOOT)
tests_unit_test_boot_parsers_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS)
tests_unit_test_boot_parsers_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_boot_sandbox_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS)
tests_unit_test_boot_sandbox_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_boot_loader_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS)
tests_unit_test_boot_loader_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)

check_PROGRAMS += tests/integration/boot/libxl_parse
tests_integration_boot_libxl_parse_SOURCES = tests/integration/boot/libxl_parse.c

VDLOADER_INTEGRATION = \
	tests/integration/vdloader.sh \
	tests/integration/vdloader-hostile.sh \
	tests/integration/vdloader-pygrub.sh \
	tests/integration/vdloader-vd.sh \
	tests/integration/vdloader-static.sh \
	tests/integration/vdloader-configs.sh
# vdloader-static.sh checks the fully static build only
AM_TESTS_ENVIRONMENT += \
	VDLOADER_STATIC='$(VDLOADER_STATIC)'; export VDLOADER_STATIC; \
	VDLOADER_LAYOUT='$(VDLOADER_LAYOUT)'; export VDLOADER_LAYOUT;
TESTS += $(VDLOADER_INTEGRATION) tests/fuzz/run-boot-fuzz.sh
dist_check_SCRIPTS += $(VDLOADER_INTEGRATION) tests/fuzz/run-boot-fuzz.sh
EXTRA_DIST += \
	tests/integration/boot/common.sh \
	tests/integration/boot/mkimages.sh \
	tests/integration/boot/get-pygrub.sh \
	tests/integration/boot/configs \
	tests/fuzz/boot_fuzz_common.h tests/fuzz/fuzz_boot_grub.c tests/fuzz/fuzz_boot_bls.c \
	tests/fuzz/fuzz_boot_extlinux.c tests/fuzz/fuzz_boot_menulst.c tests/fuzz/fuzz_boot_fstab.c \
	tests/fuzz/fuzz_boot_entry.c tests/fuzz/fuzz_boot_image.c tests/fuzz/corpus

# Each libFuzzer target for FUZZ_SECONDS (default 600) under ASan/UBSan with a 1 GB RSS limit;
# not part of make check (which runs each for 3 s). Logs and any crash in tests/fuzz/boot/.
fuzz:
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} top_srcdir='$(abs_top_srcdir)' \
		top_builddir='$(abs_top_builddir)' $(SHELL) $(top_srcdir)/tests/fuzz/run-boot-fuzz.sh
.PHONY: fuzz

# vdloader vs pygrub vs a plain cp, two images (not part of make check).
bench-vdloader: plugin/vdloader
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		$(SHELL) $(top_srcdir)/bench/bench_vdloader.sh
.PHONY: bench-vdloader
EXTRA_DIST += bench/bench_vdloader.sh bench/vdloader-image.sh
CLEAN_DIRS += tests/fuzz/boot
DISTCLEAN_DIRS += tests/pygrub-cache
