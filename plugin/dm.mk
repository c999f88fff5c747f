# device-mapper, loop, xenstore, sharing and hotplug logic of libxenvd (issue 3).
plugin_libxenvd_a_SOURCES += \
	plugin/dmtable.c plugin/dmtable.h \
	plugin/dm.c plugin/dm.h \
	plugin/loop.c plugin/loop.h \
	plugin/xs.c plugin/xs.h \
	plugin/sharing.c plugin/sharing.h
plugin_libxenvd_a_SOURCES += \
	plugin/hotplug.c plugin/hotplug.h
