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
endif
dist_man_MANS += doc/vdloader.1
