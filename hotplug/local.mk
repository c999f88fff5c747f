# block-vd, the hotplug backend libxl runs for script=block-vd disks (issue 3).
xenscript_PROGRAMS += hotplug/block-vd
hotplug_block_vd_SOURCES = hotplug/block-vd.c
hotplug_block_vd_LDADD = $(XENVD_LIBS)
dist_man_MANS += doc/block-vd.8
EXTRA_DIST += bench/bench_hotplug.sh
