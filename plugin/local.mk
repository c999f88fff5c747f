# libxenvd, the core every program links: one folder per subsystem, each with its fragment.
# A folder includes only from those listed before it.
include plugin/base/local.mk
include plugin/pool/local.mk
include plugin/attach/local.mk
include plugin/boot/local.mk

# vdloader, the libxl bootloader: a thin main over plugin/boot/.
xenlibexec_PROGRAMS += plugin/vdloader
plugin_vdloader_SOURCES = plugin/vdloader.c
# VDLOADER_*: sqlite3, blkid, ext2fs linked statically unless --disable-static-vdloader
plugin_vdloader_LDFLAGS = $(AM_LDFLAGS) $(VDLOADER_LDFLAGS)
plugin_vdloader_LDADD = $(top_builddir)/plugin/libxenvd.a $(VDLOADER_LIBS)
dist_man_MANS += doc/vdloader.1
