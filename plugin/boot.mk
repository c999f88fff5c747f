# vdloader, the libxl bootloader: partition discovery, ext2/3/4 reading, boot-config parsers,
# the sandbox and the program (issue 4).
plugin_libxenvd_a_SOURCES += \
	plugin/boot_disk.c plugin/boot_disk.h \
	plugin/boot_part.c plugin/boot_part.h \
	plugin/boot_fs.c plugin/boot_fs.h \
	plugin/boot_path.c plugin/boot_path.h \
	plugin/boot_menu.c plugin/boot_menu.h \
	plugin/boot_grub.c plugin/boot_bls.c plugin/boot_extlinux.c plugin/boot_menulst.c \
	plugin/boot_fstab.c plugin/boot_entry.c \
	plugin/boot_output.c plugin/boot_output.h \
	plugin/boot_find.c plugin/boot_find.h \
	plugin/sandbox.c plugin/sandbox.h

xenlibexec_PROGRAMS += plugin/vdloader
plugin_vdloader_SOURCES = plugin/vdloader.c
plugin_vdloader_LDADD = $(XENVD_LIBS)

dist_man_MANS += doc/vdloader.1
