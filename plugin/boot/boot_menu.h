/* Boot menus as vdloader sees them, whatever config format they came from: entries with a
 * kernel, initrds and a command line, and the rules for picking the default. The parsers
 * (boot_grub.c, boot_bls.c, boot_extlinux.c, boot_menulst.c) are pure functions of text: they
 * never read files, so they can be fuzzed and unit-tested alone. Guest text is hostile.
 */
#ifndef XENVD_BOOT_MENU_H
#define XENVD_BOOT_MENU_H

#include "base/util.h"

#define VD_BOOT_MAX_ENTRIES 1024
#define VD_BOOT_MAX_INITRDS 16
#define VD_BOOT_MAX_VALUE 8192 /* libxl skips items of 2 * PATH_MAX or more */

struct vd_boot_entry {
	char *title;	  /* shown title; "Submenu>Title" inside grub submenus */
	char *id;	  /* grub --id path, BLS file stem or extlinux label; may be NULL */
	char *index_path; /* "3" or "1>0" */
	char *kernel;	  /* path in the guest (as written in the config); NULL = not bootable */
	char *initrds[VD_BOOT_MAX_INITRDS];
	size_t n_initrds;
	char *args; /* never NULL once added */
	char *version;	/* BLS */
	char *sort_key; /* BLS */
	char *device;	/* grub's $root when `linux` ran ("hd0,gpt2"): where the kernel and the
			 * initrds without a "(device)" of their own are; NULL: the config's */
};

struct vd_boot_menu {
	struct vd_boot_entry *entries;
	size_t n;
	char *default_spec; /* as configured (index, title, id or "a>b" path); NULL = first */
	char *origin;	    /* grub: the file a `configfile` took the menu from; NULL = the config */
};

void vd_boot_entry_dispose(struct vd_boot_entry *e);
void vd_boot_menu_dispose(struct vd_boot_menu *m);
/* Takes the entry's strings (the entry is zeroed); fills args with "" and title/index when
 * missing. -E2BIG past VD_BOOT_MAX_ENTRIES. */
int vd_boot_menu_add(struct vd_boot_menu *m, struct vd_boot_entry *e);
/* The entry spec names: an index path ("2", "1>0"; a bare index of a submenu means its first
 * entry), a title or title path, or an id or id path; for --entry, also the bare title or id of
 * an entry inside a submenu. -ENOENT when nothing matches. */
int vd_boot_menu_find(const struct vd_boot_menu *m, const char *spec, size_t *ret_index);
/* The configured default as grub matches it (index, title or id paths from the top level;
 * no bare titles inside submenus), falling back to the first entry as grub does. */
int vd_boot_menu_default(const struct vd_boot_menu *m, size_t *ret_index);

/* Variables (grubenv, grub `set`): a small ordered key/value list. */
struct vd_boot_vars {
	char **keys;
	char **values;
	size_t n;
};
void vd_boot_vars_dispose(struct vd_boot_vars *v);
int vd_boot_vars_set(struct vd_boot_vars *v, const char *key, const char *value);
const char *vd_boot_vars_get(const struct vd_boot_vars *v, const char *key);

/* Appends to a growing string; -E2BIG past VD_BOOT_MAX_VALUE. */
int vd_boot_strbuf_append(char **buf, size_t *len, const char *s, size_t n);

/* What grub.cfg may ask of the guest, and where the config was read. A device is grub's name
 * for a filesystem without the parentheses ("hd0,msdos1", "hd0,gpt2", "hd0" for a disk without
 * a partition table); NULL means the config's own filesystem. The file calls return -ENODEV
 * for a device the host cannot read (another disk, LVM, md, a filesystem it has no reader
 * for). */
struct vd_boot_grub_host {
	/* `-e/-f/-s/-d FILE`: 0 with the size and whether it is a directory, < 0 when absent.
	 * NULL: such tests are false. */
	int (*stat_file)(void *userdata, const char *device, const char *path, uint64_t *ret_size,
			 bool *ret_dir);
	/* `source FILE`, `configfile FILE`: the file's text (malloc'd, NUL-free, within the config
	 * size cap), or < 0. NULL: both do nothing. */
	int (*read_file)(void *userdata, const char *device, const char *path, char **ret_text,
			 size_t *ret_len);
	/* `search`: the first filesystem (in grub's order) whose UUID (kind 'u', any case), label
	 * ('l') or file PATH ('f') matches key: 1 and its device in ret_device (malloc'd); 0 when
	 * none does. With a hint, only that device is tried, and its name is returned as given.
	 * NULL: nothing is ever found. */
	int (*search)(void *userdata, char kind, const char *key, const char *hint,
		      char **ret_device);
	void *userdata;
	const char *config_path;   /* grub.cfg's path: $prefix and $config_directory */
	const char *config_device; /* the device it was read from: grub's initial $root */
};

/* grub2 grub.cfg (menuentry, submenu, set default, linux/linux16/linuxefi, initrd with several
 * images), with if/elif/else evaluated, loops, functions called, files sourced, `configfile`,
 * `search` and exported variables as grub would, and each entry's commands run after the
 * script. -E2BIG past the bounds on hostile scripts (see
 * boot_grub.c). env holds grubenv's variables (applied
 * where grub.cfg runs load_env) and may be NULL; host may be NULL. ret_bls_vars (may be NULL)
 * gets the variables as they stand when grub.cfg runs `blscfg`, and *ret_blscfg whether it
 * does. */
int vd_boot_grub_parse_full(const char *text, size_t len, const struct vd_boot_vars *env,
			    const struct vd_boot_grub_host *host, struct vd_boot_menu *ret,
			    struct vd_boot_vars *ret_bls_vars, bool *ret_blscfg);
int vd_boot_grub_parse(const char *text, size_t len, const struct vd_boot_vars *env,
		       struct vd_boot_menu *ret);
/* grubenv (key=value lines in a 1 KiB block). */
int vd_boot_grubenv_parse(const char *text, size_t len, struct vd_boot_vars *ret);

/* One BLS entry file (/loader/entries/STEM.conf); env expands $vars in options. */
int vd_boot_bls_parse(const char *text, size_t len, const char *stem, const struct vd_boot_vars *env,
		      struct vd_boot_entry *ret);
/* Newest version first (sort-key, then version descending, then stem descending); picks the
 * default from grubenv saved_entry, else default. */
int vd_boot_bls_build_menu(struct vd_boot_entry *entries, size_t n, const struct vd_boot_vars *env,
			   struct vd_boot_menu *ret);

/* extlinux.conf / syslinux.cfg. */
int vd_boot_extlinux_parse(const char *text, size_t len, struct vd_boot_menu *ret);
/* legacy grub menu.lst / grub.conf. */
int vd_boot_menulst_parse(const char *text, size_t len, struct vd_boot_menu *ret);

/* /etc/fstab. */
struct vd_boot_fstab_line {
	char *spec;	  /* /dev/xvda1, UUID=..., LABEL=..., PARTUUID=... */
	char *mountpoint; /* unescaped */
	char *type;
};
struct vd_boot_fstab {
	struct vd_boot_fstab_line *lines;
	size_t n;
};
int vd_boot_fstab_parse(const char *text, size_t len, struct vd_boot_fstab *ret);
void vd_boot_fstab_dispose(struct vd_boot_fstab *f);
/* The partition number a device name ends in ("/dev/xvda2" → 2, "nvme0n1p3" → 3, "xvda" → 0);
 * -EINVAL when it is not a device name. */
int vd_boot_devname_partno(const char *dev, int *ret_partno);

/* --entry=[dev:]kernel[,initrd] (domUloader). */
struct vd_boot_entry_spec {
	char *dev;    /* NULL when absent */
	char *kernel; /* absolute guest path */
	char *initrd; /* NULL when absent */
};
int vd_boot_entry_spec_parse(const char *s, struct vd_boot_entry_spec *ret);
void vd_boot_entry_spec_dispose(struct vd_boot_entry_spec *s);

/* The next "key value" line of a config file at *p (before end), the one line tokenizer of the
 * BLS, extlinux and menu.lst parsers. Skips blank lines, '#' comments and lines whose key does
 * not fit in keylen. key: the first word (ended by whitespace, or also by '=' when eq);
 * *ret_value: a copy of the rest of the line, trimmed (and without the '=' when eq), which the
 * caller frees. Advances *p past the line. 1: a line; 0: the end; -E2BIG: a value longer than
 * VD_BOOT_MAX_VALUE. */
int vd_boot_next_keyval(const char **p, const char *end, bool eq, char *key, size_t keylen,
			char **ret_value);

/* Control characters (a NUL, newline, ...) make a config value unusable: libxl's output format
 * separates items with them (XSA-198). Returns the offending byte's position or -1. */
ssize_t vd_boot_find_control_char(const char *s);

#endif
