#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "boot/boot_find.h"
#include "boot/boot_fs.h"
#include "boot/boot_menu.h"
#include "boot/boot_part.h"
#include "boot/boot_path.h"
#include "base/error.h"

enum cfg_kind { CFG_BLS, CFG_GRUB2, CFG_EXTLINUX, CFG_MENULST };

static const char *const bls_dirs[] = { "/loader/entries", "/boot/loader/entries" };
static const char *const grub2_paths[] = { "/boot/grub/grub.cfg", "/grub/grub.cfg",
					   "/boot/grub2/grub.cfg", "/grub2/grub.cfg" };
static const char *const extlinux_paths[] = {
	"/boot/isolinux/isolinux.cfg", "/boot/extlinux/extlinux.conf", "/boot/extlinux.conf",
	"/extlinux/extlinux.conf",     "/extlinux.conf",	       "/boot/syslinux/syslinux.cfg",
	"/syslinux/syslinux.cfg"
};
static const char *const menulst_paths[] = { "/boot/grub/menu.lst", "/boot/grub/grub.conf",
					     "/grub/menu.lst", "/grub/grub.conf" };
static const char *const grubenv_paths[] = { "/boot/grub2/grubenv", "/grub2/grubenv",
					     "/boot/grub/grubenv", "/grub/grubenv" };

#define MAX_BLS_ENTRIES 256

struct finder {
	const struct vd_boot_disk *disk;
	const struct vd_boot_request *req;
	struct vd_boot_volume *vols;
	size_t n_vols;
	struct vd_boot_fs **fs; /* per volume; NULL when not ext or unreadable */
	int *fs_err;
	struct vd_boot_fs *root;
	struct vd_boot_ns root_ns;
};

struct found_config {
	enum cfg_kind kind;
	struct vd_boot_fs *fs;
	char path[256];
	struct vd_boot_menu menu;
};

static void load_grubenv(struct finder *f, const struct vd_boot_ns *ns,
			 struct vd_boot_vars *env);

void vd_boot_result_dispose(struct vd_boot_result *r)
{
	free(r->args);
	free(r->kernel_path);
	free(r->ramdisk_paths);
	free(r->source);
	free(r->listing);
	free(r->kernel_extents);
	free(r->ramdisk_extents);
	memset(r, 0, sizeof(*r));
}

static int partno_of(struct vd_boot_fs *fs)
{
	return vd_boot_fs_volume(fs)->partno;
}

static const char *where(struct vd_boot_fs *fs, char *buf, size_t len)
{
	const struct vd_boot_volume *v = vd_boot_fs_volume(fs);

	if (v->partno == 0)
		snprintf(buf, len, "the disk's %s filesystem", v->fstype);
	else
		snprintf(buf, len, "partition %d (%s)", v->partno, v->fstype);
	return buf;
}

/* UUID=, LABEL=, PARTUUID=, PARTLABEL= or a device name; NULL when none matches. */
static ssize_t match_volume(const struct finder *f, const char *spec)
{
	struct {
		const char *prefix;
		size_t off;
	} keys[] = {
		{ "UUID=", offsetof(struct vd_boot_volume, uuid) },
		{ "LABEL=", offsetof(struct vd_boot_volume, label) },
		{ "PARTUUID=", offsetof(struct vd_boot_volume, partuuid) },
		{ "PARTLABEL=", offsetof(struct vd_boot_volume, partlabel) },
	};
	int partno;

	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		size_t plen = strlen(keys[k].prefix);
		const char *want;

		if (strncmp(spec, keys[k].prefix, plen))
			continue;
		want = spec + plen;
		if (*want == '"' && strlen(want) >= 2 && want[strlen(want) - 1] == '"') {
			static char unq[128];

			snprintf(unq, sizeof(unq), "%.*s", (int)strlen(want) - 2, want + 1);
			want = unq;
		}
		for (size_t i = 0; i < f->n_vols; i++) {
			const char *have = (const char *)&f->vols[i] + keys[k].off;

			if (*have && (k == 1 || k == 3 ? !strcmp(have, want) : !strcasecmp(have, want)))
				return (ssize_t)i;
		}
		return -1;
	}
	if (vd_boot_devname_partno(spec, &partno) < 0)
		return -1;
	for (size_t i = 0; i < f->n_vols; i++)
		if (f->vols[i].partno == partno)
			return (ssize_t)i;
	if (partno == 0 || f->n_vols == 1) /* "xvda" naming a bare filesystem, or a lone one */
		return f->n_vols == 1 ? 0 : -1;
	return -1;
}

static int read_file(struct finder *f, const struct vd_boot_ns *ns, const char *path,
		     char **ret, size_t *ret_len, struct vd_boot_fs **ret_fs)
{
	struct vd_boot_fs *fs;
	vd_boot_ino ino;
	uint64_t size;
	char buf[64];
	int r;

	r = vd_boot_ns_resolve_file(ns, path, &fs, &ino, &size);
	if (r < 0)
		return r;
	if (size > f->req->config_max)
		return vd_err(-EFBIG,
			      "%s on %s is %" PRIu64 " bytes, over the %" PRIu64
			      "-byte limit for configuration files (boot_config_max)",
			      path, where(fs, buf, sizeof(buf)), size, f->req->config_max);
	r = vd_boot_fs_read(fs, ino, (size_t)f->req->config_max, ret, ret_len);
	if (r < 0)
		return vd_err(r, "cannot read %s on %s: %s", path, where(fs, buf, sizeof(buf)),
			      strerror(-r));
	if (memchr(*ret, '\0', *ret_len)) {
		free(*ret);
		*ret = NULL;
		return vd_err(-EILSEQ, "%s on %s contains a NUL byte; refusing it", path,
			      where(fs, buf, sizeof(buf)));
	}
	if (ret_fs)
		*ret_fs = fs;
	return 0;
}

static bool exists_file(const struct vd_boot_ns *ns, const char *path)
{
	struct vd_boot_fs *fs;
	vd_boot_ino ino;
	uint64_t size;

	return vd_boot_ns_resolve_file(ns, path, &fs, &ino, &size) == 0;
}

/* grub's name for a volume: "hd0,msdos2", "hd0,gpt2", or "hd0" for a filesystem on the whole
 * disk. */
static void grub_device_name(const struct vd_boot_volume *v, char *buf, size_t len)
{
	if (v->partno == 0)
		snprintf(buf, len, "hd0");
	else
		snprintf(buf, len, "hd0,%s%d", !strcmp(v->pttype, "dos") ? "msdos" : v->pttype,
			 v->partno);
}

/* The volume a grub device name (a grub.cfg's $root, the "(hd0,gpt2)" of a path) names on this
 * disk, the only one vdloader sees: hd0 (BIOS names, which pvgrub2 also answers to) or xen/xvda
 * (pvgrub2's), whole or partition "N", "msdosN" or "gptN" of a table of that type, as grub's
 * partition.c matches them. -1 for anything else: another disk, LVM, md, a missing partition. */
static ssize_t grub_device_volume(const struct finder *f, const char *dev)
{
	const char *comma = strchr(dev, ',');
	size_t dl = comma ? (size_t)(comma - dev) : strlen(dev), al;
	const char *part;
	char *end;
	long n;

	if (!((dl == 3 && !strncmp(dev, "hd0", 3)) || (dl == 8 && !strncmp(dev, "xen/xvda", 8))))
		return -1;
	if (!comma) {
		for (size_t i = 0; i < f->n_vols; i++)
			if (f->vols[i].partno == 0)
				return (ssize_t)i;
		return -1;
	}
	part = comma + 1;
	for (al = 0; isalpha((unsigned char)part[al]); al++)
		;
	errno = 0;
	n = strtol(part + al, &end, 10);
	if (end == part + al || *end || errno || n < 1)
		return -1;
	for (size_t i = 0; i < f->n_vols; i++) {
		const char *map = !strcmp(f->vols[i].pttype, "dos") ? "msdos" : f->vols[i].pttype;

		if (f->vols[i].partno != n)
			continue;
		if (al > 0 && (strlen(map) != al || strncmp(part, map, al)))
			return -1;
		return (ssize_t)i;
	}
	return -1;
}

struct grub_host_ctx {
	struct finder *f;
	const struct vd_boot_ns *ns; /* the config's filesystem */
};

/* The filesystem a grub device names: the config's own for none, NULL (-ENODEV to grub.cfg)
 * for one that is no ext2/3/4 filesystem of this disk. */
static const struct vd_boot_ns *device_ns(const struct grub_host_ctx *h, const char *dev,
					  struct vd_boot_ns *tmp)
{
	ssize_t i;

	if (!dev)
		return h->ns;
	i = grub_device_volume(h->f, dev);
	if (i < 0 || !h->f->fs[i]) {
		vd_debug("grub.cfg: (%s) is no ext2/3/4 filesystem of this disk", dev);
		return NULL;
	}
	vd_boot_ns_init(tmp, h->f->fs[i]);
	return tmp;
}

/* grub.cfg's `[ -s $prefix/grubenv ]` and friends. */
static int grub_host_stat_file(void *userdata, const char *device, const char *path,
			       uint64_t *ret_size, bool *ret_dir)
{
	struct vd_boot_ns tmp;
	const struct vd_boot_ns *ns = device_ns(userdata, device, &tmp);
	struct vd_boot_fs *fs;
	vd_boot_ino ino;
	int r;

	if (!ns)
		return -ENODEV;
	r = vd_boot_ns_resolve_file(ns, path, &fs, &ino, ret_size);

	*ret_dir = r == -EISDIR;
	if (*ret_dir)
		*ret_size = 0;
	return *ret_dir ? 0 : r;
}

/* grub.cfg's `source FILE` (41_custom's custom.cfg, CoreOS's ignition.firstboot) and
 * `configfile FILE`. */
static int grub_read_file(void *userdata, const char *device, const char *path, char **ret_text,
			  size_t *ret_len)
{
	struct grub_host_ctx *h = userdata;
	struct vd_boot_ns tmp;
	const struct vd_boot_ns *ns = device_ns(h, device, &tmp);
	int r;

	if (!ns)
		return -ENODEV;
	r = read_file(h->f, ns, path, ret_text, ret_len, NULL);

	if (r < 0) {
		vd_debug("grub.cfg: %s%s%s%s: %s; skipped", device ? "(" : "", device ? device : "",
			 device ? ")" : "", path, vd_errmsg());
		vd_err_clear();
	}
	return r;
}

/* Volumes grub has no filesystem driver for: their UUIDs are not a filesystem's. */
static bool grub_reads(const struct vd_boot_volume *v)
{
	static const char *const not_fs[] = { "", "swap", "LVM2_member", "crypto_LUKS",
					      "linux_raid_member", "ambiguous" };

	for (size_t i = 0; i < ARRAY_SIZE(not_fs); i++)
		if (!strcmp(v->fstype, not_fs[i]))
			return false;
	return true;
}

/* grub.cfg's `search`: the disk's volumes in grub's order (the whole disk, or its partitions in
 * table order), the first that matches (search.c: UUIDs in any case, labels exactly, a file
 * that opens). */
static int grub_host_search(void *userdata, char kind, const char *key, const char *hint,
			    char **ret_device)
{
	struct grub_host_ctx *h = userdata;
	const struct finder *f = h->f;
	ssize_t only = hint ? grub_device_volume(f, hint) : -1;

	if (hint && only < 0)
		return 0;
	for (size_t i = 0; i < f->n_vols; i++) {
		const struct vd_boot_volume *v = &f->vols[i];
		bool match = false;
		char name[64];

		if (hint && (size_t)only != i)
			continue;
		if (kind == 'u')
			match = grub_reads(v) && v->uuid[0] && !strcasecmp(v->uuid, key);
		else if (kind == 'l')
			match = grub_reads(v) && v->label[0] && !strcmp(v->label, key);
		else if (f->fs[i]) {
			struct vd_boot_ns ns;

			vd_boot_ns_init(&ns, f->fs[i]);
			match = exists_file(&ns, key);
		}
		if (!match)
			continue;
		grub_device_name(v, name, sizeof(name));
		*ret_device = strdup(hint ? hint : name);
		return *ret_device ? 1 : -ENOMEM;
	}
	return 0;
}

static int parse_grub_cfg(struct finder *f, const struct vd_boot_ns *ns, const char *path,
			  const char *text, size_t len, struct vd_boot_menu *ret,
			  struct vd_boot_vars *ret_bls_vars, bool *ret_blscfg)
{
	struct vd_boot_vars env = {};
	struct grub_host_ctx ctx = { .f = f, .ns = ns };
	char device[64] = "";
	struct vd_boot_grub_host host = { .stat_file = grub_host_stat_file,
					  .read_file = grub_read_file,
					  .search = grub_host_search,
					  .userdata = &ctx,
					  .config_path = path };
	int r;

	for (size_t i = 0; i < f->n_vols; i++)
		if (f->fs[i] && f->fs[i] == ns->mounts[0].fs)
			grub_device_name(&f->vols[i], device, sizeof(device));
	host.config_device = device[0] ? device : NULL;
	load_grubenv(f, ns, &env);
	r = vd_boot_grub_parse_full(text, len, &env, &host, ret, ret_bls_vars, ret_blscfg);
	vd_boot_vars_dispose(&env);
	return r;
}

static void load_grubenv(struct finder *f, const struct vd_boot_ns *ns, struct vd_boot_vars *env)
{
	for (size_t i = 0; i < ARRAY_SIZE(grubenv_paths); i++) {
		_cleanup_free_ char *text = NULL;
		size_t len;

		if (!exists_file(ns, grubenv_paths[i]))
			continue;
		if (read_file(f, ns, grubenv_paths[i], &text, &len, NULL) < 0) {
			vd_err_clear();
			continue;
		}
		if (vd_boot_grubenv_parse(text, len, env) == 0)
			return;
	}
}

static const char *parse_error(int r)
{
	switch (r) {
	case -EBADMSG:
		return "syntax error (an unterminated quote or block?)";
	case -E2BIG:
		return "a value is longer than libxl accepts (8 KiB), or there are too many "
		       "entries, words or nested blocks";
	case -EILSEQ:
		return "it contains a NUL byte";
	default:
		return strerror(-r);
	}
}

struct bls_collect {
	struct finder *f;
	const struct vd_boot_ns *ns;
	const char *dir;
	const struct vd_boot_vars *env;
	struct vd_boot_entry *entries;
	size_t n;
	int r;
};

static int bls_one(const char *name, vd_boot_ino ino, void *userdata)
{
	struct bls_collect *c = userdata;
	size_t n = strlen(name);
	char path[512], stem[256];
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	if (n <= 5 || strcmp(name + n - 5, ".conf") || name[0] == '.')
		return 0;
	if (c->n >= MAX_BLS_ENTRIES)
		return vd_err(-E2BIG, "more than %d BLS entries in %s", MAX_BLS_ENTRIES, c->dir);
	snprintf(stem, sizeof(stem), "%.*s", (int)(n - 5), name);
	snprintf(path, sizeof(path), "%s/%s", c->dir, name);
	if (!exists_file(c->ns, path))
		return 0;
	r = read_file(c->f, c->ns, path, &text, &len, NULL);
	if (r < 0)
		return r;
	r = vd_boot_bls_parse(text, len, stem, c->env, &c->entries[c->n]);
	if (r < 0)
		return vd_err(r, "cannot parse BLS entry %s: %s", path, parse_error(r));
	c->n++;
	return 0;
}

/* The variables BLS entries expand: what grub.cfg has set when it runs `blscfg` (it loads
 * grubenv itself, and RHEL 8's sets a fallback kernelopts when grubenv has none), then grubenv's
 * for what grub.cfg left unset; grubenv's alone when no grub.cfg runs blscfg. */
static void bls_variables(struct finder *f, const struct vd_boot_ns *ns, struct vd_boot_vars *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(grub2_paths); i++) {
		_cleanup_free_ char *text = NULL;
		struct vd_boot_menu menu = {};
		struct vd_boot_vars vars = {};
		bool blscfg = false;
		size_t len;

		if (!exists_file(ns, grub2_paths[i]))
			continue;
		if (read_file(f, ns, grub2_paths[i], &text, &len, NULL) < 0) {
			vd_err_clear();
			continue;
		}
		if (parse_grub_cfg(f, ns, grub2_paths[i], text, len, &menu, &vars, &blscfg) < 0)
			continue;
		vd_boot_menu_dispose(&menu);
		if (blscfg) {
			struct vd_boot_vars env = {};

			vd_debug("BLS variables: as %s sets them before blscfg", grub2_paths[i]);
			load_grubenv(f, ns, &env);
			for (size_t k = 0; k < env.n; k++)
				if (!vd_boot_vars_get(&vars, env.keys[k]))
					vd_boot_vars_set(&vars, env.keys[k], env.values[k]);
			vd_boot_vars_dispose(&env);
			*ret = vars;
			return;
		}
		vd_boot_vars_dispose(&vars);
	}
	load_grubenv(f, ns, ret);
}

static int try_bls(struct finder *f, struct vd_boot_fs *fs, const struct vd_boot_ns *ns,
		   struct found_config *cfg)
{
	for (size_t i = 0; i < ARRAY_SIZE(bls_dirs); i++) {
		struct vd_boot_vars env = {};
		struct bls_collect c = { .f = f, .ns = ns, .dir = bls_dirs[i], .env = &env };
		struct vd_boot_fs *dfs;
		vd_boot_ino dino;
		mode_t mode;
		uint64_t size;
		int r;

		if (vd_boot_ns_resolve(ns, bls_dirs[i], &dfs, &dino) < 0 ||
		    vd_boot_fs_stat(dfs, dino, &mode, &size) < 0 || !S_ISDIR(mode))
			continue;
		c.entries = calloc(MAX_BLS_ENTRIES, sizeof(*c.entries));
		if (!c.entries)
			return -ENOMEM;
		bls_variables(f, ns, &env);
		r = vd_boot_fs_list(dfs, dino, bls_one, &c);
		if (r == 0 && c.n > 0)
			r = vd_boot_bls_build_menu(c.entries, c.n, &env, &cfg->menu);
		for (size_t k = 0; k < c.n; k++)
			vd_boot_entry_dispose(&c.entries[k]);
		free(c.entries);
		vd_boot_vars_dispose(&env);
		if (r < 0)
			return r;
		if (c.n == 0)
			continue;
		cfg->kind = CFG_BLS;
		cfg->fs = fs;
		snprintf(cfg->path, sizeof(cfg->path), "%s", bls_dirs[i]);
		return 1;
	}
	return 0;
}

static int try_files(struct finder *f, struct vd_boot_fs *fs, const struct vd_boot_ns *ns,
		     enum cfg_kind kind, const char *const *paths, size_t n,
		     struct found_config *cfg)
{
	char buf[64];

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *text = NULL;
		size_t len;
		int r;

		if (!exists_file(ns, paths[i]))
			continue;
		r = read_file(f, ns, paths[i], &text, &len, NULL);
		if (r < 0)
			return r;
		if (kind == CFG_GRUB2) {
			r = parse_grub_cfg(f, ns, paths[i], text, len, &cfg->menu, NULL, NULL);
		} else if (kind == CFG_EXTLINUX) {
			r = vd_boot_extlinux_parse(text, len, &cfg->menu);
		} else {
			r = vd_boot_menulst_parse(text, len, &cfg->menu);
		}
		if (r < 0)
			return vd_err(r, "cannot parse %s on %s: %s", paths[i],
				      where(fs, buf, sizeof(buf)), parse_error(r));
		if (cfg->menu.n == 0) {
			vd_boot_menu_dispose(&cfg->menu);
			continue; /* e.g. a grub.cfg that only says blscfg */
		}
		cfg->kind = kind;
		cfg->fs = fs;
		snprintf(cfg->path, sizeof(cfg->path), "%s", paths[i]);
		return 1;
	}
	return 0;
}

/* 1 and cfg filled when fs holds a boot configuration, 0 when not. */
static int find_config_in(struct finder *f, struct vd_boot_fs *fs, struct found_config *cfg)
{
	struct vd_boot_ns ns;
	int r;

	vd_boot_ns_init(&ns, fs);
	r = try_bls(f, fs, &ns, cfg);
	if (r != 0)
		return r;
	r = try_files(f, fs, &ns, CFG_GRUB2, grub2_paths, ARRAY_SIZE(grub2_paths), cfg);
	if (r != 0)
		return r;
	r = try_files(f, fs, &ns, CFG_EXTLINUX, extlinux_paths, ARRAY_SIZE(extlinux_paths), cfg);
	if (r != 0)
		return r;
	return try_files(f, fs, &ns, CFG_MENULST, menulst_paths, ARRAY_SIZE(menulst_paths), cfg);
}

static int open_filesystems(struct finder *f)
{
	bool any = false;
	char types[512] = "";
	size_t tl = 0;
	int r, last_err = -EMEDIUMTYPE;
	_cleanup_free_ char *last_msg = NULL;

	r = vd_boot_part_scan(f->disk, &f->vols, &f->n_vols);
	if (r < 0)
		return r;
	f->fs = calloc(f->n_vols, sizeof(*f->fs));
	f->fs_err = calloc(f->n_vols, sizeof(*f->fs_err));
	if (!f->fs || !f->fs_err)
		return -ENOMEM;
	for (size_t i = 0; i < f->n_vols; i++) {
		const struct vd_boot_volume *v = &f->vols[i];

		if (tl < sizeof(types) - 1)
			tl += (size_t)snprintf(types + tl, sizeof(types) - tl, "%s%s%d: %s",
					       tl ? ", " : "", v->partno ? "partition " : "disk ",
					       v->partno, v->fstype[0] ? v->fstype : "unknown");
		if (!vd_boot_fstype_is_ext(v->fstype))
			continue;
		r = vd_boot_fs_open(f->disk, v, &f->fs[i]);
		if (r < 0) {
			f->fs[i] = NULL;
			f->fs_err[i] = r;
			last_err = r;
			free(last_msg);
			last_msg = strdup(vd_errmsg());
			vd_debug("%s", vd_errmsg());
			continue;
		}
		any = true;
	}
	if (!any) {
		if (last_msg)
			return vd_err(last_err, "%s", last_msg);
		if (f->n_vols == 1 && !f->vols[0].fstype[0] && f->vols[0].partno == 0)
			return vd_err(-EMEDIUMTYPE,
				      "the disk has no partition table and no filesystem libblkid "
				      "recognises (a wiped or corrupt superblock?)");
		if (f->n_vols == 1 && f->vols[0].fstype[0] && f->vols[0].partno == 0)
			return vd_err(-EMEDIUMTYPE,
				      "the disk holds a %s filesystem; vdloader reads ext2/3/4 only "
				      "(put /boot on ext4)",
				      f->vols[0].fstype);
		return vd_err(-EMEDIUMTYPE,
			      "no ext2/3/4 filesystem on the disk (found %s); vdloader needs /boot "
			      "on ext2/3/4",
			      types);
	}
	return 0;
}

static void close_filesystems(struct finder *f)
{
	for (size_t i = 0; f->fs && i < f->n_vols; i++)
		vd_boot_fs_close(f->fs[i]);
	free(f->fs);
	free(f->fs_err);
	free(f->vols);
}

/* The root filesystem: --root, else the first ext filesystem with an /etc/fstab. Then its
 * fstab's other ext filesystems are mounted into root_ns (device names, UUID=, LABEL=). */
static int find_root(struct finder *f)
{
	_cleanup_free_ char *text = NULL;
	struct vd_boot_fstab fstab = {};
	size_t len;
	int r;

	if (f->req->root) {
		ssize_t i = match_volume(f, f->req->root);

		if (i < 0)
			return vd_err(-ENODEV, "--root=%s matches no partition of the disk",
				      f->req->root);
		if (!f->fs[i])
			return vd_err(-EMEDIUMTYPE, "--root=%s: partition %d holds %s, not ext2/3/4",
				      f->req->root, f->vols[i].partno,
				      f->vols[i].fstype[0] ? f->vols[i].fstype : "no filesystem");
		f->root = f->fs[i];
	} else {
		for (size_t i = 0; i < f->n_vols && !f->root; i++) {
			struct vd_boot_ns ns;

			if (!f->fs[i])
				continue;
			vd_boot_ns_init(&ns, f->fs[i]);
			if (exists_file(&ns, "/etc/fstab"))
				f->root = f->fs[i];
		}
	}
	if (!f->root)
		return 0;
	vd_debug("root filesystem: partition %d", partno_of(f->root));
	vd_boot_ns_init(&f->root_ns, f->root);
	if (!exists_file(&f->root_ns, "/etc/fstab"))
		return 0;
	r = read_file(f, &f->root_ns, "/etc/fstab", &text, &len, NULL);
	if (r < 0)
		return r;
	r = vd_boot_fstab_parse(text, len, &fstab);
	if (r < 0)
		return vd_err(r, "cannot parse /etc/fstab on partition %d", partno_of(f->root));
	for (size_t k = 0; k < fstab.n; k++) {
		const struct vd_boot_fstab_line *l = &fstab.lines[k];
		ssize_t i;

		if (l->mountpoint[0] != '/' || !strcmp(l->mountpoint, "/"))
			continue;
		i = match_volume(f, l->spec);
		if (i < 0 || !f->fs[i] || f->fs[i] == f->root) {
			vd_debug("fstab: %s on %s: no other ext2/3/4 partition of this disk", l->spec,
				 l->mountpoint);
			continue;
		}
		if (vd_boot_ns_add_mount(&f->root_ns, l->mountpoint, f->fs[i]) < 0)
			break;
		vd_debug("fstab: %s on %s is partition %d", l->spec, l->mountpoint,
			 f->vols[i].partno);
	}
	vd_boot_fstab_dispose(&fstab);
	return 0;
}

static struct vd_boot_fs *boot_mount(const struct finder *f)
{
	for (size_t i = 1; i < f->root_ns.n; i++)
		if (!strcmp(f->root_ns.mounts[i].path, "/boot"))
			return f->root_ns.mounts[i].fs;
	return NULL;
}

/* Filesystems in the order their configs are looked for: a fstab /boot, the root, the active
 * partition, then the rest in partition order. */
static size_t search_order(const struct finder *f, struct vd_boot_fs **out)
{
	size_t n = 0;

	for (int pass = 0; pass < 4; pass++)
		for (size_t i = 0; i < f->n_vols; i++) {
			struct vd_boot_fs *fs = f->fs[i];
			bool seen = false;

			if (!fs)
				continue;
			if ((pass == 0 && fs != boot_mount(f)) || (pass == 1 && fs != f->root) ||
			    (pass == 2 && !f->vols[i].bootable))
				continue;
			for (size_t k = 0; k < n; k++)
				seen |= out[k] == fs;
			if (!seen)
				out[n++] = fs;
		}
	return n;
}

static const char *kind_name(enum cfg_kind k)
{
	switch (k) {
	case CFG_BLS:
		return "BLS entries";
	case CFG_GRUB2:
		return "grub2";
	case CFG_EXTLINUX:
		return "extlinux";
	case CFG_MENULST:
		return "legacy grub";
	}
	return "?";
}

/* A config path: grub's "(hd0,1)/x" device prefix dropped, extlinux-relative paths anchored
 * at the config's directory. */
static int normalize_guest_path(const char *path, const char *cfg_path, char *out, size_t len)
{
	if (path[0] == '(') {
		const char *close = strchr(path, ')');

		if (close)
			path = close + 1;
	}
	if (path[0] == '/') {
		snprintf(out, len, "%s", path);
	} else {
		const char *slash = cfg_path ? strrchr(cfg_path, '/') : NULL;
		int dl = slash ? (int)(slash - cfg_path) : 0;

		snprintf(out, len, "%.*s/%s", dl, cfg_path ? cfg_path : "", path);
	}
	return 0;
}

/* Resolves a path for the chosen entry: in the config's filesystem first (grub paths are
 * relative to grub's root), then in the guest's mount namespace. */
static int resolve_boot_file(struct finder *f, struct vd_boot_fs *cfg_fs, const char *path,
			     struct vd_boot_fs **ret_fs, vd_boot_ino *ret_ino, uint64_t *ret_size)
{
	int r = -ENOENT;

	if (cfg_fs) {
		struct vd_boot_ns ns;

		vd_boot_ns_init(&ns, cfg_fs);
		r = vd_boot_ns_resolve_file(&ns, path, ret_fs, ret_ino, ret_size);
		if (r != -ENOENT || cfg_fs != f->root)
			return r;
	}
	if (f->root)
		r = vd_boot_ns_resolve_file(&f->root_ns, path, ret_fs, ret_ino, ret_size);
	return r;
}

static const char *resolve_error(int r)
{
	switch (r) {
	case -ENOENT:
		return "no such file";
	case -ELOOP:
		return "too many levels of symbolic links";
	case -EISDIR:
		return "it is a directory";
	case -EINVAL:
		return "not a regular file";
	case -ENOTDIR:
		return "a path component is not a directory";
	case -ENAMETOOLONG:
		return "path too long";
	default:
		return strerror(-r);
	}
}

struct target {
	struct vd_boot_fs *cfg_fs; /* NULL: resolve in the root namespace */
	/* with per_file: where each file is when grub names its device; NULL: cfg_fs */
	bool per_file;
	struct vd_boot_fs *kernel_fs, *initrd_fs[VD_BOOT_MAX_INITRDS];
	char kernel[4096];
	char initrds[VD_BOOT_MAX_INITRDS][4096];
	size_t n_initrds;
	char *args;
	char *source;
};

static int check_value(const char *what, const char *value, const char *source)
{
	ssize_t pos = vd_boot_find_control_char(value);

	if (pos >= 0)
		return vd_err(-EILSEQ,
			      "the %s of %s contains a control character (byte 0x%02x at %zd); "
			      "refusing it, as it could inject items into libxl's output",
			      what, source, (unsigned char)value[pos], pos);
	if (strlen(value) + 8 >= VD_BOOT_MAX_VALUE)
		return vd_err(-E2BIG, "the %s of %s is longer than libxl accepts (%d bytes)", what,
			      source, VD_BOOT_MAX_VALUE - 8);
	return 0;
}

struct extent_text {
	char **text;
	size_t len;
	uint64_t out_offset;
};

static int add_extent(void *userdata, uint64_t file_off, uint64_t disk_off, uint64_t len)
{
	struct extent_text *x = userdata;
	char line[80];
	int n = snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
			 x->out_offset + file_off, disk_off, len);
	char *grown = realloc(*x->text, x->len + (size_t)n + 1);

	if (!grown)
		return -ENOMEM;
	memcpy(grown + x->len, line, (size_t)n + 1);
	x->len += (size_t)n;
	*x->text = grown;
	return 0;
}

/* One file into out_fd at out_offset: as extents for the caller to copy when asked and the
 * file is extent-mapped, else copied here. */
static int place_file(struct finder *f, struct vd_boot_fs *fs, vd_boot_ino ino, int out_fd,
		      uint64_t out_offset, uint64_t max, struct extent_text *x, uint64_t *size)
{
	int r = -EOPNOTSUPP;

	if (f->req->extents) {
		x->out_offset = out_offset;
		r = vd_boot_fs_extents(fs, ino, max, add_extent, x, size);
	}
	if (r == -EOPNOTSUPP)
		r = vd_boot_fs_copy(fs, ino, out_fd, out_offset, max, size);
	return r;
}

static int copy_out(struct finder *f, const struct target *t, int kernel_fd, int ramdisk_fd,
		    struct vd_boot_result *res)
{
	struct vd_boot_fs *fs;
	vd_boot_ino ino;
	uint64_t size, total = 0;
	char buf[64], mbuf[16], lbuf[16];
	struct extent_text kx = { .text = &res->kernel_extents },
			   rx = { .text = &res->ramdisk_extents };
	int r;

	r = resolve_boot_file(f, t->per_file && t->kernel_fs ? t->kernel_fs : t->cfg_fs, t->kernel,
			      &fs, &ino, &size);
	if (r < 0)
		return vd_err(r == -EISDIR ? -EISDIR : r, "kernel %s (%s): %s", t->kernel, t->source,
			      resolve_error(r));
	if (size == 0)
		return vd_err(-ENOEXEC, "kernel %s (%s) is an empty file", t->kernel, t->source);
	if (size > f->req->kernel_max)
		return vd_err(-EFBIG,
			      "kernel %s (%s) is %s, over the %s limit (boot_kernel_max in "
			      "xenvd.conf)",
			      t->kernel, t->source, vd_format_size(size, mbuf, sizeof(mbuf)),
			      vd_format_size(f->req->kernel_max, lbuf, sizeof(lbuf)));
	if (kernel_fd >= 0) {
		r = place_file(f, fs, ino, kernel_fd, 0, f->req->kernel_max, &kx, &size);
		if (r == -EUCLEAN) /* the message says what is wrong with the file */
			return vd_err_prefix(r, "cannot copy kernel %s from %s", t->kernel,
					     where(fs, buf, sizeof(buf)));
		if (r < 0)
			return vd_err(r, "cannot copy kernel %s from %s: %s", t->kernel,
				      where(fs, buf, sizeof(buf)), strerror(-r));
		if (ftruncate(kernel_fd, (off_t)size) < 0)
			return vd_err(-errno, "cannot size the kernel output file: %m");
	}
	res->kernel_size = size;

	for (size_t i = 0; i < t->n_initrds; i++) {
		uint64_t isize;

		r = resolve_boot_file(f,
				      t->per_file && t->initrd_fs[i] ? t->initrd_fs[i] : t->cfg_fs,
				      t->initrds[i], &fs, &ino, &isize);
		if (r < 0)
			return vd_err(r, "initrd %s (%s): %s", t->initrds[i], t->source,
				      resolve_error(r));
		/* grub pads every image but the last to 4 bytes so cpio archives line up */
		total = (total + 3) & ~(uint64_t)3;
		if (isize > f->req->ramdisk_max || total + isize > f->req->ramdisk_max)
			return vd_err(-EFBIG,
				      "initrd %s (%s) makes the ramdisk %s, over the %s limit "
				      "(boot_ramdisk_max in xenvd.conf)",
				      t->initrds[i], t->source,
				      vd_format_size(total + isize, mbuf, sizeof(mbuf)),
				      vd_format_size(f->req->ramdisk_max, lbuf, sizeof(lbuf)));
		if (ramdisk_fd >= 0) {
			r = place_file(f, fs, ino, ramdisk_fd, total, f->req->ramdisk_max - total,
				       &rx, &isize);
			if (r == -EUCLEAN)
				return vd_err_prefix(r, "cannot copy initrd %s from %s",
						     t->initrds[i], where(fs, buf, sizeof(buf)));
			if (r < 0)
				return vd_err(r, "cannot copy initrd %s from %s: %s", t->initrds[i],
					      where(fs, buf, sizeof(buf)), strerror(-r));
		}
		total += isize;
	}
	if (ramdisk_fd >= 0 && t->n_initrds > 0 && ftruncate(ramdisk_fd, (off_t)total) < 0)
		return vd_err(-errno, "cannot size the ramdisk output file: %m");
	res->ramdisk_size = total;
	res->has_ramdisk = t->n_initrds > 0;
	return 0;
}

static int append_args(char **args, const char *extra)
{
	char *joined;

	if (!extra || !*extra)
		return 0;
	if (asprintf(&joined, "%s%s%s", *args, **args ? " " : "", extra) < 0)
		return -ENOMEM;
	free(*args);
	*args = joined;
	return 0;
}

/* "$empty" expansions leave blanks at the ends; the kernel does not care, libxl users might */
static void trim(char *s)
{
	size_t n = strlen(s), start = 0;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	while (s[start] == ' ' || s[start] == '\t')
		start++;
	memmove(s, s + start, n - start + 1);
}

static int list_entries(const struct found_config *cfg, size_t dflt, char **ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	char wbuf[64], own[64];

	if (!out)
		return -ENOMEM;
	grub_device_name(vd_boot_fs_volume(cfg->fs), own, sizeof(own));
	fprintf(out, "# %s %s on %s%s%s\n", kind_name(cfg->kind), cfg->path,
		where(cfg->fs, wbuf, sizeof(wbuf)), cfg->menu.origin ? ", menu from configfile " : "",
		cfg->menu.origin ? cfg->menu.origin : "");
	for (size_t i = 0; i < cfg->menu.n; i++) {
		const struct vd_boot_entry *e = &cfg->menu.entries[i];
		/* grub reads the kernel from $root's partition: say so when it is another one */
		bool dev = e->kernel && e->kernel[0] != '(' && e->device && strcmp(e->device, own);

		fprintf(out, "%s: %s%s\n", e->index_path, e->title, i == dflt ? " (default)" : "");
		if (e->id)
			fprintf(out, "  id: %s\n", e->id);
		fprintf(out, "  kernel: %s%s%s%s\n", dev ? "(" : "", dev ? e->device : "",
			dev ? ")" : "", e->kernel ? e->kernel : "(none: not bootable)");
		for (size_t k = 0; k < e->n_initrds; k++)
			fprintf(out, "  initrd: %s\n", e->initrds[k]);
		fprintf(out, "  args: %s\n", e->args);
	}
	if (fclose(out) != 0) {
		free(buf);
		return -ENOMEM;
	}
	/* guest text goes to a terminal: make control characters visible */
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n')
			*p = '?';
	*ret = buf;
	return 0;
}

/* Where grub opens a file of an entry: the device in its "(dev)/path", else the entry's $root;
 * NULL (the config's filesystem) when neither names an ext2/3/4 filesystem of this disk. */
static struct vd_boot_fs *grub_file_fs(const struct finder *f, const char *path,
				       const char *root)
{
	char dev[128];
	ssize_t i;

	if (path[0] == '(' && strchr(path, ')')) {
		snprintf(dev, sizeof(dev), "%.*s", (int)(strchr(path, ')') - path - 1), path + 1);
	} else if (root) {
		snprintf(dev, sizeof(dev), "%s", root);
	} else {
		return NULL;
	}
	i = grub_device_volume(f, dev);
	if (i < 0 || !f->fs[i]) {
		vd_debug("%s: (%s) is no ext2/3/4 filesystem of this disk; using the config's", path,
			 dev);
		return NULL;
	}
	return f->fs[i];
}

static int fill_from_entry(struct finder *f, const struct found_config *cfg, size_t idx,
			   struct target *t)
{
	const struct vd_boot_entry *e = &cfg->menu.entries[idx];
	char wbuf[64];
	int r;

	if (asprintf(&t->source, "entry '%s' of %s %s%s%s%s on %s", e->title, kind_name(cfg->kind),
		     cfg->path, cfg->menu.origin ? " (configfile " : "",
		     cfg->menu.origin ? cfg->menu.origin : "", cfg->menu.origin ? ")" : "",
		     where(cfg->fs, wbuf, sizeof(wbuf))) < 0)
		return -ENOMEM;
	for (char *p = t->source; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = '?';
	if (!e->kernel)
		return vd_err(-ENOEXEC, "%s has no linux command; choose another with --entry",
			      t->source);
	r = check_value("kernel path", e->kernel, t->source);
	if (r < 0)
		return r;
	normalize_guest_path(e->kernel, cfg->kind == CFG_EXTLINUX ? cfg->path : NULL, t->kernel,
			     sizeof(t->kernel));
	t->per_file = cfg->kind == CFG_GRUB2;
	if (t->per_file)
		t->kernel_fs = grub_file_fs(f, e->kernel, e->device);
	for (size_t i = 0; i < e->n_initrds; i++) {
		r = check_value("initrd path", e->initrds[i], t->source);
		if (r < 0)
			return r;
		normalize_guest_path(e->initrds[i], cfg->kind == CFG_EXTLINUX ? cfg->path : NULL,
				     t->initrds[i], sizeof(t->initrds[i]));
		if (t->per_file)
			t->initrd_fs[i] = grub_file_fs(f, e->initrds[i], e->device);
	}
	t->n_initrds = e->n_initrds;
	t->cfg_fs = cfg->fs;
	t->args = strdup(e->args);
	return t->args ? 0 : -ENOMEM;
}

/* --entry=/boot/vmlinuz or --entry=xvda1:/vmlinuz,... rather than a menu title (which may well
 * contain a '/', as in "Debian GNU/Linux"). */
static bool is_path_entry(const char *entry)
{
	const char *colon;

	if (!entry)
		return false;
	if (entry[0] == '/')
		return true;
	colon = strchr(entry, ':');
	return colon && colon[1] == '/' && !memchr(entry, ' ', (size_t)(colon - entry)) &&
	       !memchr(entry, '>', (size_t)(colon - entry));
}

/* Whether a command line gives KEY, as "KEY" or "KEY=...". */
static bool args_give(const char *args, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = args; p && *p;) {
		size_t w;

		p += strspn(p, " \t");
		w = strcspn(p, " \t");
		if (w >= kl && !strncmp(p, key, kl) && (w == kl || p[kl] == '='))
			return true;
		p += w;
	}
	return false;
}

/* The root= and ro vdloader adds when no configuration gives a command line; never a key the
 * administrator's --args already gives (two root= would leave the kernel to pick one). */
static int invented_args(const struct finder *f, const char *root_spec, bool read_only,
			 char **ret)
{
	const char *extra = f->req->extra_args;
	bool root = root_spec && !args_give(extra, "root");
	bool ro = read_only && !args_give(extra, "ro") && !args_give(extra, "rw");

	if (asprintf(ret, "%s%s%s%s", root ? "root=" : "", root ? root_spec : "",
		     root && ro ? " " : "", ro ? "ro" : "") < 0)
		return -ENOMEM;
	return 0;
}

static int explicit_target(struct finder *f, struct target *t)
{
	const struct vd_boot_request *req = f->req;
	struct vd_boot_entry_spec spec = {};
	const char *kernel = req->kernel, *initrd = req->ramdisk;
	int r;

	if (is_path_entry(req->entry)) {
		r = vd_boot_entry_spec_parse(req->entry, &spec);
		if (r < 0)
			return vd_err(r, "--entry=%s: expected [dev:]/kernel[,/initrd]", req->entry);
		if (spec.dev) {
			ssize_t i = match_volume(f, spec.dev);

			if (i < 0 || !f->fs[i]) {
				vd_boot_entry_spec_dispose(&spec);
				return vd_err(-ENODEV,
					      "--entry: %s names no ext2/3/4 partition of the disk",
					      req->entry);
			}
			t->cfg_fs = f->fs[i];
		}
		kernel = spec.kernel;
		initrd = spec.initrd;
	}
	if (!t->cfg_fs && !f->root) {
		/* no root found: the first filesystem that has the kernel */
		for (size_t i = 0; i < f->n_vols && !t->cfg_fs; i++) {
			struct vd_boot_ns ns;

			if (!f->fs[i])
				continue;
			vd_boot_ns_init(&ns, f->fs[i]);
			if (exists_file(&ns, kernel))
				t->cfg_fs = f->fs[i];
		}
		if (!t->cfg_fs)
			for (size_t i = 0; i < f->n_vols && !t->cfg_fs; i++)
				t->cfg_fs = f->fs[i];
	}
	snprintf(t->kernel, sizeof(t->kernel), "%s", kernel);
	if (initrd) {
		snprintf(t->initrds[0], sizeof(t->initrds[0]), "%s", initrd);
		t->n_initrds = 1;
	}
	vd_boot_entry_spec_dispose(&spec);
	t->source = strdup(req->kernel ? "--kernel" : "--entry");
	if (!t->source || invented_args(f, req->root, false, &t->args) < 0)
		return -ENOMEM;
	r = check_value("kernel path", t->kernel, t->source);
	if (r == 0 && t->n_initrds)
		r = check_value("initrd path", t->initrds[0], t->source);
	return r;
}

/* Debian's /vmlinuz and /initrd.img links, through the root's mounts. */
static int fallback_target(struct finder *f, struct target *t)
{
	static const char *const pairs[][2] = { { "/vmlinuz", "/initrd.img" },
						{ "/boot/vmlinuz", "/boot/initrd.img" } };
	struct vd_boot_fs *order[VD_BOOT_MAX_MOUNTS * 8];
	size_t n = search_order(f, order);

	for (size_t k = 0; k < n + 1; k++) {
		struct vd_boot_ns ns;
		const struct vd_boot_ns *use;

		if (k == 0) {
			if (!f->root)
				continue;
			use = &f->root_ns;
		} else {
			vd_boot_ns_init(&ns, order[k - 1]);
			use = &ns;
		}
		for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
			struct vd_boot_fs *fs;
			vd_boot_ino ino;
			uint64_t size;
			int r = vd_boot_ns_resolve_file(use, pairs[i][0], &fs, &ino, &size);
			const struct vd_boot_volume *rv;

			if (r == -ENOENT)
				continue;
			t->cfg_fs = k == 0 ? NULL : order[k - 1];
			snprintf(t->kernel, sizeof(t->kernel), "%s", pairs[i][0]);
			if (exists_file(use, pairs[i][1])) {
				snprintf(t->initrds[0], sizeof(t->initrds[0]), "%s", pairs[i][1]);
				t->n_initrds = 1;
			}
			rv = vd_boot_fs_volume(k == 0 ? f->root : order[k - 1]);
			if (f->req->root) {
				r = invented_args(f, f->req->root, true, &t->args);
			} else if (rv->uuid[0]) {
				char spec[sizeof(rv->uuid) + 8];

				snprintf(spec, sizeof(spec), "UUID=%s", rv->uuid);
				r = invented_args(f, spec, true, &t->args);
			} else {
				r = invented_args(f, NULL, true, &t->args);
			}
			if (r < 0)
				return -ENOMEM;
			if (asprintf(&t->source, "%s on partition %d (no boot configuration found)",
				     pairs[i][0], rv->partno) < 0)
				return -ENOMEM;
			return 1;
		}
	}
	return 0;
}

static int describe_fallback(const struct target *t, char **ret)
{
	char *s;

	if (asprintf(&s, "# %s\n0: %s (default)\n  kernel: %s\n%s%s%s  args: %s\n", t->source,
		     t->kernel, t->kernel, t->n_initrds ? "  initrd: " : "",
		     t->n_initrds ? t->initrds[0] : "", t->n_initrds ? "\n" : "", t->args) < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int vd_boot_find(const struct vd_boot_disk *disk, const struct vd_boot_request *req, int kernel_fd,
		 int ramdisk_fd, struct vd_boot_result *ret)
{
	struct finder f = { .disk = disk, .req = req };
	struct found_config cfg = {};
	/* 70 KB of path buffers, not zeroed: a page nothing writes stays out of the sandboxed
	 * reader's RSS (`= {}` on the stack touched all 17); initrds[i] are read below n_initrds */
	struct target *t = malloc(sizeof(*t));
	struct vd_boot_result res = {};
	bool have_cfg = false;
	int r;

	if (!t)
		return -ENOMEM;
	t->cfg_fs = NULL;
	t->per_file = false;
	t->kernel[0] = '\0';
	t->n_initrds = 0;
	t->args = t->source = NULL;
	vd_boot_fs_global_init();
	r = open_filesystems(&f);
	if (r < 0)
		goto out;
	r = find_root(&f);
	if (r < 0)
		goto out;

	if (req->kernel || is_path_entry(req->entry)) {
		r = explicit_target(&f, t);
		if (r < 0)
			goto out;
	} else {
		struct vd_boot_fs *order[VD_BOOT_MAX_MOUNTS * 8];
		size_t n = search_order(&f, order), idx;

		for (size_t i = 0; i < n && !have_cfg; i++) {
			r = find_config_in(&f, order[i], &cfg);
			if (r < 0)
				goto out;
			have_cfg = r > 0;
		}
		if (have_cfg) {
			if (req->entry) {
				r = vd_boot_menu_find(&cfg.menu, req->entry, &idx);
				if (r < 0) {
					r = vd_err(-ENOENT,
						   "--entry=%s matches no entry of %s (list them "
						   "with -l)",
						   req->entry, cfg.path);
					goto out;
				}
			} else {
				r = vd_boot_menu_default(&cfg.menu, &idx);
				if (r < 0)
					goto out;
			}
			if (req->list) {
				r = list_entries(&cfg, idx, &res.listing);
				if (r < 0)
					goto out;
			}
			r = fill_from_entry(&f, &cfg, idx, t);
			if (r < 0 && !req->list)
				goto out;
			if (r < 0) {
				vd_err_clear();
				r = 0;
				goto done;
			}
		} else {
			r = fallback_target(&f, t);
			if (r < 0)
				goto out;
			if (r == 0) {
				r = vd_err(-ENOENT,
					   "no boot configuration (BLS entries, grub.cfg, "
					   "extlinux.conf, menu.lst) and no /vmlinuz on any ext2/3/4 "
					   "filesystem of the disk; name the kernel with --kernel or "
					   "--entry");
				goto out;
			}
			if (req->list) {
				r = describe_fallback(t, &res.listing);
				if (r < 0)
					goto out;
			}
		}
	}
	if (req->list)
		goto done;

	r = append_args(&t->args, req->extra_args);
	if (r < 0)
		goto out;
	trim(t->args);
	r = check_value("command line", t->args, t->source);
	if (r < 0)
		goto out;
	r = copy_out(&f, t, kernel_fd, ramdisk_fd, &res);
	if (r < 0)
		goto out;
done:
	res.args = t->args ? strdup(t->args) : strdup("");
	res.kernel_path = strdup(t->kernel);
	res.source = strdup(t->source ? t->source : "");
	if (t->n_initrds > 0) {
		size_t len = 0;

		for (size_t i = 0; i < t->n_initrds; i++) {
			if (i > 0)
				vd_boot_strbuf_append(&res.ramdisk_paths, &len, " ", 1);
			vd_boot_strbuf_append(&res.ramdisk_paths, &len, t->initrds[i],
					      strlen(t->initrds[i]));
		}
	}
	if (!res.args || !res.kernel_path || !res.source) {
		r = -ENOMEM;
		goto out;
	}
	*ret = res;
	memset(&res, 0, sizeof(res));
	r = 0;
out:
	vd_boot_result_dispose(&res);
	vd_boot_menu_dispose(&cfg.menu);
	free(t->args);
	free(t->source);
	free(t);
	close_filesystems(&f);
	return r;
}
