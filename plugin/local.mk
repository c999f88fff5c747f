# libxenvd core: pool database, allocation, labels, configuration.
plugin_libxenvd_a_SOURCES += \
	plugin/util.c plugin/util.h \
	plugin/error.c plugin/error.h
