/* block-vd add/remove logic against a real SQLite database and real file-backed pool devices,
 * with device-mapper and xenstore replaced by in-memory fakes that fail on demand. The same code
 * runs against libdevmapper and xenstored in tests/e2e/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <sys/sysmacros.h>

#include "pool/db.h"
#include "attach/dm.h"
#include "base/error.h"
#include "attach/check.h"
#include "attach/holder.h"
#include "attach/hotplug.h"
#include "pool/sanlock.h"
#include "pool/import.h"
#include "pool/label.h"
#include "pool/pool.h"
#include "attach/sharing.h"
#include "pool/vdisk.h"
#include "attach/xs.h"
#include "pool_fixture.h"

#define ES (64 * 1024)
#define POOL_MAJOR 7 /* the fake backing devices look like loop devices */
#define DM_MAJOR 253

/* ---- fault injection: every fallible fake operation counts; the fail_at-th one fails ---- */

static int op_count;
static int fail_at;
static const char *failed_op;

static bool inject(const char *what)
{
	op_count++;
	if (fail_at && op_count == fail_at) {
		failed_op = what;
		return true;
	}
	return false;
}

/* ---- fake device-mapper ---- */

struct fake_dev {
	char name[64];
	char uuid[130];
	struct vd_dm_table table;
	uint32_t minor;
	int open_count;
};
static struct fake_dev devs[16];
static size_t ndevs;
static uint32_t next_minor;

static struct fake_dev *find_dev(const char *name)
{
	for (size_t i = 0; i < ndevs; i++)
		if (!strcmp(devs[i].name, name))
			return &devs[i];
	return NULL;
}

static int copy_table(const struct vd_dm_table *from, struct vd_dm_table *to)
{
	*to = (struct vd_dm_table){ 0 };
	for (size_t i = 0; i < from->n; i++)
		if (vd_dmtable_append(to, &from->targets[i]) < 0)
			return -ENOMEM;
	return 0;
}

static void fill_info(const struct fake_dev *d, struct vd_dm_info *ret)
{
	*ret = (struct vd_dm_info){ .exists = true, .major = DM_MAJOR, .minor = d->minor,
				    .open_count = d->open_count };
	snprintf(ret->name, sizeof(ret->name), "%s", d->name);
	snprintf(ret->uuid, sizeof(ret->uuid), "%s", d->uuid);
}

static char trace[1024]; /* "hold create release(kept) remove release " */
static unsigned lease_holds; /* how many times the holder holds the pool's lease (0 or 1) */
static int hold_fails;	     /* -errno the next hold returns */

static void trace_add(const char *what)
{
	size_t used = strlen(trace);

	snprintf(trace + used, sizeof(trace) - used, "%s ", what);
}

/* Runs once, inside the next dm create (another host acting meanwhile). */
static void (*on_dm_create)(void);

static int fake_create(const char *name, const char *uuid, const struct vd_dm_table *t,
		       struct vd_dm_info *ret)
{
	struct fake_dev *d;

	if (inject("dm create"))
		return vd_err(-EIO, "injected: dm create %s", name);
	trace_add("create");
	if (on_dm_create) {
		void (*hook)(void) = on_dm_create;

		on_dm_create = NULL;
		hook();
	}
	if (find_dev(name))
		return vd_err(-EEXIST, "dm device %s already exists", name);
	assert_true(ndevs < ARRAY_SIZE(devs));
	d = &devs[ndevs++];
	*d = (struct fake_dev){ .minor = next_minor++ };
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid ? uuid : "");
	assert_int_equal(copy_table(t, &d->table), 0);
	fill_info(d, ret);
	return 0;
}

static int fake_reload(const char *name, const struct vd_dm_table *t)
{
	struct fake_dev *d;

	if (inject("dm reload"))
		return vd_err(-EIO, "injected: dm reload %s", name);
	d = find_dev(name);
	if (!d)
		return vd_err(-ENODEV, "no %s", name);
	vd_dmtable_dispose(&d->table);
	return copy_table(t, &d->table);
}

static int fake_remove(const char *name, unsigned flags)
{
	struct fake_dev *d;

	if (inject("dm remove"))
		return vd_err(-EIO, "injected: dm remove %s", name);
	d = find_dev(name);
	if (!d)
		return vd_err(-ENODEV, "dm device %s does not exist", name);
	if (d->open_count > 0)
		return vd_err(-EBUSY, "dm device %s is still open", name);
	trace_add("remove");
	vd_dmtable_dispose(&d->table);
	*d = devs[--ndevs];
	return 0;
}

static int fake_info(const char *name, struct vd_dm_info *ret)
{
	const struct fake_dev *d;

	if (inject("dm info"))
		return vd_err(-EIO, "injected: dm info %s", name);
	d = find_dev(name);
	if (!d) {
		*ret = (struct vd_dm_info){ 0 };
		return 0;
	}
	fill_info(d, ret);
	return 0;
}

static int fake_table(const char *name, struct vd_dm_table *ret)
{
	const struct fake_dev *d;

	if (inject("dm table"))
		return vd_err(-EIO, "injected: dm table %s", name);
	d = find_dev(name);
	if (!d)
		return vd_err(-ENODEV, "no %s", name);
	return copy_table(&d->table, ret);
}

static int fake_list(const char *prefix, struct vd_dm_info **ret, size_t *ret_n)
{
	struct vd_dm_info *list = calloc(ndevs + 1, sizeof(*list));
	size_t n = 0;

	if (inject("dm list")) {
		free(list);
		return vd_err(-EIO, "injected: dm list");
	}
	for (size_t i = 0; i < ndevs; i++)
		if (!prefix || !strncmp(devs[i].uuid, prefix, strlen(prefix)))
			fill_info(&devs[i], &list[n++]);
	*ret = list;
	*ret_n = n;
	return 0;
}

static const struct vd_dm_ops fake_dm = {
	.create = fake_create,
	.reload = fake_reload,
	.remove = fake_remove,
	.info = fake_info,
	.table = fake_table,
	.list = fake_list,
};

static void fake_dm_reset(void)
{
	for (size_t i = 0; i < ndevs; i++)
		vd_dmtable_dispose(&devs[i].table);
	ndevs = 0;
	next_minor = 0;
}

/* Pool files look like block devices 7:<n>, n by inode. */
static ino_t pool_inodes[4];

static int fake_backing_device(int fd, const char *path, dev_t *ret_dev, int *ret_hold_fd)
{
	struct stat st;

	if (inject("backing device"))
		return vd_err(-EIO, "injected: backing device for %s", path);
	assert_int_equal(fstat(fd, &st), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(pool_inodes); i++) {
		if (!pool_inodes[i])
			pool_inodes[i] = st.st_ino;
		if (pool_inodes[i] == st.st_ino) {
			*ret_dev = makedev(POOL_MAJOR, i);
			*ret_hold_fd = -1;
			return 0;
		}
	}
	fail_msg("too many pool files");
	return -1;
}

static const struct vd_attach_ops fake_ops = {
	.dm = &fake_dm,
	.backing_device = fake_backing_device,
};

/* ---- fake sanlock liveness: which hosts of the lockspace sanlock declares dead ---- */

static bool host_dead[8];
static int host_queries;

static int fake_host_dead(struct vd_db *db, uint32_t host_id, bool *ret_dead)
{
	(void)db;
	host_queries++;
	if (host_id == 3)
		return vd_err(-ECONNREFUSED, "injected: the sanlock daemon does not answer");
	assert_true(host_id < ARRAY_SIZE(host_dead));
	*ret_dead = host_dead[host_id];
	return 0;
}

static const struct vd_host_ops fake_hosts = { .host_dead = fake_host_dead };

/* ---- fake active-VD lease: what the holder would hold, in order with the dm operations ---- */

static int fake_hold(const struct vd_sanlock_area *a, const uint8_t pool[16], int *ret_lock_fd)
{
	(void)a;
	(void)pool;
	if (hold_fails) {
		int r = hold_fails;

		hold_fails = 0;
		return vd_err(r, "injected: the holder is not running; run 'xl-vd lockspace-start'");
	}
	trace_add("hold");
	lease_holds = 1;
	*ret_lock_fd = dup(2); /* stands for the pool's host-local lock */
	return 0;
}

static int fake_release_if_idle(const struct vd_sanlock_area *a, const uint8_t pool[16],
				const struct vd_dm_ops *dm, bool *ret_released)
{
	int active = vd_holder_pool_active(pool, dm);

	(void)a;
	assert_true(active >= 0);
	*ret_released = !active && lease_holds;
	trace_add(active ? "release(kept)" : "release");
	if (!active)
		lease_holds = 0;
	return 0;
}

static const struct vd_lease_ops fake_lease = {
	.hold = fake_hold,
	.release_if_idle = fake_release_if_idle,
};

static const struct vd_attach_ops fake_shared_ops = {
	.dm = &fake_dm,
	.backing_device = fake_backing_device,
	.hosts = &fake_hosts,
	.lease = &fake_lease,
};

/* ---- fake xenstore: a flat key/value list; transactions stage writes until commit ---- */

struct node {
	char *path, *value;
};
static struct node store[512];
static size_t nstore;
static struct node staged[32];
static size_t nstaged;
static bool staged_rm[32];
static int eagain_left; /* txn_end answers EAGAIN this many times */

static char *abs_path(const char *p)
{
	char *s;

	if (p[0] == '/')
		return strdup(p);
	assert_true(asprintf(&s, "/local/domain/0/%s", p) > 0);
	return s;
}

static struct node *find_node(const char *path)
{
	for (size_t i = 0; i < nstore; i++)
		if (!strcmp(store[i].path, path))
			return &store[i];
	return NULL;
}

static void set_node(const char *path, const char *value)
{
	_cleanup_free_ char *p = abs_path(path);
	struct node *n = find_node(p);

	if (n) {
		free(n->value);
		n->value = strdup(value);
		return;
	}
	assert_true(nstore < ARRAY_SIZE(store));
	store[nstore++] = (struct node){ strdup(p), strdup(value) };
}

static void rm_tree(const char *path)
{
	_cleanup_free_ char *p = abs_path(path);
	size_t len = strlen(p);

	for (size_t i = 0; i < nstore;) {
		if (!strncmp(store[i].path, p, len) &&
		    (store[i].path[len] == '\0' || store[i].path[len] == '/')) {
			free(store[i].path);
			free(store[i].value);
			store[i] = store[--nstore];
		} else {
			i++;
		}
	}
}

static const char *get_node(const char *path)
{
	_cleanup_free_ char *p = abs_path(path);
	const struct node *n = find_node(p);

	return n ? n->value : NULL;
}

static void fake_xs_reset(void)
{
	for (size_t i = 0; i < nstore; i++) {
		free(store[i].path);
		free(store[i].value);
	}
	nstore = 0;
	eagain_left = 0;
}

static int fx_open(void **ret)
{
	*ret = (void *)1;
	return 0;
}

static void fx_close(void *h)
{
}

static int fx_read(void *h, vd_xs_txn t, const char *path, char **ret)
{
	_cleanup_free_ char *p = abs_path(path);
	const struct node *n;

	if (inject("xs read"))
		return -EIO;
	n = find_node(p);
	if (!n)
		return -ENOENT;
	*ret = strdup(n->value);
	return 0;
}

static int fx_write(void *h, vd_xs_txn t, const char *path, const char *value)
{
	if (inject("xs write"))
		return -EIO;
	if (!t) {
		set_node(path, value);
		return 0;
	}
	assert_true(nstaged < ARRAY_SIZE(staged));
	staged_rm[nstaged] = false;
	staged[nstaged++] = (struct node){ abs_path(path), strdup(value) };
	return 0;
}

static int fx_rm(void *h, vd_xs_txn t, const char *path)
{
	if (inject("xs rm"))
		return -EIO;
	if (!t) {
		rm_tree(path);
		return 0;
	}
	staged_rm[nstaged] = true;
	staged[nstaged++] = (struct node){ abs_path(path), NULL };
	return 0;
}

static int fx_directory(void *h, vd_xs_txn t, const char *path, char ***ret, unsigned *ret_n)
{
	_cleanup_free_ char *p = abs_path(path);
	size_t len = strlen(p), total = 0;
	char *names[512];
	unsigned n = 0;
	char **block, *strings;

	if (inject("xs directory"))
		return -EIO;
	for (size_t i = 0; i < nstore; i++) {
		const char *rest = store[i].path + len;
		size_t l;
		bool dup = false;

		if (strncmp(store[i].path, p, len) || rest[0] != '/')
			continue;
		rest++;
		l = strcspn(rest, "/");
		for (unsigned j = 0; j < n; j++)
			if (strlen(names[j]) == l && !strncmp(names[j], rest, l))
				dup = true;
		if (!dup) {
			names[n++] = strndup(rest, l);
			total += l + 1;
		}
	}
	if (n == 0 && !find_node(p))
		return -ENOENT;
	block = malloc(n * sizeof(char *) + total + 1);
	strings = (char *)(block + n);
	for (unsigned j = 0; j < n; j++) {
		strcpy(strings, names[j]);
		block[j] = strings;
		strings += strlen(names[j]) + 1;
		free(names[j]);
	}
	*ret = block;
	*ret_n = n;
	return 0;
}

static int fx_txn_start(void *h, vd_xs_txn *ret)
{
	if (inject("xs txn start"))
		return -EIO;
	nstaged = 0;
	*ret = 42;
	return 0;
}

static void drop_staged(void)
{
	for (size_t i = 0; i < nstaged; i++) {
		free(staged[i].path);
		free(staged[i].value);
	}
	nstaged = 0;
}

static int fx_txn_end(void *h, vd_xs_txn t, bool abort)
{
	if (abort) {
		drop_staged();
		return 0;
	}
	if (inject("xs txn end")) {
		drop_staged();
		return -EIO;
	}
	if (eagain_left > 0) {
		eagain_left--;
		drop_staged();
		return -EAGAIN;
	}
	for (size_t i = 0; i < nstaged; i++) {
		if (staged_rm[i])
			rm_tree(staged[i].path);
		else
			set_node(staged[i].path, staged[i].value);
	}
	drop_staged();
	return 0;
}

static const struct vd_xs_ops fake_xs = {
	.open = fx_open,
	.close = fx_close,
	.read = fx_read,
	.write = fx_write,
	.rm = fx_rm,
	.directory = fx_directory,
	.txn_start = fx_txn_start,
	.txn_end = fx_txn_end,
};

/* ---- fixture: a pool file with 16 extents, VD 1 of 2 extents, VD 2 of 3 ---- */

struct fixture {
	char dir[64];
	char db_path[128];
	char dev_path[128];
	struct vd_db *db;
	struct vd_xs *xs;
	struct vd_attacher h;
	uint32_t vd1, vd2;
};

static uint32_t create_vd(struct fixture *f, uint64_t extents, int64_t expire)
{
	struct vd_create_opts co = { .size = extents * ES, .expire_seconds = expire };
	struct vd_vdisk v = { 0 };

	if (vd_vdisk_create(f->db, &co, NULL, NULL, &v) < 0)
		fail_msg("create failed: %s", vd_errmsg());
	vd_vdisk_dispose(&v);
	return v.id;
}

/* What block-vd would write to dom0's log. */
static char logged[8192];

static void capture_log(enum vd_log_level level, const char *msg, void *userdata)
{
	size_t used = strlen(logged);

	(void)level;
	(void)userdata;
	snprintf(logged + used, sizeof(logged) - used, "%s\n", msg);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vd_format_opts fo = { .extent_size = ES };
	int fd;

	snprintf(f->dir, sizeof(f->dir), "/tmp/xenvd-hotplug-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db_path, sizeof(f->db_path), "%s/db/xenvd.db", f->dir);
	snprintf(f->dev_path, sizeof(f->dev_path), "%s/pool0.img", f->dir);
	fd = open(f->dev_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, VD_DATA_OFFSET + 16 * ES), 0);
	close(fd);
	unsetenv("XENVD_NOW");
	assert_int_equal(fixture_new_pool(f->db_path, f->dev_path, &fo, &f->db), 0);
	f->vd1 = create_vd(f, 2, 0);
	f->vd2 = create_vd(f, 3, 0);

	fake_dm_reset();
	fake_xs_reset();
	memset(pool_inodes, 0, sizeof(pool_inodes));
	set_node("domid", "0");
	assert_int_equal(vd_xs_open(&fake_xs, &f->xs), 0);
	vd_attacher_init(&f->h, f->db, f->xs);
	f->h.ops = &fake_ops;
	f->h.lock_timeout_ms = 1000;
	op_count = 0;
	fail_at = 0;
	logged[0] = '\0';
	vd_log_set_sink(capture_log, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	vd_xs_close(f->xs);
	vd_db_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	fake_dm_reset();
	fake_xs_reset();
	unsetenv("XENVD_NOW");
	vd_log_set_sink(NULL, NULL);
	free(f);
	return 0;
}

/* A domain as libxl makes it: /local/domain/<domid>/{name,vm}, vm = "/vm/<uuid>" and
 * /vm/<uuid>/uuid. uuid NULL: a domain that names no VM. */
static void domain(int domid, const char *uuid)
{
	char path[64], v[64];

	snprintf(path, sizeof(path), "/local/domain/%d/name", domid);
	snprintf(v, sizeof(v), "d%d", domid);
	set_node(path, v);
	snprintf(path, sizeof(path), "/local/domain/%d/vm", domid);
	if (!uuid) {
		rm_tree(path);
		return;
	}
	snprintf(v, sizeof(v), "/vm/%s", uuid);
	set_node(path, v);
	snprintf(path, sizeof(path), "/vm/%s/uuid", uuid);
	set_node(path, uuid);
}

/* Its xenstore entries removed, as libxl does after its backends. */
static void domain_gone(int domid)
{
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%d", domid);
	rm_tree(path);
}

#define VM_A "6f1c2a9e-0b3d-4c5e-8f70-112233445566"
#define VM_B "0d9e8f7a-6b5c-4d3e-9f21-aabbccddeeff"

/* A vbd backend as libxl writes it before running the script; returns XENBUS_PATH. A guest
 * domain not described yet gets a VM of its own (UUID ending in its domid). */
static const char *backend(int domid, int devid, const char *params, const char *mode)
{
	static char be[64];
	char path[128], v[64];

	snprintf(path, sizeof(path), "/local/domain/%d/name", domid);
	if (domid != 0 && !get_node(path)) {
		snprintf(v, sizeof(v), "00000000-0000-4000-8000-%012d", domid);
		domain(domid, v);
	}

	snprintf(be, sizeof(be), "backend/vbd/%d/%d", domid, devid);
	rm_tree(be);
	snprintf(path, sizeof(path), "%s/params", be);
	if (params)
		set_node(path, params);
	snprintf(path, sizeof(path), "%s/mode", be);
	set_node(path, mode);
	snprintf(path, sizeof(path), "%s/frontend-id", be);
	snprintf(v, sizeof(v), "%d", domid);
	set_node(path, v);
	snprintf(path, sizeof(path), "%s/dev", be);
	set_node(path, "xvda");
	snprintf(path, sizeof(path), "%s/state", be);
	set_node(path, "2");
	return be;
}

static const char *node(const char *be, const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", be, name);
	return get_node(path);
}

static size_t attachments(struct fixture *f, uint32_t vd)
{
	struct vd_attachment *list = NULL;
	size_t n = 0;

	assert_int_equal(vd_db_attachment_list(f->db, vd, &list, &n), 0);
	vd_db_attachment_list_free(list, n);
	return n;
}

static int add(struct fixture *f, const char *be)
{
	char copy[64];

	snprintf(copy, sizeof(copy), "%s", be);
	vd_err_clear();
	return vd_hotplug_add(&f->h, copy);
}

static int remove_be(struct fixture *f, const char *be)
{
	char copy[64];

	snprintf(copy, sizeof(copy), "%s", be);
	return vd_hotplug_remove(&f->h, copy);
}

/* ---- behaviour ---- */

static void test_add_maps_vd_and_writes_results(void **state)
{
	struct fixture *f = *state;
	const char *be = backend(5, 51712, "vd:1", "w");
	struct vd_attachment a = { 0 };
	char key[96];

	assert_int_equal(add(f, be), 0);
	assert_int_equal(ndevs, 1);
	assert_string_equal(devs[0].name, "vd-1");
	assert_int_equal(strncmp(devs[0].uuid, "XENVD-", 6), 0);
	assert_int_equal(vd_dmtable_sectors(&devs[0].table), 2 * ES / 512);
	assert_int_equal(devs[0].table.targets[0].dev, makedev(POOL_MAJOR, 0));
	assert_int_equal(devs[0].table.targets[0].offset % (ES / 512),
			 VD_DATA_OFFSET / 512 % (ES / 512));
	assert_string_equal(node(be, "physical-device"), "fd:0");
	assert_string_equal(node(be, "physical-device-path"), "/dev/mapper/vd-1");
	assert_string_equal(node(be, "hotplug-status"), "connected");
	assert_null(node(be, "hotplug-error"));
	snprintf(key, sizeof(key), "/local/domain/0/%s", be);
	assert_int_equal(vd_db_attachment_get(f->db, key, &a), 0);
	assert_int_equal(a.vd_id, 1);
	assert_int_equal(a.domid, 5);
	assert_int_equal(a.devid, 51712);
	assert_string_equal(a.mode, "w");
	assert_string_equal(a.dm_name, "vd-1");
	assert_non_null(a.vdev);
	assert_string_equal(a.vdev, "xvda");
	assert_non_null(a.vm_uuid); /* the frontend's VM, as /local/domain/5/vm names it */
	assert_string_equal(a.vm_uuid, "00000000-0000-4000-8000-000000000005");
	vd_attachment_dispose(&a);
}

static void test_add_twice_is_idempotent(void **state)
{
	struct fixture *f = *state;
	const char *be = backend(5, 51712, "vd:1", "w");

	assert_int_equal(add(f, be), 0);
	assert_int_equal(add(f, be), 0);
	assert_int_equal(ndevs, 1);
	assert_int_equal(attachments(f, 1), 1);
}

static void test_params_are_trimmed(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(add(f, backend(5, 51712, "  vd:2 \n", "w")), 0);
	assert_int_equal(attachments(f, 2), 1);
}

static void test_bad_targets_fail_with_hotplug_error_and_leave_nothing(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = { "vd:", "vd:x", "vd:1,ro", "1", "phy:/dev/sdb",
					   "vd:99" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *be = backend(5, 51712, bad[i], "w");

		assert_true(add(f, be) < 0);
		assert_non_null(node(be, "hotplug-error"));
		assert_string_equal(node(be, "hotplug-status"), "error");
		assert_null(node(be, "physical-device"));
	}
	assert_non_null(strstr(node("backend/vbd/5/51712", "hotplug-error"), "VD 99"));
	/* no params at all */
	assert_true(add(f, backend(5, 51713, NULL, "w")) < 0);
	assert_int_equal(ndevs, 0);
	assert_int_equal(attachments(f, 0), 0);
}

static void test_missing_mode_or_frontend_fails(void **state)
{
	struct fixture *f = *state;
	const char *be = backend(5, 51712, "vd:1", "w");

	rm_tree("backend/vbd/5/51712/frontend-id");
	assert_true(add(f, be) < 0);
	assert_non_null(strstr(node(be, "hotplug-error"), "frontend-id"));
	be = backend(5, 51712, "vd:1", "w");
	rm_tree("backend/vbd/5/51712/mode");
	assert_true(add(f, be) < 0);
	assert_int_equal(ndevs, 0);
}

static void test_failure_at_every_step_of_add_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	const char *be;
	int total, failures = 0;

	/* How many fallible operations a clean add makes. */
	be = backend(5, 51712, "vd:1", "w");
	op_count = 0;
	assert_int_equal(add(f, be), 0);
	total = op_count;
	assert_int_equal(remove_be(f, be), 0);
	assert_int_equal(ndevs, 0);
	assert_true(total > 5);

	for (int k = 1; k <= total; k++) {
		int r;

		be = backend(5, 51712, "vd:1", "w");
		op_count = 0;
		fail_at = k;
		failed_op = NULL;
		r = add(f, be);
		fail_at = 0;
		if (r < 0) {
			failures++;
			if (ndevs != 0 || attachments(f, 0) != 0)
				fail_msg("failure of op %d (%s) left %zu dm device(s) and %zu "
					 "attachment(s)",
					 k, failed_op, ndevs, attachments(f, 0));
			if (!node(be, "hotplug-error"))
				fail_msg("failure of op %d (%s) wrote no hotplug-error", k,
					 failed_op);
			assert_string_equal(node(be, "hotplug-status"), "error");
			assert_null(node(be, "physical-device"));
		} else {
			/* a tolerated failure (e.g. an optional node) must still be complete */
			assert_int_equal(ndevs, 1);
			assert_int_equal(attachments(f, 0), 1);
			assert_non_null(node(be, "physical-device"));
		}
		/* remove copes with whatever state the add left */
		assert_int_equal(remove_be(f, be), 0);
		assert_int_equal(ndevs, 0);
		assert_int_equal(attachments(f, 0), 0);
	}
	/* Most steps are fatal: a fake that never failed would not get here. */
	assert_true(failures >= total / 2);
}

static void test_remove_copes_with_partial_states(void **state)
{
	struct fixture *f = *state;
	const char *be = backend(5, 51712, "vd:1", "w");
	struct vd_dm_info info;
	struct vd_dm_table t = { 0 };
	struct vd_dm_target whole = { 0, 8, makedev(POOL_MAJOR, 0), 0 };
	uint8_t pool[16];
	char uuid[VD_DM_UUID_MAX];

	/* 1. nothing happened at all */
	assert_int_equal(remove_be(f, be), 0);
	/* 2. the add was killed after creating the dm device, before recording the attachment */
	vd_db_pool_uuid(f->db, pool);
	assert_int_equal(vd_dmtable_append(&t, &whole), 0);
	assert_int_equal(fake_create("vd-1", vd_dm_uuid(pool, 1, uuid), &t, &info), 0);
	vd_dmtable_dispose(&t);
	assert_int_equal(remove_be(f, be), 0);
	assert_int_equal(ndevs, 0);
	/* 3. attachment recorded, dm device gone (removed by hand) */
	assert_int_equal(add(f, be), 0);
	assert_int_equal(fake_remove("vd-1", 0), 0);
	assert_int_equal(remove_be(f, be), 0);
	assert_int_equal(attachments(f, 0), 0);
	/* 4. twice */
	assert_int_equal(remove_be(f, be), 0);
	/* 5. the backend directory is already gone */
	assert_int_equal(add(f, be), 0);
	rm_tree(be);
	assert_int_equal(remove_be(f, be), 0);
	assert_int_equal(ndevs, 0);
	assert_int_equal(attachments(f, 0), 0);
}

static void test_dm_device_is_shared_and_removed_with_the_last_attachment(void **state)
{
	struct fixture *f = *state;
	char be1[64], be2[64];

	f->h.sharing_level = 1;
	snprintf(be1, sizeof(be1), "%s", backend(5, 51712, "vd:1", "w"));
	snprintf(be2, sizeof(be2), "%s", backend(6, 51712, "vd:1", "r"));
	assert_int_equal(add(f, be1), 0);
	assert_int_equal(add(f, be2), 0);
	assert_int_equal(ndevs, 1);
	assert_string_equal(node(be1, "physical-device"), node(be2, "physical-device"));
	assert_int_equal(remove_be(f, be1), 0);
	assert_int_equal(ndevs, 1);
	assert_int_equal(remove_be(f, be2), 0);
	assert_int_equal(ndevs, 0);
}

static void test_bootloader_dom0_attach_then_guest_attach(void **state)
{
	struct fixture *f = *state;
	char dom0[64], guest[64];

	snprintf(dom0, sizeof(dom0), "%s", backend(0, 51712, "vd:1", "w"));
	assert_int_equal(add(f, dom0), 0);
	assert_int_equal(ndevs, 1);
	assert_int_equal(remove_be(f, dom0), 0);
	assert_int_equal(ndevs, 0);
	snprintf(guest, sizeof(guest), "%s", backend(7, 51712, "vd:1", "w"));
	assert_int_equal(add(f, guest), 0);
	assert_int_equal(ndevs, 1);
}

static void expect_share(struct fixture *f, int level, const char *m1, const char *m2, int d2,
			 bool allowed)
{
	char be1[64], be2[64];
	int r;

	f->h.sharing_level = level;
	snprintf(be1, sizeof(be1), "%s", backend(5, 51712, "vd:1", m1));
	snprintf(be2, sizeof(be2), "%s", backend(d2, 51728, "vd:1", m2));
	assert_int_equal(add(f, be1), 0);
	r = add(f, be2);
	if (allowed != (r == 0))
		fail_msg("level %d, %s then %s (domain %d): got %d (%s)", level, m1, m2, d2, r,
			 vd_errmsg());
	if (!allowed) {
		assert_int_equal(r, -EBUSY);
		/* the frontend reads hotplug-error: another tenant is not named there, only in the log */
	assert_non_null(strstr(node(be2, "hotplug-error"), "another domain"));
	assert_null(strstr(node(be2, "hotplug-error"), "domain 5"));
	assert_non_null(strstr(logged, "domain 5"));
		assert_int_equal(attachments(f, 1), 1);
	}
	assert_int_equal(remove_be(f, be2), 0);
	assert_int_equal(remove_be(f, be1), 0);
	assert_int_equal(ndevs, 0);
}

static void test_sharing_levels(void **state)
{
	struct fixture *f = *state;

	expect_share(f, 0, "r", "r", 6, true);
	expect_share(f, 0, "w", "r", 6, false);
	expect_share(f, 0, "r", "w", 6, false);
	expect_share(f, 0, "w", "w", 6, false);
	expect_share(f, 1, "w", "r", 6, true);
	expect_share(f, 1, "r", "w", 6, true);
	expect_share(f, 1, "w", "w", 6, false);
	expect_share(f, 2, "w", "w", 6, true);
	/* w! skips the check; the same domain may use a VD twice (as the stock script allows) */
	expect_share(f, 0, "w", "w!", 6, true);
	expect_share(f, 0, "w", "w", 5, true);
}

static void test_foreign_backend_on_a_pool_device_conflicts(void **state)
{
	struct fixture *f = *state;
	const char *be;

	/* Someone attached the pool device itself to domain 9 (another VM) with the stock block
	 * script. */
	domain(9, VM_B);
	set_node("backend/vbd/9/768/physical-device", "7:0");
	set_node("backend/vbd/9/768/mode", "w");
	set_node("backend/vbd/9/768/frontend-id", "9");
	/* and something unrelated */
	set_node("backend/vbd/10/768/physical-device", "8:10");
	set_node("backend/vbd/10/768/mode", "w");
	set_node("backend/vbd/10/768/frontend-id", "10");
	be = backend(5, 51712, "vd:1", "r");
	assert_int_equal(add(f, be), -EBUSY);
	assert_non_null(strstr(node(be, "hotplug-error"), "another domain"));
	assert_null(strstr(node(be, "hotplug-error"), "domain 9"));
	assert_non_null(strstr(logged, "domain 9"));
	assert_string_equal(node(be, "hotplug-status"), "busy"); /* the stock ebusy's status */
	assert_int_equal(ndevs, 0);
	rm_tree("backend/vbd/9");
	assert_int_equal(add(f, be), 0);
}

static void test_expired_vd_refused_unless_already_attached(void **state)
{
	struct fixture *f = *state;
	uint32_t vd = create_vd(f, 1, 60);
	char now[32], params[16], be1[64], be2[64];

	snprintf(params, sizeof(params), "vd:%" PRIu32, vd);
	snprintf(now, sizeof(now), "%lld", (long long)vd_now() + 3600);
	/* attached while live, then the lease runs out: the attachment keeps working and a
	 * second attachment (the guest after the bootloader's dom0 attach) is allowed */
	snprintf(be1, sizeof(be1), "%s", backend(0, 51712, params, "w"));
	assert_int_equal(add(f, be1), 0);
	setenv("XENVD_NOW", now, 1);
	snprintf(be2, sizeof(be2), "%s", backend(0, 51728, params, "w"));
	assert_int_equal(add(f, be2), 0);
	assert_int_equal(remove_be(f, be1), 0);
	assert_int_equal(remove_be(f, be2), 0);
	/* not attached and expired: refused */
	assert_int_equal(add(f, be1), -EKEYEXPIRED);
	assert_non_null(strstr(node(be1, "hotplug-error"), "refresh"));
	assert_int_equal(ndevs, 0);
}

static void test_xenstore_conflicts_are_retried(void **state)
{
	struct fixture *f = *state;
	const char *be = backend(5, 51712, "vd:1", "w");

	eagain_left = 3;
	assert_int_equal(add(f, be), 0);
	assert_string_equal(node(be, "hotplug-status"), "connected");
}

static void test_stale_dm_device_without_attachments_is_reloaded(void **state)
{
	struct fixture *f = *state;
	struct vd_dm_table t = { 0 };
	struct vd_dm_target wrong = { 0, 8, makedev(POOL_MAJOR, 3), 0 };
	struct vd_dm_info info;
	uint8_t pool[16];
	char uuid[VD_DM_UUID_MAX];

	vd_db_pool_uuid(f->db, pool);
	assert_int_equal(vd_dmtable_append(&t, &wrong), 0);
	assert_int_equal(fake_create("vd-1", vd_dm_uuid(pool, 1, uuid), &t, &info), 0);
	vd_dmtable_dispose(&t);
	assert_int_equal(add(f, backend(5, 51712, "vd:1", "w")), 0);
	assert_int_equal(ndevs, 1);
	assert_int_equal(devs[0].table.targets[0].dev, makedev(POOL_MAJOR, 0));
}

static void test_foreign_dm_device_with_our_name_is_refused(void **state)
{
	struct fixture *f = *state;
	struct vd_dm_table t = { 0 };
	struct vd_dm_target x = { 0, 8, makedev(8, 0), 0 };
	struct vd_dm_info info;
	const char *be = backend(5, 51712, "vd:1", "w");

	assert_int_equal(vd_dmtable_append(&t, &x), 0);
	assert_int_equal(fake_create("vd-1", "CRYPT-LUKS2-xyz-vd-1", &t, &info), 0);
	vd_dmtable_dispose(&t);
	assert_int_equal(add(f, be), -EEXIST);
	assert_int_equal(ndevs, 1); /* left alone */
	assert_int_equal(remove_be(f, be), 0);
	assert_int_equal(ndevs, 1); /* still left alone */
}

static void test_map_and_unmap(void **state)
{
	struct fixture *f = *state;
	char path[64];

	assert_int_equal(vd_attach_map(&f->h, 2, "w", path, sizeof(path)), 0);
	assert_string_equal(path, "/dev/mapper/vd-2");
	assert_int_equal(ndevs, 1);
	/* a guest cannot take it writable meanwhile */
	assert_int_equal(add(f, backend(5, 51712, "vd:2", "w")), -EBUSY);
	assert_int_equal(vd_attach_unmap(&f->h, 2), 0);
	assert_int_equal(ndevs, 0);
	assert_int_equal(vd_attach_unmap(&f->h, 2), 0);
}

static void test_check_runtime_finds_and_repairs_leaks(void **state)
{
	struct fixture *f = *state;
	struct vd_dm_table t = { 0 };
	struct vd_dm_target x = { 0, 8, makedev(POOL_MAJOR, 0), 0 };
	struct vd_dm_info info;
	uint8_t pool[16];
	char uuid[VD_DM_UUID_MAX], *report = NULL;
	unsigned problems = 0;
	const char *be = backend(5, 51712, "vd:1", "w");

	assert_int_equal(add(f, be), 0);
	assert_int_equal(vd_check_runtime_with(f->db, &fake_ops, f->xs, false, &report, &problems),
			 0);
	assert_int_equal(problems, 0);
	assert_null(report);

	/* a leaked dm device of VD 2, and the backend of VD 1 vanished (domain destroyed
	 * without remove) */
	vd_db_pool_uuid(f->db, pool);
	assert_int_equal(vd_dmtable_append(&t, &x), 0);
	assert_int_equal(fake_create("vd-2", vd_dm_uuid(pool, 2, uuid), &t, &info), 0);
	vd_dmtable_dispose(&t);
	rm_tree(be);
	assert_int_equal(vd_check_runtime_with(f->db, &fake_ops, f->xs, false, &report, &problems),
			 0);
	assert_int_equal(problems, 2);
	assert_non_null(strstr(report, "vd-2"));
	assert_non_null(strstr(report, "stale"));
	free(report);
	assert_int_equal(ndevs, 2);

	assert_int_equal(vd_check_runtime_with(f->db, &fake_ops, f->xs, true, &report, &problems),
			 0);
	free(report);
	assert_int_equal(ndevs, 0);
	assert_int_equal(attachments(f, 0), 0);
	assert_int_equal(vd_check_runtime_with(f->db, &fake_ops, f->xs, false, &report, &problems),
			 0);
	assert_int_equal(problems, 0);
}

/* After a dom0 crash the kernel's dm devices and xenstore's backends are gone, the database's
 * attachments are not: --repair drops them all (xenvd-recover.service at boot) and that is a
 * success, not a problem left. */
static void test_check_repair_after_dom0_crash_leaves_no_problem(void **state)
{
	struct fixture *f = *state;
	char path[64], *report = NULL;
	unsigned problems = 0;
	const char *be = backend(5, 51712, "vd:1", "w");

	assert_int_equal(add(f, be), 0);
	assert_int_equal(vd_attach_map(&f->h, 2, "w", path, sizeof(path)), 0);
	assert_int_equal(attachments(f, 0), 2);
	/* the crash: no dm device, no backend */
	assert_int_equal(fake_remove("vd-1", 0), 0);
	assert_int_equal(fake_remove("vd-2", 0), 0);
	rm_tree(be);

	assert_int_equal(vd_check_runtime_with(f->db, &fake_ops, f->xs, false, &report, &problems),
			 0);
	assert_int_equal(problems, 2);
	assert_non_null(strstr(report, "stale"));
	free(report);
	assert_int_equal(vd_check_runtime_with(f->db, &fake_ops, f->xs, true, &report, &problems),
			 0);
	assert_int_equal(problems, 0);
	assert_non_null(strstr(report, "repaired: dropped stale attachment"));
	free(report);
	assert_int_equal(attachments(f, 0), 0);
}

static void test_check_runtime_keeps_open_leaks(void **state)
{
	struct fixture *f = *state;
	struct vd_dm_table t = { 0 };
	struct vd_dm_target x = { 0, 8, makedev(POOL_MAJOR, 0), 0 };
	struct vd_dm_info info;
	uint8_t pool[16];
	char uuid[VD_DM_UUID_MAX], *report = NULL;
	unsigned problems = 0;

	vd_db_pool_uuid(f->db, pool);
	assert_int_equal(vd_dmtable_append(&t, &x), 0);
	assert_int_equal(fake_create("vd-2", vd_dm_uuid(pool, 2, uuid), &t, &info), 0);
	vd_dmtable_dispose(&t);
	devs[0].open_count = 1;
	assert_int_equal(vd_check_runtime_with(f->db, &fake_ops, NULL, true, &report, &problems),
			 0);
	assert_int_equal(problems, 1);
	assert_non_null(strstr(report, "is open"));
	free(report);
	assert_int_equal(ndevs, 1);
	devs[0].open_count = 0;
}

static void test_import_copies_image_into_the_vds_extents(void **state)
{
	struct fixture *f = *state;
	char img[160];
	uint8_t data[2 * ES - 100], back[2 * ES - 100];
	struct vd_run *segs = NULL;
	size_t n = 0, done = 0;
	int fd;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	snprintf(img, sizeof(img), "%s/image.raw", f->dir);
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(vd_pwrite_all(fd, data, sizeof(data), 0), 0);
	assert_int_equal(vd_import_image(f->db, 1, fd, NULL, NULL), 0);
	assert_int_equal(vd_vdisk_runs(f->db, 1, O_RDONLY, &segs, &n), 0);
	for (size_t i = 0; i < n && done < sizeof(back); i++) {
		size_t len = segs[i].length;

		if (len > sizeof(back) - done)
			len = sizeof(back) - done;
		assert_int_equal(vd_pread_all(segs[i].fd, back + done, len, segs[i].dev_offset), 0);
		done += len;
	}
	vd_vdisk_runs_free(segs, n);
	assert_int_equal(done, sizeof(back));
	assert_memory_equal(back, data, sizeof(data));

	/* attached writable: refused, naming the domain */
	assert_int_equal(add(f, backend(5, 51712, "vd:1", "w")), 0);
	assert_int_equal(vd_import_image(f->db, 1, fd, NULL, NULL), -EBUSY);
	assert_non_null(strstr(vd_errmsg(), "domain 5"));
	/* larger than the VD: refused */
	assert_int_equal(ftruncate(fd, 3 * ES), 0);
	assert_int_equal(vd_import_image(f->db, 2, fd, NULL, NULL), 0);
	assert_int_equal(ftruncate(fd, 4 * ES), 0);
	assert_int_equal(vd_import_image(f->db, 2, fd, NULL, NULL), -EFBIG);
	close(fd);
}

static void test_modes_canonicalise_like_block_common(void **state)
{
	static const struct {
		const char *in;
		char out;
	} cases[] = { { "r", 'r' }, { "ro", 'r' }, { "w", 'w' }, { "rw", 'w' },
		      { "w!", '!' }, { "rw!", '!' }, { "!", 'r' } };
	char m;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(vd_sharing_mode(cases[i].in, &m), 0);
		if (m != cases[i].out)
			fail_msg("mode '%s' gave '%c', expected '%c'", cases[i].in, m,
				 cases[i].out);
	}
	assert_int_equal(vd_sharing_mode("", &m), -EINVAL);
	assert_int_equal(vd_sharing_mode(NULL, &m), -EINVAL);
	/* a forced writer counts as a writer for those who come later */
	assert_false(vd_sharing_compatible(1, 'w', '!', false));
	assert_true(vd_sharing_compatible(1, 'r', '!', false));
}

static void test_resize_grows_the_live_device(void **state)
{
	struct fixture *f = *state;
	struct vd_vdisk v = { 0 };
	const char *be;
	bool reloaded = true;

	/* not attached: nothing to reload */
	assert_int_equal(vd_attach_grow_live(&f->h, f->vd1, &reloaded), 0);
	assert_false(reloaded);
	be = backend(5, 51712, "vd:1", "w");
	assert_int_equal(add(f, be), 0);
	assert_int_equal(vd_dmtable_sectors(&devs[0].table), 2 * ES / 512);
	assert_int_equal(vd_vdisk_resize(f->db, f->vd1, 5 * ES, false, NULL, NULL, &v), 0);
	vd_vdisk_dispose(&v);
	assert_int_equal(vd_attach_grow_live(&f->h, f->vd1, &reloaded), 0);
	assert_true(reloaded);
	assert_int_equal(ndevs, 1);
	assert_int_equal(vd_dmtable_sectors(&devs[0].table), 5 * ES / 512);
	/* already current */
	assert_int_equal(vd_attach_grow_live(&f->h, f->vd1, &reloaded), 0);
	assert_false(reloaded);
	/* a failure at any step is reported and leaves the old table live */
	assert_int_equal(vd_vdisk_resize(f->db, f->vd1, 6 * ES, false, NULL, NULL, &v), 0);
	vd_vdisk_dispose(&v);
	for (int k = 1;; k++) {
		int r;

		op_count = 0;
		fail_at = k;
		failed_op = NULL;
		r = vd_attach_grow_live(&f->h, f->vd1, &reloaded);
		if (!failed_op) {
			assert_int_equal(r, 0);
			break;
		}
		assert_true(r < 0);
		assert_false(reloaded);
		assert_int_equal(vd_dmtable_sectors(&devs[0].table), 5 * ES / 512);
	}
	fail_at = 0;
	assert_true(reloaded);
	assert_int_equal(vd_dmtable_sectors(&devs[0].table), 6 * ES / 512);
	assert_int_equal(remove_be(f, be), 0);
	assert_int_equal(ndevs, 0);
}

/* ---- the same VM, twice (DESIGN.md; Xen's block-common.sh same_vm) ---- */

/* xl migrate (or restore) creates the incoming domain and adds its disks while the outgoing
 * domain of the same VM still holds them; then the outgoing domain goes. */
static void test_same_vm_may_hold_its_vd_writable_twice(void **state)
{
	struct fixture *f = *state;
	char old[64], incoming[64], key[96];
	struct vd_attachment *list = NULL;
	size_t n = 0;

	domain(5, VM_A);
	domain(6, VM_A);
	snprintf(old, sizeof(old), "%s", backend(5, 51712, "vd:1", "w"));
	snprintf(incoming, sizeof(incoming), "%s", backend(6, 51712, "vd:1", "w"));
	assert_int_equal(add(f, old), 0);
	assert_int_equal(add(f, incoming), 0);
	assert_int_equal(ndevs, 1);
	assert_string_equal(node(old, "physical-device"), node(incoming, "physical-device"));
	assert_int_equal(remove_be(f, old), 0);
	domain_gone(5);
	assert_int_equal(ndevs, 1);
	assert_int_equal(vd_db_attachment_list(f->db, 1, &list, &n), 0);
	assert_int_equal(n, 1);
	snprintf(key, sizeof(key), "/local/domain/0/%s", incoming);
	assert_string_equal(list[0].backend_path, key);
	assert_int_equal(list[0].domid, 6);
	assert_string_equal(list[0].vm_uuid, VM_A);
	vd_db_attachment_list_free(list, n);
}

static void test_another_vm_is_refused_as_before(void **state)
{
	struct fixture *f = *state;
	char be1[64], be2[64];

	domain(5, VM_A);
	domain(6, VM_B);
	snprintf(be1, sizeof(be1), "%s", backend(5, 51712, "vd:1", "w"));
	snprintf(be2, sizeof(be2), "%s", backend(6, 51712, "vd:1", "w"));
	assert_int_equal(add(f, be1), 0);
	assert_int_equal(add(f, be2), -EBUSY);
	assert_non_null(strstr(node(be2, "hotplug-error"), "another domain"));
	assert_non_null(strstr(logged, "domain 5"));
	assert_int_equal(attachments(f, 1), 1);
	/* the same VM does not extend to readers' conflicts of another VM either */
	snprintf(be2, sizeof(be2), "%s", backend(6, 51712, "vd:1", "r"));
	assert_int_equal(add(f, be2), -EBUSY);
}

/* Two domains that name no VM are not "the same VM" (block-common.sh compared "" with "" until
 * upstream fixed it). */
static void test_domains_without_a_vm_are_not_the_same_vm(void **state)
{
	struct fixture *f = *state;
	char be1[64], be2[64];

	domain(5, NULL);
	domain(6, NULL);
	snprintf(be1, sizeof(be1), "%s", backend(5, 51712, "vd:1", "w"));
	snprintf(be2, sizeof(be2), "%s", backend(6, 51712, "vd:1", "w"));
	assert_int_equal(add(f, be1), 0);
	assert_int_equal(add(f, be2), -EBUSY);
}

/* The VM UUID from "/vm/<uuid>", or from <vm>/uuid when the path has another form; in lower
 * case either way. */
static void test_vm_uuid_is_read_from_the_vm_path_or_its_uuid_node(void **state)
{
	struct fixture *f = *state;
	struct vd_xs_domain d;

	domain(5, VM_A);
	assert_int_equal(vd_xs_read_domain(f->xs, 5, &d), 0);
	assert_false(d.gone);
	assert_string_equal(d.vm_uuid, VM_A);
	assert_string_equal(d.target_vm_uuid, "");
	set_node("/local/domain/6/name", "d6");
	set_node("/local/domain/6/vm", "/vm/renamed-twice");
	set_node("/vm/renamed-twice/uuid", "0D9E8F7A-6B5C-4D3E-9F21-AABBCCDDEEFF");
	assert_int_equal(vd_xs_read_domain(f->xs, 6, &d), 0);
	assert_string_equal(d.vm_uuid, VM_B);
	set_node("/vm/renamed-twice/uuid", "not-a-uuid");
	assert_int_equal(vd_xs_read_domain(f->xs, 6, &d), 0);
	assert_string_equal(d.vm_uuid, "");
	assert_int_equal(vd_xs_read_domain(f->xs, 77, &d), 0);
	assert_true(d.gone);
}

/* The stock script's care: a domain whose xenstore entries are already gone (libxl removes them
 * after the backends) counts as the requester, unless our own row recorded another VM for it. */
static void test_gone_domain_counts_as_the_requester_unless_its_row_says_otherwise(void **state)
{
	struct fixture *f = *state;
	char be1[64], be2[64];

	/* recorded VM A, domain gone: VM B is still refused, VM A (restarting) is not */
	domain(5, VM_A);
	snprintf(be1, sizeof(be1), "%s", backend(5, 51712, "vd:1", "w"));
	assert_int_equal(add(f, be1), 0);
	domain_gone(5);
	domain(6, VM_B);
	snprintf(be2, sizeof(be2), "%s", backend(6, 51712, "vd:1", "w"));
	assert_int_equal(add(f, be2), -EBUSY);
	domain(7, VM_A);
	snprintf(be2, sizeof(be2), "%s", backend(7, 51712, "vd:1", "w"));
	assert_int_equal(add(f, be2), 0);
	assert_int_equal(remove_be(f, be2), 0);
	assert_int_equal(remove_be(f, be1), 0);

	/* no VM recorded (the domain named none when it attached), domain gone: the requester */
	domain(8, NULL);
	snprintf(be1, sizeof(be1), "%s", backend(8, 51712, "vd:1", "w"));
	assert_int_equal(add(f, be1), 0);
	domain(6, VM_B);
	snprintf(be2, sizeof(be2), "%s", backend(6, 51712, "vd:1", "w"));
	assert_int_equal(add(f, be2), -EBUSY); /* while domain 8 is there */
	domain_gone(8);
	assert_int_equal(add(f, be2), 0);
}

/* Other backends (the stock block script's phy: of the same device) follow the same rule. */
static void test_foreign_backend_of_the_same_vm_is_the_requester(void **state)
{
	struct fixture *f = *state;
	const char *be;

	set_node("backend/vbd/9/768/physical-device", "7:0"); /* the pool device itself */
	set_node("backend/vbd/9/768/mode", "w");
	set_node("backend/vbd/9/768/frontend-id", "9");
	domain(5, VM_A);
	be = backend(5, 51712, "vd:1", "w");
	domain(9, VM_A);
	assert_int_equal(add(f, be), 0);
	assert_int_equal(remove_be(f, be), 0);
	domain(9, VM_B);
	assert_int_equal(add(f, be), -EBUSY);
	assert_non_null(strstr(logged, "domain 9"));
	domain_gone(9);
	assert_int_equal(add(f, be), 0);
}

/* A device-model stub domain serves its target's disks: it is the target's VM. */
static void test_stub_domain_and_its_target_are_the_same_vm(void **state)
{
	struct fixture *f = *state;
	char guest[64], stub[64];

	domain(5, VM_A);
	domain(6, VM_B);
	set_node("/local/domain/6/target", "5");
	snprintf(guest, sizeof(guest), "%s", backend(5, 51712, "vd:1", "w"));
	snprintf(stub, sizeof(stub), "%s", backend(6, 51712, "vd:1", "w"));
	assert_int_equal(add(f, guest), 0);
	assert_int_equal(add(f, stub), 0);
	assert_int_equal(remove_be(f, stub), 0);
	/* without the target it is another VM */
	rm_tree("/local/domain/6/target");
	assert_int_equal(add(f, stub), -EBUSY);
}

/* A database of schema 2 gains the vm_uuid column; its rows keep everything and have none. */
static void test_schema_2_attachments_gain_a_vm_uuid_column(void **state)
{
	struct fixture *f = *state;
	const char *be = backend(5, 51712, "vd:1", "w");
	struct vd_attachment *list = NULL;
	size_t n = 0;
	sqlite3 *raw;
	if (fixture_onpool())
		skip(); /* rewrites a schema-2 database file by hand with the sqlite3 API */

	assert_int_equal(add(f, be), 0);
	vd_db_close(f->db);
	f->db = NULL;
	assert_int_equal(sqlite3_open(f->db_path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "ALTER TABLE attachments DROP COLUMN vm_uuid;"
				      "PRAGMA user_version = 2;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(vd_db_open(f->db_path, 0, &f->db), 0);
	f->h.db = f->db;
	assert_int_equal(vd_db_attachment_list(f->db, 1, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].domid, 5);
	assert_null(list[0].vm_uuid);
	vd_db_attachment_list_free(list, n);
	assert_int_equal(remove_be(f, be), 0);
	assert_int_equal(add(f, be), 0);
	assert_int_equal(vd_db_attachment_list(f->db, 1, &list, &n), 0);
	assert_non_null(list[0].vm_uuid);
	vd_db_attachment_list_free(list, n);
}

/* ---- one shared pool, several hosts (DESIGN.md "Shared pools") ---- */

#define THIS_HOST 1
#define HOST_B 2
static char other_db_path[128];

static struct vd_sanlock_area test_area = { .lockspace = "test" };

/* This host is host 1 of a shared pool whose liveness the fake sanlock reports. */
static void shared(struct fixture *f)
{
	vd_db_set_host_id(f->db, THIS_HOST);
	f->h.ops = &fake_shared_ops;
	f->h.lease_area = &test_area;
	trace[0] = '\0';
	lease_holds = 0;
	hold_fails = 0;
	memset(host_dead, 0, sizeof(host_dead));
	host_queries = 0;
	snprintf(other_db_path, sizeof(other_db_path), "%s", f->db_path);
}

/* What host `host`'s block-vd records for domain domid's disk (its own connection to the one
 * database; backend paths look the same on every host). */
static void host_attaches(uint32_t host, uint32_t vd, uint32_t domid, const char *mode,
			  const char *vm)
{
	struct vd_db *db = NULL;
	char be[80];
	struct vd_attachment a = { .vd_id = vd, .domid = domid, .devid = 51712, .vdev = "xvda",
				   .dm_name = "vd-x", .since = 1, .vm_uuid = (char *)vm };

	snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%" PRIu32 "/51712", domid);
	a.backend_path = be;
	snprintf(a.mode, sizeof(a.mode), "%s", mode);
	assert_int_equal(vd_db_open(other_db_path, 0, &db), 0);
	vd_db_set_host_id(db, host);
	assert_int_equal(vd_db_begin(db), 0);
	assert_int_equal(vd_db_attachment_add(db, &a), 0);
	assert_int_equal(vd_db_commit(db), 0);
	vd_db_close(db);
}

static void host_detaches(uint32_t host, uint32_t domid)
{
	struct vd_db *db = NULL;
	char be[80];

	snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%" PRIu32 "/51712", domid);
	assert_int_equal(vd_db_open(other_db_path, 0, &db), 0);
	vd_db_set_host_id(db, host);
	assert_int_equal(vd_db_begin(db), 0);
	assert_int_equal(vd_db_attachment_remove(db, be), 0);
	assert_int_equal(vd_db_commit(db), 0);
	vd_db_close(db);
}

static size_t all_attachments(struct fixture *f, uint32_t vd, uint32_t host)
{
	struct vd_attachment *list = NULL;
	size_t n = 0, of_host = 0;

	assert_int_equal(vd_db_attachment_list_all(f->db, vd, &list, &n), 0);
	for (size_t i = 0; i < n; i++)
		of_host += list[i].host_id == host;
	vd_db_attachment_list_free(list, n);
	return of_host;
}

static void test_rw_attach_is_refused_while_a_live_host_holds_the_vd_rw(void **state)
{
	struct fixture *f = *state;
	const char *be;

	shared(f);
	host_attaches(HOST_B, f->vd1, 5, "w", VM_B);
	domain(7, VM_A);
	be = backend(7, 51712, "vd:1", "w");
	assert_int_equal(add(f, be), -EBUSY);
	assert_non_null(strstr(logged, "held rw by domain 5 (vm " VM_B ") on host 2"));
	assert_int_equal(ndevs, 0);
	assert_int_equal(attachments(f, f->vd1), 0);
	/* a reader is refused too at level 0; at level 1 it may join the writer */
	be = backend(7, 51712, "vd:1", "r");
	assert_int_equal(add(f, be), -EBUSY);
	f->h.sharing_level = VD_SHARING_ONE_WRITER;
	assert_int_equal(add(f, be), 0);
	assert_int_equal(remove_be(f, be), 0);
	/* VD 2, not held anywhere else, is fine */
	be = backend(7, 51713, "vd:2", "w");
	assert_int_equal(add(f, be), 0);
}

static void test_read_only_sharing_across_hosts_works_at_level_0(void **state)
{
	struct fixture *f = *state;
	const char *be;

	shared(f);
	host_attaches(HOST_B, f->vd1, 5, "r", VM_B);
	be = backend(7, 51712, "vd:1", "r");
	assert_int_equal(add(f, be), 0);
	assert_int_equal(all_attachments(f, f->vd1, THIS_HOST), 1);
	assert_int_equal(all_attachments(f, f->vd1, HOST_B), 1);
	assert_int_equal(remove_be(f, be), 0);
	be = backend(7, 51712, "vd:1", "w");
	assert_int_equal(add(f, be), -EBUSY);
	assert_non_null(strstr(logged, "held ro by domain 5"));
}

/* Backend paths repeat between hosts: each host's row is its own, and a host's remove drops
 * only its own row and its own dm device. */
static void test_backend_paths_repeat_between_hosts(void **state)
{
	struct fixture *f = *state;
	const char *be;

	shared(f);
	host_attaches(HOST_B, f->vd2, 5, "w", VM_B);
	be = backend(5, 51712, "vd:1", "w");
	assert_int_equal(add(f, be), 0);
	assert_int_equal(attachments(f, 0), 1);
	assert_int_equal(all_attachments(f, 0, HOST_B), 1);
	assert_int_equal(remove_be(f, be), 0);
	assert_int_equal(ndevs, 0);
	assert_int_equal(attachments(f, 0), 0);
	assert_int_equal(all_attachments(f, f->vd2, HOST_B), 1);
}

/* xl migrate from host 2 to this host: the incoming domain of the same VM may attach while
 * the source still holds the VD; then the source's remove drops only its row. */
static void test_migration_between_hosts_is_the_same_vm(void **state)
{
	struct fixture *f = *state;
	const char *be;

	shared(f);
	host_attaches(HOST_B, f->vd1, 5, "w", VM_A);
	domain(9, VM_A);
	be = backend(9, 51712, "vd:1", "w");
	assert_int_equal(add(f, be), 0);
	assert_int_equal(ndevs, 1);
	host_detaches(HOST_B, 5);
	assert_int_equal(all_attachments(f, f->vd1, HOST_B), 0);
	assert_int_equal(all_attachments(f, f->vd1, THIS_HOST), 1);
	assert_int_equal(ndevs, 1);
	/* no VM recorded on the other host's row is not the same VM */
	host_attaches(HOST_B, f->vd2, 6, "w", NULL);
	be = backend(9, 51713, "vd:2", "w");
	assert_int_equal(add(f, be), -EBUSY);
}

/* This host as the source: the target (host 2) recorded the incoming domain; our remove of the
 * outgoing one leaves the target's row alone and removes our dm device. */
static void test_migration_source_drops_only_its_own_attachment(void **state)
{
	struct fixture *f = *state;
	const char *be;

	shared(f);
	domain(5, VM_A);
	be = backend(5, 51712, "vd:1", "w");
	assert_int_equal(add(f, be), 0);
	host_attaches(HOST_B, f->vd1, 5, "w", VM_A); /* same domid on the target, even */
	assert_int_equal(remove_be(f, be), 0);
	assert_int_equal(ndevs, 0);
	assert_int_equal(all_attachments(f, f->vd1, THIS_HOST), 0);
	assert_int_equal(all_attachments(f, f->vd1, HOST_B), 1);
}

/* Attachments of a host sanlock declares dead are stale: another host may attach, check
 * reports them and --repair drops them; never while the host is live. */
static void test_dead_hosts_attachments_are_stale(void **state)
{
	struct fixture *f = *state;
	char *report = NULL;
	unsigned problems = 0;
	const char *be;

	shared(f);
	host_attaches(HOST_B, f->vd1, 5, "w", VM_B);
	domain(7, VM_A);
	be = backend(7, 51712, "vd:1", "w");
	assert_int_equal(add(f, be), -EBUSY);
	assert_int_equal(vd_check_hosts_with(f->db, &fake_hosts, true, &report,
					       &problems), 0);
	assert_int_equal(problems, 0);
	assert_null(report);
	assert_int_equal(all_attachments(f, f->vd1, HOST_B), 1);

	host_dead[HOST_B] = true;
	assert_int_equal(vd_check_hosts_with(f->db, &fake_hosts, false, &report,
					       &problems), 0);
	assert_int_equal(problems, 1);
	assert_non_null(strstr(report, "on host 2 is stale: sanlock declares host 2 dead"));
	free(report);
	host_queries = 0;
	assert_int_equal(add(f, be), 0);
	assert_true(host_queries > 0);
	assert_int_equal(vd_check_hosts_with(f->db, &fake_hosts, true, &report,
					       &problems), 0);
	assert_int_equal(problems, 0);
	assert_non_null(strstr(report, "repaired: dropped stale attachment"));
	free(report);
	assert_int_equal(all_attachments(f, f->vd1, HOST_B), 0);
	assert_int_equal(all_attachments(f, f->vd1, THIS_HOST), 1);
	assert_int_equal(vd_check_hosts_with(f->db, &fake_hosts, false, &report,
					       &problems), 0);
	assert_int_equal(problems, 0);
	assert_null(report);
}

/* When sanlock cannot say whether a host is dead, its rows stay and count, and check says why. */
static void test_unknown_liveness_keeps_other_hosts_rows(void **state)
{
	struct fixture *f = *state;
	char *report = NULL;
	unsigned problems = 0;

	shared(f);
	host_attaches(3, f->vd1, 5, "w", VM_B);
	assert_int_equal(vd_check_hosts_with(f->db, &fake_hosts, true, &report,
					       &problems), 0);
	assert_int_equal(problems, 1);
	assert_non_null(strstr(report, "cannot tell whether host 3 is dead"));
	free(report);
	assert_int_equal(all_attachments(f, f->vd1, 3), 1);
	assert_int_equal(add(f, backend(7, 51712, "vd:1", "w")), -ECONNREFUSED);
	assert_int_equal(ndevs, 0);
}

/* Only a host sanlock lists as dead is dead; failing, unknown, free and unlisted hosts may still
 * write. */
static void test_only_a_host_sanlock_lists_dead_is_dead(void **state)
{
	const struct vd_sanlock_host hosts[] = {
		{ .host_id = 1, .state = VD_SANLOCK_HOST_LIVE },
		{ .host_id = 2, .state = VD_SANLOCK_HOST_FAIL },
		{ .host_id = 3, .state = VD_SANLOCK_HOST_UNKNOWN },
		{ .host_id = 4, .state = VD_SANLOCK_HOST_FREE },
		{ .host_id = 5, .state = VD_SANLOCK_HOST_DEAD },
	};

	(void)state;
	for (uint32_t id = 1; id <= 4; id++)
		assert_false(vd_sharing_host_listed_dead(hosts, ARRAY_SIZE(hosts), id));
	assert_true(vd_sharing_host_listed_dead(hosts, ARRAY_SIZE(hosts), 5));
	assert_false(vd_sharing_host_listed_dead(hosts, ARRAY_SIZE(hosts), 6));
}

/* Two hosts racing for one VD: host 2 records its writer after our first look but before we
 * record ours. The check inside our recording transaction refuses, and we undo the dm device. */
static void host_b_attaches_vd1_rw(void)
{
	host_attaches(HOST_B, 1, 5, "w", VM_B);
}

static void test_recording_rechecks_other_hosts_in_its_transaction(void **state)
{
	struct fixture *f = *state;
	const char *be;

	shared(f);
	domain(7, VM_A);
	be = backend(7, 51712, "vd:1", "w");
	on_dm_create = host_b_attaches_vd1_rw;
	assert_int_equal(add(f, be), -EBUSY);
	assert_null(on_dm_create);
	assert_non_null(strstr(logged, "on host 2"));
	assert_int_equal(ndevs, 0);
	assert_int_equal(all_attachments(f, f->vd1, THIS_HOST), 0);
	assert_int_equal(all_attachments(f, f->vd1, HOST_B), 1);
}

static void test_online_grow_is_refused_while_attached_on_another_host(void **state)
{
	struct fixture *f = *state;
	struct vd_vdisk v = { 0 };

	shared(f);
	host_attaches(HOST_B, f->vd1, 5, "r", VM_B);
	vd_err_clear();
	assert_int_equal(vd_vdisk_resize(f->db, f->vd1, 4 * ES, false, NULL, NULL, &v), -EBUSY);
	assert_non_null(strstr(vd_errmsg(), "attached on host 2"));
	assert_int_equal(vd_db_vdisk_get(f->db, f->vd1, &v), 0);
	assert_int_equal(v.extent_count, 2);
	vd_vdisk_dispose(&v);
	/* attached here only: grows as before */
	host_detaches(HOST_B, 5);
	assert_int_equal(add(f, backend(5, 51712, "vd:1", "w")), 0);
	assert_int_equal(vd_vdisk_resize(f->db, f->vd1, 4 * ES, false, NULL, NULL, &v), 0);
	assert_int_equal(v.extent_count, 4);
	vd_vdisk_dispose(&v);
}

/* Schema 3 to 4: rows keep everything and belong to host 0 (an unshared pool's). */
static void test_schema_3_attachments_become_host_0s(void **state)
{
	struct fixture *f = *state;
	const char *be = backend(5, 51712, "vd:1", "w");
	struct vd_attachment *list = NULL;
	size_t n = 0;
	sqlite3 *raw;

	if (fixture_onpool())
		skip(); /* rewrites a schema-3 database file by hand with the sqlite3 API */
	assert_int_equal(add(f, be), 0);
	vd_db_close(f->db);
	f->db = NULL;
	assert_int_equal(sqlite3_open(f->db_path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw,
				      "CREATE TABLE a3 AS SELECT backend_path, vd_id, domid, devid, "
				      "mode, vdev, dm_name, since, vm_uuid FROM attachments;"
				      "DROP TABLE attachments;"
				      "CREATE TABLE attachments (backend_path TEXT PRIMARY KEY, "
				      "vd_id INTEGER NOT NULL REFERENCES vdisks(id), domid INTEGER NOT "
				      "NULL, devid INTEGER NOT NULL, mode TEXT NOT NULL, vdev TEXT, "
				      "dm_name TEXT NOT NULL, since INTEGER NOT NULL, vm_uuid TEXT);"
				      "INSERT INTO attachments SELECT * FROM a3; DROP TABLE a3;"
				      "CREATE INDEX attachments_by_vd ON attachments(vd_id);"
				      "PRAGMA user_version = 3;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(vd_db_open(f->db_path, 0, &f->db), 0);
	f->h.db = f->db;
	assert_int_equal(vd_db_attachment_list_all(f->db, 1, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].host_id, 0);
	assert_int_equal(list[0].domid, 5);
	assert_non_null(list[0].vm_uuid);
	vd_db_attachment_list_free(list, n);
	/* and another host may record the same backend path */
	snprintf(other_db_path, sizeof(other_db_path), "%s", f->db_path);
	host_attaches(HOST_B, f->vd1, 5, "r", NULL);
	assert_int_equal(remove_be(f, be), 0);
	assert_int_equal(all_attachments(f, f->vd1, HOST_B), 1);
}

/* The holder holds the pool's active-VD lease before the first dm device of the pool exists
 * here and lets go after the last one went; never while another VD's device remains. */
static void test_active_lease_is_held_while_any_dm_device_of_the_pool_exists(void **state)
{
	struct fixture *f = *state;
	char be1[64], be2[64];

	shared(f);
	snprintf(be1, sizeof(be1), "%s", backend(5, 51712, "vd:1", "w"));
	snprintf(be2, sizeof(be2), "%s", backend(6, 51712, "vd:2", "w"));
	assert_int_equal(add(f, be1), 0);
	assert_string_equal(trace, "hold create ");
	assert_int_equal(add(f, be2), 0);
	assert_int_equal(lease_holds, 1);
	assert_int_equal(remove_be(f, be1), 0);
	assert_string_equal(trace, "hold create hold create remove release(kept) ");
	assert_int_equal(lease_holds, 1);
	assert_int_equal(remove_be(f, be2), 0);
	assert_string_equal(trace, "hold create hold create remove release(kept) remove release ");
	assert_int_equal(lease_holds, 0);
	/* xl-vd map and unmap too */
	trace[0] = '\0';
	char path[64];
	assert_int_equal(vd_attach_map(&f->h, f->vd1, "w", path, sizeof(path)), 0);
	assert_int_equal(lease_holds, 1);
	assert_int_equal(vd_attach_unmap(&f->h, f->vd1), 0);
	assert_string_equal(trace, "hold create remove release ");
	assert_int_equal(lease_holds, 0);
}

/* No holder (lockspace-start not run): the attach fails naming the command, leaving nothing. */
static void test_attach_without_the_holder_fails_and_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	const char *be;

	shared(f);
	be = backend(5, 51712, "vd:1", "w");
	hold_fails = -ESRCH;
	assert_int_equal(add(f, be), -ESRCH);
	assert_non_null(strstr(logged, "xl-vd lockspace-start"));
	assert_int_equal(ndevs, 0);
	assert_int_equal(attachments(f, f->vd1), 0);
	assert_string_equal(trace, "");
	/* a failure after the hold gives the lease back with the device */
	fail_at = 0;
	for (int k = 1;; k++) {
		int r;

		trace[0] = '\0';
		op_count = 0;
		fail_at = k;
		failed_op = NULL;
		r = add(f, backend(5, 51712, "vd:1", "w"));
		if (!failed_op) {
			assert_int_equal(r, 0);
			break;
		}
		assert_true(r < 0);
		assert_int_equal(ndevs, 0);
		assert_int_equal(lease_holds, 0);
	}
	fail_at = 0;
}

/* The pool's dm devices are told apart from another pool's by their DM UUID. */
static void test_pool_active_counts_only_this_pools_devices(void **state)
{
	struct fixture *f = *state;
	struct vd_dm_table t = { 0 };
	struct vd_dm_target x = { 0, 8, makedev(POOL_MAJOR, 0), 0 };
	struct vd_dm_info info;
	uint8_t pool[16], other[16];
	char uuid[VD_DM_UUID_MAX];

	vd_db_pool_uuid(f->db, pool);
	memcpy(other, pool, 16);
	other[15] ^= 1;
	assert_int_equal(vd_holder_pool_active(pool, &fake_dm), 0);
	assert_int_equal(vd_dmtable_append(&t, &x), 0);
	assert_int_equal(fake_create("vd-9", vd_dm_uuid(other, 9, uuid), &t, &info), 0);
	assert_int_equal(vd_holder_pool_active(pool, &fake_dm), 0);
	assert_int_equal(fake_create("vd-3", vd_dm_uuid(pool, 3, uuid), &t, &info), 0);
	vd_dmtable_dispose(&t);
	assert_int_equal(vd_holder_pool_active(pool, &fake_dm), 1);
}

static void test_guest_message_keeps_the_reason_and_hides_other_tenants(void **state)
{
	char out[512];

	(void)state;
	vd_hotplug_guest_message("VD 3 is already attached read-write to domain 12 (xvdb, "
				 "/local/domain/0/backend/vbd/12/51712); domain 5 may retry",
				 5, out, sizeof(out));
	assert_string_equal(out, "VD 3 is already attached read-write to another domain (xvdb, "
				 "<dom0 path>); domain 5 may retry");
	vd_hotplug_guest_message("VD 3 overlaps device 7:0 mounted read-write on /mnt/tenant-a in "
				 "dom0; unmount it first", 5, out, sizeof(out));
	assert_string_equal(out, "VD 3 overlaps device 7:0 mounted read-write on <dom0 path> in "
				 "dom0; unmount it first");
	vd_hotplug_guest_message("pool device 0f1e2d3c-4b5a-4697-8877-665544332211: "
				 "/dev/sdb carries device 00112233-4455-4677-8899-aabbccddeeff; dm "
				 "uuid XENVD-00112233445566778899aabbccddeeff-3, dom 7",
				 5, out, sizeof(out));
	assert_string_equal(out, "pool device <uuid>: <dom0 path> carries device <uuid>; dm uuid "
				 "XENVD-<uuid>-3, another domain");
	vd_hotplug_guest_message("a long one /x/y/z", 5, out, 12); /* truncated, terminated */
	assert_int_equal(strlen(out), 11);
}

static void test_hotplug_error_names_no_dom0_path_or_uuid_but_the_log_line(void **state)
{
	struct fixture *f = *state;
	struct vd_pool_device *list = NULL;
	char moved[160], uuid[37];
	const char *be, *err;
	size_t n = 0;

	assert_int_equal(vd_db_device_list(f->db, &list, &n), 0);
	vd_uuid_unparse(list[0].uuid, uuid);
	vd_db_device_list_free(list, n);
	snprintf(moved, sizeof(moved), "%s.moved", f->dev_path);
	assert_int_equal(rename(f->dev_path, moved), 0);
	be = backend(5, 51712, "vd:1", "w");
	assert_true(add(f, be) < 0);
	err = node(be, "hotplug-error");
	assert_non_null(err);
	assert_non_null(strstr(err, "is missing")); /* what is wrong */
	assert_non_null(strstr(err, "reconnect"));  /* what to do */
	assert_non_null(strstr(err, "block-vd["));  /* which log line */
	assert_non_null(strstr(err, "Z in dom0's hotplug log"));
	assert_null(strstr(err, f->dir));
	assert_null(strstr(err, uuid));
	/* dom0's log has all of it */
	assert_non_null(strstr(logged, f->dev_path));
	assert_non_null(strstr(logged, uuid));
	assert_int_equal(rename(moved, f->dev_path), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_add_maps_vd_and_writes_results),
		T(test_add_twice_is_idempotent),
		T(test_params_are_trimmed),
		T(test_bad_targets_fail_with_hotplug_error_and_leave_nothing),
		T(test_missing_mode_or_frontend_fails),
		T(test_failure_at_every_step_of_add_leaves_nothing),
		T(test_remove_copes_with_partial_states),
		T(test_dm_device_is_shared_and_removed_with_the_last_attachment),
		T(test_bootloader_dom0_attach_then_guest_attach),
		T(test_sharing_levels),
		T(test_foreign_backend_on_a_pool_device_conflicts),
		T(test_hotplug_error_names_no_dom0_path_or_uuid_but_the_log_line),
		cmocka_unit_test(test_guest_message_keeps_the_reason_and_hides_other_tenants),
		T(test_expired_vd_refused_unless_already_attached),
		T(test_xenstore_conflicts_are_retried),
		T(test_stale_dm_device_without_attachments_is_reloaded),
		T(test_foreign_dm_device_with_our_name_is_refused),
		T(test_map_and_unmap),
		T(test_check_runtime_finds_and_repairs_leaks),
		T(test_check_repair_after_dom0_crash_leaves_no_problem),
		T(test_check_runtime_keeps_open_leaks),
		T(test_import_copies_image_into_the_vds_extents),
		T(test_resize_grows_the_live_device),
		T(test_same_vm_may_hold_its_vd_writable_twice),
		T(test_another_vm_is_refused_as_before),
		T(test_domains_without_a_vm_are_not_the_same_vm),
		T(test_vm_uuid_is_read_from_the_vm_path_or_its_uuid_node),
		T(test_gone_domain_counts_as_the_requester_unless_its_row_says_otherwise),
		T(test_foreign_backend_of_the_same_vm_is_the_requester),
		T(test_stub_domain_and_its_target_are_the_same_vm),
		T(test_schema_2_attachments_gain_a_vm_uuid_column),
		T(test_rw_attach_is_refused_while_a_live_host_holds_the_vd_rw),
		T(test_read_only_sharing_across_hosts_works_at_level_0),
		T(test_backend_paths_repeat_between_hosts),
		T(test_migration_between_hosts_is_the_same_vm),
		T(test_migration_source_drops_only_its_own_attachment),
		T(test_dead_hosts_attachments_are_stale),
		T(test_recording_rechecks_other_hosts_in_its_transaction),
		cmocka_unit_test(test_only_a_host_sanlock_lists_dead_is_dead),
		T(test_unknown_liveness_keeps_other_hosts_rows),
		T(test_online_grow_is_refused_while_attached_on_another_host),
		T(test_schema_3_attachments_become_host_0s),
		T(test_active_lease_is_held_while_any_dm_device_of_the_pool_exists),
		T(test_attach_without_the_holder_fails_and_leaves_nothing),
		T(test_pool_active_counts_only_this_pools_devices),
		cmocka_unit_test(test_modes_canonicalise_like_block_common),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
