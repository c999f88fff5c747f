# block-vd, the hotplug backend libxl runs for script=block-vd disks.
xenscript_PROGRAMS += hotplug/block-vd
hotplug_block_vd_SOURCES = hotplug/block-vd.c
# HOTPLUG_LIBS: sqlite3, blkid, xenstore linked statically unless --disable-static-hotplug
hotplug_block_vd_LDADD = $(top_builddir)/plugin/libxenvd.a $(HOTPLUG_LIBS)
dist_man_MANS += doc/block-vd.8
EXTRA_DIST += bench/bench_hotplug.sh
