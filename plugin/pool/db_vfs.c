#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/error.h"
#include "pool/db_vfs.h"
#include "pool/label.h"
#include "pool/mdlock.h"
#include "pool/pool.h"
#include "pool/sanlock.h"

/* Read, never copied: SQLite's test_demovfs.c and os_unix.c are the references for what each
 * method must do. Only the main database and its journal are files here; names, time,
 * randomness and sleeping come from SQLite's default VFS. */

struct vd_db_vfs {
	char name[64];
	size_t copies_named;
	struct vd_mdarea *area;
	struct vd_mdlock *lock;
	bool shared;
	uint32_t host_id;	      /* a shared pool's: this host's id in its lockspace */
	struct vd_sanlock_area lease; /* a shared pool's lease area */
	char lock_error[512]; /* why the last lock call failed, other than busy */
	int lock_errno;
	struct vd_db_vfs *next;
};

static struct vd_db_vfs *attached;
static unsigned attach_seq;

struct mdfile {
	sqlite3_file base;
	struct vd_db_vfs *v;
	enum vd_md_region region;
};

static sqlite3_vfs *default_vfs(sqlite3_vfs *vfs)
{
	return vfs->pAppData;
}

/* Which attached area, and which region of it, a name means: "<name>" or "<name>-journal". */
static struct vd_db_vfs *lookup(const char *zname, enum vd_md_region *ret_region)
{
	if (!zname)
		return NULL;
	for (struct vd_db_vfs *v = attached; v; v = v->next) {
		size_t n = strlen(v->name);

		if (strncmp(zname, v->name, n) != 0)
			continue;
		if (zname[n] == '\0') {
			*ret_region = VD_MD_DB;
			return v;
		}
		if (strcmp(zname + n, "-journal") == 0) {
			*ret_region = VD_MD_JOURNAL;
			return v;
		}
	}
	return NULL;
}

static int io_rc(int r, int fallback)
{
	if (r == -ENOSPC)
		return SQLITE_FULL;
	if (r == -ENOMEM)
		return SQLITE_NOMEM;
	if (r == -EROFS)
		return SQLITE_READONLY;
	if (r == -EBADMSG || r == -ESTALE)
		return SQLITE_CORRUPT;
	return fallback;
}

static int md_close(sqlite3_file *f)
{
	(void)f;
	return SQLITE_OK;
}

static int md_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	struct mdfile *m = (struct mdfile *)f;
	int r = vd_mdarea_read(m->v->area, m->region, buf, (size_t)amt, (uint64_t)off);

	if (r == -ENODATA)
		return SQLITE_IOERR_SHORT_READ;
	return r < 0 ? io_rc(r, SQLITE_IOERR_READ) : SQLITE_OK;
}

static int md_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	struct mdfile *m = (struct mdfile *)f;
	int r = vd_mdarea_write(m->v->area, m->region, buf, (size_t)amt, (uint64_t)off);

	return r < 0 ? io_rc(r, SQLITE_IOERR_WRITE) : SQLITE_OK;
}

static int md_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct mdfile *m = (struct mdfile *)f;
	int r = vd_mdarea_truncate(m->v->area, m->region, (uint64_t)size);

	return r < 0 ? io_rc(r, SQLITE_IOERR_TRUNCATE) : SQLITE_OK;
}

static int md_sync(sqlite3_file *f, int flags)
{
	struct mdfile *m = (struct mdfile *)f;
	int r = vd_mdarea_sync(m->v->area, m->region);

	(void)flags;
	return r < 0 ? io_rc(r, SQLITE_IOERR_FSYNC) : SQLITE_OK;
}

static int md_file_size(sqlite3_file *f, sqlite3_int64 *ret)
{
	struct mdfile *m = (struct mdfile *)f;

	*ret = (sqlite3_int64)vd_mdarea_length(m->v->area, m->region);
	return SQLITE_OK;
}

static int md_lock(sqlite3_file *f, int level)
{
	struct mdfile *m = (struct mdfile *)f;
	struct vd_mdlock *l = m->v->lock;
	bool fresh = l->level == VD_MDLOCK_NONE;
	int r = l->ops->lock(l, (enum vd_mdlock_level)level);

	if (r == -EBUSY)
		return SQLITE_BUSY;
	if (r < 0) {
		snprintf(m->v->lock_error, sizeof(m->v->lock_error), "%s", vd_errmsg());
		m->v->lock_errno = r;
		return SQLITE_IOERR_LOCK;
	}
	/* Another process may have written since we last held the lock: the region lengths
	 * come from the devices again (the pages themselves SQLite re-reads when the change
	 * counter moved; O_DIRECT means there is no page cache of ours to distrust). */
	if (fresh) {
		r = vd_mdarea_refresh(m->v->area);
		if (r < 0) {
			(void)l->ops->unlock(l, VD_MDLOCK_NONE);
			return io_rc(r, SQLITE_IOERR_READ);
		}
	}
	return SQLITE_OK;
}

static int md_unlock(sqlite3_file *f, int level)
{
	struct mdfile *m = (struct mdfile *)f;
	struct vd_mdlock *l = m->v->lock;

	return l->ops->unlock(l, (enum vd_mdlock_level)level) < 0 ? SQLITE_IOERR_UNLOCK
								   : SQLITE_OK;
}

static int md_check_reserved(sqlite3_file *f, int *ret)
{
	struct mdfile *m = (struct mdfile *)f;
	struct vd_mdlock *l = m->v->lock;
	bool held;

	if (l->ops->check_reserved(l, &held) < 0)
		return SQLITE_IOERR_CHECKRESERVEDLOCK;
	*ret = held;
	return SQLITE_OK;
}

static int md_file_control(sqlite3_file *f, int op, void *arg)
{
	(void)f;
	(void)op;
	(void)arg;
	return SQLITE_NOTFOUND;
}

static int md_sector_size(sqlite3_file *f)
{
	(void)f;
	return VD_MD_BLOCK;
}

static int md_device_characteristics(sqlite3_file *f)
{
	(void)f;
	return 0; /* promise nothing: SQLite then syncs and journals conservatively */
}

static const sqlite3_io_methods md_methods = {
	.iVersion = 1,
	.xClose = md_close,
	.xRead = md_read,
	.xWrite = md_write,
	.xTruncate = md_truncate,
	.xSync = md_sync,
	.xFileSize = md_file_size,
	.xLock = md_lock,
	.xUnlock = md_unlock,
	.xCheckReservedLock = md_check_reserved,
	.xFileControl = md_file_control,
	.xSectorSize = md_sector_size,
	.xDeviceCharacteristics = md_device_characteristics,
};

static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename zname, sqlite3_file *f, int flags,
		    int *out_flags)
{
	struct mdfile *m = (struct mdfile *)f;
	enum vd_md_region region;
	struct vd_db_vfs *v = lookup(zname, &region);

	memset(m, 0, sizeof(*m));
	(void)vfs;
	/* Temporary files stay in memory (db.c sets temp_store = MEMORY): nothing else is
	 * ever opened through this VFS. */
	if (!v || !(flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_MAIN_JOURNAL)))
		return SQLITE_CANTOPEN;
	m->v = v;
	m->region = region;
	m->base.pMethods = &md_methods;
	if (out_flags)
		*out_flags = flags;
	return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *zname, int sync_dir)
{
	enum vd_md_region region;
	struct vd_db_vfs *v = lookup(zname, &region);
	int r;

	(void)vfs;
	(void)sync_dir;
	if (!v || region != VD_MD_JOURNAL)
		return SQLITE_IOERR_DELETE;
	/* Deleting the journal is the commit point: its length goes to zero (and its header
	 * block with it), durably. */
	r = vd_mdarea_truncate(v->area, VD_MD_JOURNAL, 0);
	if (r == 0)
		r = vd_mdarea_sync(v->area, VD_MD_JOURNAL);
	return r < 0 ? io_rc(r, SQLITE_IOERR_DELETE) : SQLITE_OK;
}

static int vfs_access(sqlite3_vfs *vfs, const char *zname, int flags, int *ret)
{
	enum vd_md_region region;
	struct vd_db_vfs *v = lookup(zname, &region);

	(void)vfs;
	(void)flags;
	if (!v) {
		*ret = 0;
		return SQLITE_OK;
	}
	if (region == VD_MD_DB) {
		*ret = 1;
		return SQLITE_OK;
	}
	/* Whether a journal exists: read from the devices, since a writer elsewhere may just
	 * have created or deleted it (SQLite asks this to find hot journals); unless we are
	 * the writer, whose journal may still be in memory. */
	if (v->lock->level < VD_MDLOCK_RESERVED && vd_mdarea_refresh(v->area) < 0)
		return SQLITE_IOERR_ACCESS;
	*ret = vd_mdarea_length(v->area, VD_MD_JOURNAL) > 0;
	return SQLITE_OK;
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *zname, int n, char *out)
{
	enum vd_md_region region;

	if (!lookup(zname, &region))
		return default_vfs(vfs)->xFullPathname(default_vfs(vfs), zname, n, out);
	if ((int)strlen(zname) >= n)
		return SQLITE_CANTOPEN;
	strcpy(out, zname);
	return SQLITE_OK;
}

static void *vfs_dlopen(sqlite3_vfs *vfs, const char *z)
{
	return default_vfs(vfs)->xDlOpen(default_vfs(vfs), z);
}

static void vfs_dlerror(sqlite3_vfs *vfs, int n, char *z)
{
	default_vfs(vfs)->xDlError(default_vfs(vfs), n, z);
}

static void (*vfs_dlsym(sqlite3_vfs *vfs, void *h, const char *z))(void)
{
	return default_vfs(vfs)->xDlSym(default_vfs(vfs), h, z);
}

static void vfs_dlclose(sqlite3_vfs *vfs, void *h)
{
	default_vfs(vfs)->xDlClose(default_vfs(vfs), h);
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return default_vfs(vfs)->xRandomness(default_vfs(vfs), n, out);
}

static int vfs_sleep(sqlite3_vfs *vfs, int us)
{
	return default_vfs(vfs)->xSleep(default_vfs(vfs), us);
}

static int vfs_current_time(sqlite3_vfs *vfs, double *t)
{
	return default_vfs(vfs)->xCurrentTime(default_vfs(vfs), t);
}

static int vfs_get_last_error(sqlite3_vfs *vfs, int n, char *z)
{
	return default_vfs(vfs)->xGetLastError(default_vfs(vfs), n, z);
}

static sqlite3_vfs md_vfs = {
	.iVersion = 1,
	.mxPathname = 512,
	.zName = VD_DB_VFS_NAME,
	.xOpen = vfs_open,
	.xDelete = vfs_delete,
	.xAccess = vfs_access,
	.xFullPathname = vfs_full_pathname,
	.xDlOpen = vfs_dlopen,
	.xDlError = vfs_dlerror,
	.xDlSym = vfs_dlsym,
	.xDlClose = vfs_dlclose,
	.xRandomness = vfs_randomness,
	.xSleep = vfs_sleep,
	.xCurrentTime = vfs_current_time,
	.xGetLastError = vfs_get_last_error,
};

static int register_vfs(void)
{
	static bool registered;
	sqlite3_vfs *def;

	if (registered)
		return 0;
	def = sqlite3_vfs_find(NULL);
	if (!def)
		return -ENOSYS;
	md_vfs.pAppData = def;
	md_vfs.szOsFile = (int)sizeof(struct mdfile);
	if (sqlite3_vfs_register(&md_vfs, 0) != SQLITE_OK)
		return -ENOMEM;
	registered = true;
	return 0;
}

/* Where copy c is now: at its recorded path if the area there is this pool's, else wherever
 * its label is found. */
static int locate_copy(const struct vd_locator *loc, size_t i, char **ret_path)
{
	const struct vd_md_copy *c = &loc->copies[i];
	uint8_t buf[VD_LABEL_SIZE];
	struct vd_label l;
	int fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	bool here = false;

	if (fd >= 0) {
		int r = pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf)
				? vd_label_decode(buf, &l) : -ENOMSG;

		here = r == 0 && !memcmp(l.pool_uuid, loc->pool_uuid, 16) &&
		       !memcmp(l.device_uuid, c->device_uuid, 16);
		/* No label of ours yet (a format between its area and its label): the area
		 * says. */
		if (!here)
			here = vd_mdarea_probe(c->path, c->offset, loc->pool_uuid);
		close(fd);
	}
	if (here || strncmp(c->path, "/dev/", 5) != 0) {
		*ret_path = strdup(c->path);
		return *ret_path ? 0 : -ENOMEM;
	}
	return vd_pool_find_label(loc->pool_uuid, c->device_uuid, c->path, c->identity, ret_path);
}

/* Reads the locator and finds its copies where they are now (*ret_moved: somewhere else than
 * it says). */
static int read_locator(const char *locator_path, struct vd_locator *loc, bool *ret_moved)
{
	bool moved = false;
	int r;

	r = vd_locator_read(locator_path, loc);
	if (r < 0)
		return r;
	for (size_t i = 0; i < loc->n; i++) {
		char *path = NULL;

		r = locate_copy(loc, i, &path);
		if (r < 0) {
			if (loc->n == 1) {
				vd_locator_dispose(loc);
				return r;
			}
			vd_warn("%s", vd_errmsg());
			continue;
		}
		if (strcmp(path, loc->copies[i].path) != 0) {
			vd_info("the pool database's copy %u moved from %s to %s",
				loc->copies[i].copy, loc->copies[i].path, path);
			moved = true;
		}
		free(loc->copies[i].path);
		loc->copies[i].path = path;
	}
	*ret_moved = moved;
	return 0;
}

/* A shared pool's lease area as this host reaches it: on the device of the area's copy that
 * the header names. */
static int lease_area(const struct vd_locator *loc, struct vd_mdarea *area,
		      struct vd_sanlock_area *ret)
{
	struct vd_md_lease lease;
	char uuid[37];

	if (!vd_mdarea_lease(area, &lease))
		return -ENOENT;
	for (size_t i = 0; i < loc->n; i++)
		if (memcmp(loc->copies[i].device_uuid, lease.device_uuid, 16) == 0)
			return vd_sanlock_area_init(ret, loc->pool_uuid, loc->copies[i].path,
						    lease.offset, lease.sector_size);
	vd_uuid_unparse(lease.device_uuid, uuid);
	return vd_err(-ENODEV, "the lease area of the shared pool is on device %s, which the "
			       "database locator does not name; run 'xl-vd pool-import' with "
			       "that device", uuid);
}

int vd_db_vfs_lease_area(const char *locator_path, struct vd_sanlock_area *ret)
{
	struct vd_locator loc = { 0 };
	struct vd_mdarea *area = NULL;
	char uuid[37];
	bool moved;
	int r;

	r = read_locator(locator_path, &loc, &moved);
	if (r < 0)
		return r;
	r = vd_mdarea_open(loc.pool_uuid, loc.copies, loc.n, true, &area);
	if (r == 0) {
		r = lease_area(&loc, area, ret);
		if (r == -ENOENT) {
			vd_uuid_unparse(loc.pool_uuid, uuid);
			r = vd_err(-ENOENT, "pool %s is not shared; 'xl-vd pool-share' makes it "
					    "so", uuid);
		}
	}
	vd_mdarea_close(area);
	vd_locator_dispose(&loc);
	return r;
}

/* Before a shared pool's database is used: this host has its host_id, sanlock runs, and this
 * host has joined the pool's lockspace under that id (attachments record it: an id sanlock
 * does not hold would make other hosts judge them wrongly). *ret_join_wait_s: how long a lock
 * waits for a join under way should the lockspace be left and rejoined meanwhile. */
static int check_shared_host(const struct vd_sanlock_area *sa, uint32_t *ret_host_id,
			     unsigned *ret_join_wait_s)
{
	struct vd_config cfg;
	uint64_t joined_as;
	int host_id, r;

	r = vd_config_load(NULL, &cfg);
	if (r < 0)
		return r;
	host_id = cfg.host_id;
	*ret_join_wait_s = 3 * (unsigned)cfg.lockspace_io_timeout + 5;
	vd_config_dispose(&cfg);
	if (!host_id)
		return vd_err(-ENOKEY, "pool %s is shared and this host has no host_id: set "
				       "host_id (1-2000, one per host) in %s, then run 'xl-vd "
				       "lockspace-start'",
			      sa->pool, vd_config_default_path());
	/* Just after 'lockspace-start --no-wait' (at boot) the join may be under way: waited
	 * for, rather than failing an operation that would succeed seconds later. */
	r = vd_sanlock_check_joined(sa, *ret_join_wait_s, &joined_as);
	if (r < 0)
		return r;
	if (joined_as != (uint64_t)host_id)
		return vd_err(-EINVAL, "this host joined the lockspace of pool %s as host %" PRIu64
				       " but %s says host_id = %d; run 'xl-vd lockspace-stop' and "
				       "'xl-vd lockspace-start'",
			      sa->pool, joined_as, vd_config_default_path(), host_id);
	*ret_host_id = (uint32_t)host_id;
	return 0;
}

int vd_db_vfs_attach(const char *locator_path, bool readonly, struct vd_db_vfs **ret)
{
	struct vd_locator loc = { 0 };
	struct vd_sanlock_area sa;
	struct vd_db_vfs *v = NULL;
	bool moved = false;
	int r;

	r = register_vfs();
	if (r < 0)
		return vd_err(r, "cannot register SQLite VFS %s", VD_DB_VFS_NAME);
	r = read_locator(locator_path, &loc, &moved);
	if (r < 0)
		return r;
	v = calloc(1, sizeof(*v));
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	r = vd_mdarea_open(loc.pool_uuid, loc.copies, loc.n, readonly, &v->area);
	if (r < 0)
		goto out;
	r = vd_mdlock_local(loc.pool_uuid, &v->lock);
	if (r < 0)
		goto out;
	r = lease_area(&loc, v->area, &sa);
	if (r == 0) {
		struct vd_mdlock *shared;
		unsigned join_wait_s = 0;

		r = check_shared_host(&sa, &v->host_id, &join_wait_s);
		v->lease = sa;
		if (r == 0)
			r = vd_mdlock_shared(v->lock, &sa, join_wait_s, &shared);
		if (r < 0)
			goto out;
		v->lock = shared;
		v->shared = true;
	} else if (r != -ENOENT) {
		goto out;
	}
	/* Fault injection for the power-cut tests: writes after the first N never reach the
	 * devices. */
	const char *drop = getenv("XENVD_MD_DROP_WRITES_AFTER");

	if (drop && *drop)
		vd_mdarea_drop_writes_after(v->area, strtoll(drop, NULL, 10));
	if (moved && !readonly)
		(void)vd_locator_write(locator_path, &loc); /* best effort: labels find it anyway */
	v->copies_named = loc.n;
	snprintf(v->name, sizeof(v->name), "/xenvd-mdarea/%d-%u", (int)getpid(), ++attach_seq);
	v->next = attached;
	attached = v;
	*ret = TAKE_PTR(v);
	r = 0;
out:
	if (v) {
		vd_mdarea_close(v->area);
		if (v->lock)
			v->lock->ops->free(v->lock);
		free(v);
	}
	vd_locator_dispose(&loc);
	return r;
}

bool vd_db_vfs_shared(const struct vd_db_vfs *v)
{
	return v->shared;
}

int vd_db_vfs_idle(struct vd_db_vfs *v)
{
	return v->lock->ops->idle ? v->lock->ops->idle(v->lock) : 0;
}

const char *vd_db_vfs_lock_error(const struct vd_db_vfs *v, int *ret_errno)
{
	if (ret_errno)
		*ret_errno = v->lock_errno;
	return v->lock_error[0] ? v->lock_error : NULL;
}

const char *vd_db_vfs_filename(const struct vd_db_vfs *v)
{
	return v->name;
}

size_t vd_db_vfs_copies_named(const struct vd_db_vfs *v)
{
	return v->copies_named;
}

struct vd_mdarea *vd_db_vfs_area(const struct vd_db_vfs *v)
{
	return v->area;
}

void vd_db_vfs_detach(struct vd_db_vfs *v)
{
	if (!v)
		return;
	for (struct vd_db_vfs **p = &attached; *p; p = &(*p)->next)
		if (*p == v) {
			*p = v->next;
			break;
		}
	if (v->lock->level != VD_MDLOCK_NONE)
		(void)v->lock->ops->unlock(v->lock, VD_MDLOCK_NONE);
	v->lock->ops->free(v->lock);
	vd_mdarea_close(v->area);
	free(v);
}

uint32_t vd_db_vfs_host_id(const struct vd_db_vfs *v)
{
	return v->shared ? v->host_id : 0;
}

const struct vd_sanlock_area *vd_db_vfs_lease(const struct vd_db_vfs *v)
{
	return v->shared ? &v->lease : NULL;
}
