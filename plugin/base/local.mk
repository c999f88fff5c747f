# libxenvd base: helpers, errors and logging, configuration. Includes nothing above it.
plugin_libxenvd_a_SOURCES += \
	plugin/base/util.c plugin/base/util.h \
	plugin/base/error.c plugin/base/error.h \
	plugin/base/config.c plugin/base/config.h
