# xl-vd, the administrator's command: one source file per group of subcommands.
sbin_PROGRAMS += xl-extensions/xl-vd
xl_extensions_xl_vd_SOURCES = \
	xl-extensions/xl-vd.c xl-extensions/xl-vd.h \
	xl-extensions/vd_pool.c \
	xl-extensions/vd_disk.c \
	xl-extensions/vd_maint.c \
	xl-extensions/vd_shared.c \
	xl-extensions/vd_lease.c
xl_extensions_xl_vd_LDADD = $(XENVD_LIBS)
xl_extensions_xl_vd_SOURCES += xl-extensions/vd_dm.c xl-extensions/vd_dm.h
xl_extensions_xl_vd_LDADD += $(XENLIGHT_LIBS) $(XLUTIL_LIBS)

dist_bashcompletion_DATA += xl-extensions/completion/xl-vd

# The database directory: root only (the database maps every tenant's data).
install-data-local:
	$(MKDIR_P) -m 0700 $(DESTDIR)$(xenvdstatedir)
