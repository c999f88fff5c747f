# libxenvd attach: dm tables and the libdevmapper boundary, loop devices, the xenstore boundary,
# sharing, attach/detach, the hotplug backend and the runtime check. Includes base/ and pool/.
plugin_libxenvd_a_SOURCES += \
	plugin/attach/dmtable.c plugin/attach/dmtable.h \
	plugin/attach/dm.c plugin/attach/dm.h \
	plugin/attach/loop.c plugin/attach/loop.h \
	plugin/attach/xs.c plugin/attach/xs.h \
	plugin/attach/sharing.c plugin/attach/sharing.h \
	plugin/attach/holder.c plugin/attach/holder.h \
	plugin/attach/attach.c plugin/attach/attach.h \
	plugin/attach/hotplug.c plugin/attach/hotplug.h \
	plugin/attach/check.c plugin/attach/check.h
