# libxenvd pool: the database (the only SQLite caller), labels, devices, locks, allocation and
# the VD lifecycle, image import. Includes base/ only.
plugin_libxenvd_a_SOURCES += \
	plugin/pool/db.c plugin/pool/db.h \
	plugin/pool/db_vfs.c plugin/pool/db_vfs.h \
	plugin/pool/mdarea.c plugin/pool/mdarea.h \
	plugin/pool/mdlock.c plugin/pool/mdlock.h \
	plugin/pool/sanlock.c plugin/pool/sanlock.h \
	plugin/pool/shared.c plugin/pool/shared.h \
	plugin/pool/label.c plugin/pool/label.h \
	plugin/pool/signature.c plugin/pool/signature.h \
	plugin/pool/pool.c plugin/pool/pool.h \
	plugin/pool/vdisk.c plugin/pool/vdisk.h plugin/pool/run.h \
	plugin/pool/lock.c plugin/pool/lock.h \
	plugin/pool/import.c plugin/pool/import.h
