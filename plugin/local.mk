# libxenvd, the core every program links: one folder per subsystem, each with its fragment.
# A folder includes only from those listed before it.
include plugin/base/local.mk
include plugin/pool/local.mk
include plugin/attach/local.mk
include plugin/boot/local.mk

# vdloader, the libxl bootloader: a thin main over plugin/boot/. VDLOADER_* (configure.ac): fully
# static, --vd=ID handed to vdloader-vd (the same main, built to read the pool itself); or, without
# libc.a or with --disable-static-vdloader, one binary that reads --vd itself.
xenlibexec_PROGRAMS += plugin/vdloader
plugin_vdloader_SOURCES = plugin/vdloader.c
plugin_vdloader_CPPFLAGS = $(AM_CPPFLAGS) $(VDLOADER_CPPFLAGS)
plugin_vdloader_LDFLAGS = $(AM_LDFLAGS) $(VDLOADER_LDFLAGS)
plugin_vdloader_LDADD = $(top_builddir)/plugin/libxenvd.a $(VDLOADER_LIBS)
if VDLOADER_SPLIT
xenlibexec_PROGRAMS += plugin/vdloader-vd
plugin_vdloader_vd_SOURCES = plugin/vdloader.c
plugin_vdloader_vd_CPPFLAGS = $(AM_CPPFLAGS) -DVDLOADER_VD_IN_PROCESS=1
plugin_vdloader_vd_LDFLAGS = $(AM_LDFLAGS) $(VDLOADER_VD_LDFLAGS)
plugin_vdloader_vd_LDADD = $(top_builddir)/plugin/libxenvd.a $(VDLOADER_VD_LIBS)
if VDLOADER_LAYOUT
# The static vdloader's code laid out by use: each process maps a third of the 64 KiB windows
# it maps in archive order (plugin/vdloader-layout.sh says why and how).
plugin_vdloader_LDFLAGS += -Wl,-T,$(top_srcdir)/plugin/vdloader.ld
EXTRA_plugin_vdloader_DEPENDENCIES = $(top_srcdir)/plugin/vdloader.ld
endif

# Regenerates plugin/vdloader.ld from a profile of the static vdloader linked without it (after
# changes to vdloader's code paths or to the libraries' versions; slow: five single-stepped runs).
vdloader-layout: plugin/vdloader-vdloader.o plugin/libxenvd.a
	$(AM_V_CCLD)$(CCLD) $(CFLAGS) $(AM_LDFLAGS) $(LDFLAGS) $(VDLOADER_LDFLAGS) \
		-Wl,-Map=plugin/vdloader-profile.map -o plugin/vdloader-profile \
		plugin/vdloader-vdloader.o plugin/libxenvd.a $(VDLOADER_LIBS)
	top_srcdir='$(abs_top_srcdir)' $(SHELL) $(top_srcdir)/plugin/vdloader-layout.sh \
		plugin/vdloader-profile plugin/vdloader-profile.map $(top_srcdir)/plugin/vdloader.ld
	rm -f plugin/vdloader-profile plugin/vdloader-profile.map
else
vdloader-layout:
	@echo "make vdloader-layout: profiles the static vdloader, and this build has none" \
		"(configure found no libc.a, or was given --disable-static-vdloader)" >&2; exit 1
endif
.PHONY: vdloader-layout
EXTRA_DIST += plugin/vdloader.ld plugin/vdloader-layout.sh
dist_man_MANS += doc/vdloader.1
