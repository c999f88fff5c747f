# libxenvd core: pool database, allocation, labels, configuration.
plugin_libxenvd_a_SOURCES += \
	plugin/util.c plugin/util.h \
	plugin/error.c plugin/error.h \
	plugin/config.c plugin/config.h \
	plugin/db.c plugin/db.h \
	plugin/label.c plugin/label.h \
	plugin/signature.c plugin/signature.h \
	plugin/pool.c plugin/pool.h \
	plugin/vdisk.c plugin/vdisk.h \
	plugin/lock.c plugin/lock.h
