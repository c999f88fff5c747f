# libxenvd boot (vdloader's logic): partition discovery, ext2/3/4 reading, boot-config parsers,
# what to boot, the sandbox. Includes base/ and pool/ only.
plugin_libxenvd_a_SOURCES += \
	plugin/boot/boot_disk.c plugin/boot/boot_disk.h \
	plugin/boot/boot_part.c plugin/boot/boot_part.h \
	plugin/boot/boot_fs.c plugin/boot/boot_fs.h \
	plugin/boot/boot_path.c plugin/boot/boot_path.h \
	plugin/boot/boot_menu.c plugin/boot/boot_menu.h \
	plugin/boot/boot_grub.c plugin/boot/boot_bls.c plugin/boot/boot_extlinux.c \
	plugin/boot/boot_menulst.c plugin/boot/boot_fstab.c plugin/boot/boot_entry.c \
	plugin/boot/boot_output.c plugin/boot/boot_output.h \
	plugin/boot/boot_find.c plugin/boot/boot_find.h \
	plugin/boot/boot_loader.c plugin/boot/boot_loader.h \
	plugin/boot/boot_vd.c plugin/boot/boot_vd.h \
	plugin/boot/sandbox.c plugin/boot/sandbox.h
