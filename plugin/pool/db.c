/* The only file that calls SQLite. See db.h. */
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <libgen.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pool/db.h"
#include "pool/db_vfs.h"
#include "base/error.h"

/* How long a writer waits for the write lock before the user sees an error. Contention is
 * short (every transaction here is milliseconds), so this is only reached when something hangs
 * while holding the database. */
#define BUSY_TIMEOUT_MS 10000
#define BEGIN_RETRY_TOTAL_MS 60000

/* A commit that leaves at least this many pages (1 MiB) in the WAL is checkpointed and the WAL
 * truncated right away. Every process that opens the database re-reads the whole WAL to rebuild
 * its index (and, when it closes last, checkpointed it again): a WAL left large made every
 * xl-vd and block-vd run on a pool of 10^6 extents pay for the 25 MB that format wrote once.
 * Below this, re-reading costs less than the fsyncs a checkpoint needs. */
#define WAL_TRUNCATE_PAGES 256

/* enum vd_state as it is spelled in SQL text (indexes and constraints cannot take parameters). */
#define SQL_VD_LIVE "0"
#define SQL_VD_EXPIRED "1"
#define SQL_VD_DELETED "2"
_Static_assert(VD_LIVE == 0 && VD_EXPIRED == 1 && VD_DELETED == 2, "SQL_VD_* spell enum vd_state");

struct vd_db {
	sqlite3 *sql;
	char *path;
	struct vd_db_vfs *vfs; /* the pool carries its database: path is its locator */
	uint8_t pool_uuid[16];
	bool in_txn;
	int wait_ms;	  /* how long begin waits for the write lock */
	int wal_pages;	  /* pages in the WAL after the last commit (wal hook) */
	bool created;	  /* opened with VD_DB_CREATE: may be initialised */
	uint32_t host_id; /* whose attachments "this host's" means (0: unshared pool) */
};

static void stmt_finalizep(sqlite3_stmt **s)
{
	if (*s)
		sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(stmt_finalizep)

/* SQLite result codes → -errno, with the database and SQLite's own words in the message. */
static int sql_err(struct vd_db *db, int rc, const char *what)
{
	int r;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		r = -EBUSY;
		break;
	case SQLITE_CONSTRAINT:
		r = -EEXIST;
		break;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		r = -EACCES;
		break;
	case SQLITE_NOMEM:
		r = -ENOMEM;
		break;
	case SQLITE_FULL:
		r = -ENOSPC;
		break;
	case SQLITE_CANTOPEN:
		r = -ENOENT;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		r = -EBADMSG;
		break;
	default:
		r = -EIO;
	}
	if (rc == SQLITE_IOERR_LOCK && db->vfs && vd_db_vfs_lock_error(db->vfs, &r))
		return vd_err(r, "database %s: %s failed: %s", db->path, what,
			      vd_db_vfs_lock_error(db->vfs, NULL));
	if (r == -EBUSY && db->vfs && vd_db_vfs_shared(db->vfs))
		return vd_err(r, "database %s: %s failed: the shared pool's metadata lease stayed "
				 "held by another process or host; retry ('sanlock client status' "
				 "on each host shows who holds it)",
			      db->path, what);
	if (r == -ENOSPC && db->vfs)
		return vd_err(r, "database %s: %s failed: the pool's metadata area is full (format "
				 "sized it for the extents the pool may reach, --max-extents); take "
				 "devices out ('xl-vd pool-remove'); a larger area needs a pool "
				 "formatted with a larger --max-extents",
			      db->path, what);
	return vd_err(r, "database %s: %s failed: %s", db->path, what,
		      db->sql ? sqlite3_errmsg(db->sql) : sqlite3_errstr(rc));
}

static int prepare(struct vd_db *db, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(db->sql, sql, -1, ret, NULL);

	if (rc != SQLITE_OK)
		return sql_err(db, rc, "preparing a statement");
	return 0;
}

static int exec(struct vd_db *db, const char *sql, const char *what)
{
	int rc = sqlite3_exec(db->sql, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sql_err(db, rc, what);
}

/* Runs a statement that returns no rows. */
static int step_done(struct vd_db *db, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sql_err(db, rc, what);
	return 0;
}

static int query_int64(struct vd_db *db, const char *sql, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = prepare(db, sql, &s);

	if (r < 0)
		return r;
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : sql_err(db, rc, "a query");
	*ret = sqlite3_column_int64(s, 0);
	return 0;
}

/* ---- schema ---- */

/* migrations[i] takes user_version i to i+1. Append only; never edit a released one. */
static const char *const migrations[] = {
	/* 0 → 1 */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE pool_devices ("
	"  id INTEGER PRIMARY KEY,"
	"  uuid BLOB NOT NULL UNIQUE CHECK (length(uuid) = 16),"
	"  path TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  extent_size INTEGER NOT NULL CHECK (extent_size > 0),"
	"  data_offset INTEGER NOT NULL,"
	"  extent_count INTEGER NOT NULL CHECK (extent_count > 0),"
	"  added INTEGER NOT NULL,"
	"  scrub INTEGER NOT NULL DEFAULT 1,"
	"  state INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE vdisks ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT,"
	"  size INTEGER NOT NULL DEFAULT 0,"
	"  extent_count INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER,"
	"  state INTEGER NOT NULL DEFAULT " SQL_VD_LIVE
	"  CHECK (state IN (" SQL_VD_LIVE ", " SQL_VD_EXPIRED ", " SQL_VD_DELETED ")),"
	"  needs_scrub INTEGER NOT NULL DEFAULT 0);"
	"CREATE UNIQUE INDEX vdisks_name ON vdisks(name) "
	"  WHERE name IS NOT NULL AND state != " SQL_VD_DELETED ";"
	"CREATE INDEX vdisks_expiry ON vdisks(expires) "
	"  WHERE state != " SQL_VD_DELETED " AND expires IS NOT NULL;"
	"CREATE TABLE extents ("
	"  device_id INTEGER NOT NULL REFERENCES pool_devices(id) ON DELETE CASCADE,"
	"  ext_no INTEGER NOT NULL,"
	"  vd_id INTEGER REFERENCES vdisks(id),"
	"  vd_index INTEGER,"
	"  dirty INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (device_id, ext_no),"
	"  CHECK ((vd_id IS NULL) = (vd_index IS NULL))"
	") WITHOUT ROWID;"
	"CREATE UNIQUE INDEX extents_by_vd ON extents(vd_id, vd_index) WHERE vd_id IS NOT NULL;"
	"CREATE INDEX extents_free ON extents(dirty, device_id, ext_no) WHERE vd_id IS NULL;"
	"CREATE TABLE attachments ("
	"  backend_path TEXT PRIMARY KEY,"
	"  vd_id INTEGER NOT NULL REFERENCES vdisks(id),"
	"  domid INTEGER NOT NULL,"
	"  devid INTEGER NOT NULL,"
	"  mode TEXT NOT NULL,"
	"  vdev TEXT,"
	"  dm_name TEXT NOT NULL,"
	"  since INTEGER NOT NULL);"
	"CREATE INDEX attachments_by_vd ON attachments(vd_id);",
	/* 1 → 2: the hardware identity of a pool device (NULL: none known), which a disk found
	 * by its label elsewhere must show before it is adopted. */
	"ALTER TABLE pool_devices ADD COLUMN identity TEXT;",
	/* 2 → 3: the frontend's VM UUID (libxl keeps it across save, restore, migration), for
	 * the same-VM sharing rule; NULL when unknown (rows from before, xl-vd map) */
	"ALTER TABLE attachments ADD COLUMN vm_uuid TEXT;",
	/* 3 → 4: the host an attachment is on (a shared pool's host_id, 1-2000; 0 for an
	 * unshared pool). Backend paths repeat between hosts ("/local/domain/0/backend/vbd/5/
	 * 51712" on each), so the key becomes (host_id, backend_path): SQLite cannot change a
	 * primary key in place, the table is copied. */
	"CREATE TABLE attachments_v4 ("
	"  host_id INTEGER NOT NULL DEFAULT 0 CHECK (host_id BETWEEN 0 AND 2000),"
	"  backend_path TEXT NOT NULL,"
	"  vd_id INTEGER NOT NULL REFERENCES vdisks(id),"
	"  domid INTEGER NOT NULL,"
	"  devid INTEGER NOT NULL,"
	"  mode TEXT NOT NULL,"
	"  vdev TEXT,"
	"  dm_name TEXT NOT NULL,"
	"  since INTEGER NOT NULL,"
	"  vm_uuid TEXT,"
	"  PRIMARY KEY (host_id, backend_path));"
	"INSERT INTO attachments_v4 (host_id, backend_path, vd_id, domid, devid, mode, vdev, "
	"  dm_name, since, vm_uuid) SELECT 0, backend_path, vd_id, domid, devid, mode, vdev, "
	"  dm_name, since, vm_uuid FROM attachments;"
	"DROP TABLE attachments;"
	"ALTER TABLE attachments_v4 RENAME TO attachments;"
	"CREATE INDEX attachments_by_vd ON attachments(vd_id);",
};

static int read_pool_uuid(struct vd_db *db)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = prepare(db, "SELECT value FROM meta WHERE key = 'pool_uuid'", &s);

	if (r < 0)
		return r;
	if (sqlite3_step(s) != SQLITE_ROW ||
	    vd_uuid_parse((const char *)sqlite3_column_text(s, 0), db->pool_uuid) < 0)
		return vd_err(-EBADMSG, "database %s has no valid pool UUID; it is damaged or not "
				       "a xenvd database", db->path);
	return 0;
}

static int migrate(struct vd_db *db, bool readonly)
{
	_cleanup_txn_ struct vd_db *txn = NULL;
	int64_t version;
	int r;

	r = query_int64(db, "PRAGMA user_version", &version);
	if (r < 0)
		return r;
	if (version > (int64_t)ARRAY_SIZE(migrations))
		return vd_err(-EPROTONOSUPPORT,
			      "database %s has schema version %" PRId64 ", newer than this xenvd "
			      "understands (%d); upgrade xenvd, or point --db at another database",
			      db->path, version, VD_DB_SCHEMA_VERSION);
	if (version == (int64_t)ARRAY_SIZE(migrations))
		return read_pool_uuid(db);
	if (version == 0 && !db->created)
		return vd_err(-ENOMEDIUM, "database %s holds no xenvd pool (no schema): only "
					  "'xl-vd format' creates one; restore the database from a "
					  "backup, or move it away and run 'xl-vd format DEVICE'",
			      db->path);
	if (readonly)
		return vd_err(-EROFS, "database %s needs a schema upgrade (version %" PRId64
				      " → %d) but was opened read-only; run any xl-vd command as root "
				      "first", db->path, version, VD_DB_SCHEMA_VERSION);

	r = vd_db_txn_begin(db, &txn);
	if (r < 0)
		return r;
	/* Another process may have migrated while we waited for the lock. */
	r = query_int64(db, "PRAGMA user_version", &version);
	if (r < 0)
		return r;
	for (; version < (int64_t)ARRAY_SIZE(migrations); version++) {
		char pragma[64];

		r = exec(db, migrations[version], "upgrading the schema");
		if (r < 0)
			return r;
		if (version == 0) {
			uint8_t uuid[16];
			char text[37];
			_cleanup_stmt_ sqlite3_stmt *s = NULL;

			if (db->vfs) {
				/* A database on a pool's metadata area: the area says whose. */
				vd_mdarea_pool_uuid(vd_db_vfs_area(db->vfs), uuid);
			} else {
				r = vd_random(uuid, sizeof(uuid));
				if (r < 0)
					return r;
				uuid[6] = (uuid[6] & 0x0f) | 0x40;
				uuid[8] = (uuid[8] & 0x3f) | 0x80;
			}
			vd_uuid_unparse(uuid, text);
			r = prepare(db, "INSERT INTO meta (key, value) VALUES ('pool_uuid', ?)", &s);
			if (r < 0)
				return r;
			sqlite3_bind_text(s, 1, text, -1, SQLITE_TRANSIENT);
			r = step_done(db, s, "recording the pool UUID");
			if (r < 0)
				return r;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %" PRId64, version + 1);
		r = exec(db, pragma, "recording the schema version");
		if (r < 0)
			return r;
	}
	r = vd_db_commit(TAKE_PTR(txn));
	if (r < 0)
		return r;
	return read_pool_uuid(db);
}

static int mkdir_parents(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	char *dir;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Settings of a database on a pool's metadata area: a rollback journal (WAL needs memory
 * shared by every user of the pool), 4 KiB pages (the area's block), temporary files in
 * memory (the VFS has only the database and its journal). */
static int open_onpool(struct vd_db *db, bool readonly)
{
	static const char *const pragmas[] = {
		"PRAGMA page_size = 4096",
		"PRAGMA temp_store = MEMORY",
		"PRAGMA journal_mode = DELETE",
		"PRAGMA synchronous = FULL",
		"PRAGMA foreign_keys = ON",
	};
	int rc;

	sqlite3_busy_timeout(db->sql, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db->sql, 1);
	for (size_t i = readonly ? 1 : 0; i < ARRAY_SIZE(pragmas); i++) {
		if (readonly && i == 2)
			continue;
		rc = sqlite3_exec(db->sql, pragmas[i], NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static int wal_hook(void *userdata, sqlite3 *sql, const char *schema, int pages)
{
	struct vd_db *db = userdata;

	(void)sql;
	(void)schema;
	db->wal_pages = pages;
	return SQLITE_OK;
}

/* After a commit that left a large WAL: copy it into the database and truncate it, so that the
 * next process has nothing to recover. Best effort: a reader of an older snapshot makes the
 * truncation wait, and it is not worth keeping the writer (or block-vd) waiting for; the next
 * large commit or the last close tries again. */
static void checkpoint_large_wal(struct vd_db *db)
{
	int rc;

	if (db->wal_pages < WAL_TRUNCATE_PAGES)
		return;
	sqlite3_busy_timeout(db->sql, 0);
	rc = sqlite3_wal_checkpoint_v2(db->sql, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		vd_debug("database %s: checkpoint after a large commit failed: %s", db->path,
			 sqlite3_errstr(rc));
	sqlite3_busy_timeout(db->sql, db->wait_ms < BUSY_TIMEOUT_MS ? db->wait_ms
								     : BUSY_TIMEOUT_MS);
	db->wal_pages = 0;
}

/* A large WAL left by an older xenvd (or a checkpoint that found readers): truncate it now
 * rather than have every later process re-read it. */
static void truncate_left_wal(struct vd_db *db)
{
	_cleanup_free_ char *wal = NULL;
	struct stat st;

	if (asprintf(&wal, "%s-wal", db->path) < 0)
		return;
	if (stat(wal, &st) == 0 && st.st_size >= (off_t)WAL_TRUNCATE_PAGES * 4096) {
		db->wal_pages = WAL_TRUNCATE_PAGES;
		checkpoint_large_wal(db);
	}
}

/* The database's directory decides who can replace the database: root's, and only root's. */
static int check_directory(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	const char *dir;
	struct stat st;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	if (stat(dir, &st) < 0)
		return vd_err(-errno, "database directory %s: %m", dir);
	return vd_check_private(dir, &st, "database directory");
}

int vd_db_open(const char *path, unsigned flags, struct vd_db **ret)
{
	struct vd_db *db;
	int oflags, rc, r;
	struct stat st;
	bool readonly = flags & VD_DB_READONLY;

	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->wait_ms = BEGIN_RETRY_TOTAL_MS;
	db->path = strdup(path);
	if (!db->path) {
		free(db);
		return -ENOMEM;
	}

	if (stat(path, &st) < 0) {
		if (errno != ENOENT || !(flags & VD_DB_CREATE) || readonly) {
			r = vd_err(-errno, "database %s: %m; create a pool first with 'xl-vd format "
					   "DEVICE', bring one that carries its database with 'xl-vd "
					   "pool-import DEVICE', or point --db at an existing database",
				   path);
			goto fail;
		}
		r = mkdir_parents(path);
		if (r < 0) {
			r = vd_err(r, "cannot create the directory of database %s: %m", path);
			goto fail;
		}
	} else if (!S_ISREG(st.st_mode)) {
		r = vd_err(-EINVAL, "database %s is not a regular file", path);
		goto fail;
	} else if ((r = vd_check_private(path, &st, "database")) < 0) {
		goto fail;
	} else if (st.st_size == 0 && !(flags & VD_DB_CREATE)) {
		/* Opening it would make a new, empty pool with a new UUID. */
		r = vd_err(-ENOMEDIUM, "database %s is empty (0 bytes): it lost its contents; "
				       "restore it from a backup, or move it away and create a new "
				       "pool with 'xl-vd format DEVICE'", path);
		goto fail;
	}
	r = check_directory(path);
	if (r < 0)
		goto fail;
	db->created = flags & VD_DB_CREATE;

	oflags = SQLITE_OPEN_NOMUTEX | (readonly ? SQLITE_OPEN_READONLY
						 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (vd_locator_is(path)) {
		/* The pool carries its database: path only says on which devices. */
		r = vd_db_vfs_attach(path, readonly, &db->vfs);
		if (r < 0)
			goto fail;
		/* a shared pool's attachments are this host's under its host id */
		db->host_id = vd_db_vfs_host_id(db->vfs);
		rc = sqlite3_open_v2(vd_db_vfs_filename(db->vfs), &db->sql, oflags,
				     VD_DB_VFS_NAME);
		if (rc == SQLITE_OK)
			rc = open_onpool(db, readonly);
		if (rc != SQLITE_OK) {
			r = sql_err(db, rc, "opening");
			goto fail;
		}
		goto opened;
	}
	mode_t old_umask = umask(077); /* the database is 0600: it maps every tenant's data */
	rc = sqlite3_open_v2(path, &db->sql, oflags, NULL);
	umask(old_umask);
	if (rc != SQLITE_OK) {
		r = sql_err(db, rc, "opening");
		goto fail;
	}
	sqlite3_busy_timeout(db->sql, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db->sql, 1);

	r = exec(db, "PRAGMA foreign_keys = ON", "enabling foreign keys");
	if (r < 0)
		goto fail;
	if (!readonly) {
		/* Switching to WAL needs a moment alone with the file; retry while a peer is
		 * doing the same. */
		for (int i = 0;; i++) {
			rc = sqlite3_exec(db->sql, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
			if (rc == SQLITE_OK || (rc & 0xff) != SQLITE_BUSY || i > 600)
				break;
			usleep(10000);
		}
		if (rc != SQLITE_OK) {
			r = sql_err(db, rc, "enabling WAL");
			goto fail;
		}
		/* FULL: a VD id printed to the user survives a power loss. */
		r = exec(db, "PRAGMA synchronous = FULL", "setting synchronous mode");
		if (r < 0)
			goto fail;
		/* Keep -wal and -shm between processes: otherwise every open recreates and
		 * zero-fills the shared-memory index and every last close deletes both, a few
		 * dozen system calls per block-vd run for nothing. */
		int persist = 1;

		(void)sqlite3_file_control(db->sql, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
		/* A persisted WAL that SQLite restarts after a checkpoint shrinks back to 1 MiB. */
		r = exec(db, "PRAGMA journal_size_limit = 1048576", "limiting the WAL size");
		if (r < 0)
			goto fail;
		/* Replaces SQLite's auto-checkpoint hook: vd_db_commit checkpoints instead. */
		sqlite3_wal_hook(db->sql, wal_hook, db);
		/* A checkpoint on close costs every process two or three more fsyncs; the WAL is
		 * kept small by checkpoint_large_wal instead. */
		(void)sqlite3_db_config(db->sql, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	}
opened:
	r = migrate(db, readonly);
	if (r < 0)
		goto fail;
	if (db->vfs && !readonly && vd_mdarea_out_of_step(vd_db_vfs_area(db->vfs))) {
		/* Two copies of the pool's metadata area not in step (a crash between their
		 * writes): the older is made again from the newer before anything is written. */
		r = vd_db_begin(db);
		if (r == 0) {
			r = vd_mdarea_resync(vd_db_vfs_area(db->vfs));
			if (r == 0)
				r = vd_db_commit(db);
			else
				vd_db_rollback(db);
		}
		if (r < 0)
			goto fail;
	}
	if (!readonly && !db->vfs)
		truncate_left_wal(db);
	*ret = db;
	return 0;
fail:
	vd_db_close(db);
	return r;
}

void vd_db_close(struct vd_db *db)
{
	if (!db)
		return;
	if (db->in_txn)
		vd_db_rollback(db);
	sqlite3_close_v2(db->sql);
	if (db->vfs)
		vd_db_vfs_detach(db->vfs);
	free(db->path);
	free(db);
}

void vd_db_set_wait(struct vd_db *db, int ms)
{
	db->wait_ms = ms;
	sqlite3_busy_timeout(db->sql, ms < BUSY_TIMEOUT_MS ? ms : BUSY_TIMEOUT_MS);
}

int vd_db_idle(struct vd_db *db)
{
	if (!db || !db->vfs || db->in_txn)
		return 0;
	return vd_db_vfs_idle(db->vfs);
}

int vd_db_set_lease(struct vd_db *db, const struct vd_md_lease *lease)
{
	if (!db->vfs)
		return vd_err(-EINVAL, "database %s is a file: only a pool that carries its "
				       "database can be shared", db->path);
	if (!db->in_txn)
		return vd_err(-EINVAL, "database %s: the lease area is recorded in a transaction",
			      db->path);
	return vd_mdarea_set_lease(vd_db_vfs_area(db->vfs), lease);
}

bool vd_db_lease(const struct vd_db *db, struct vd_md_lease *ret)
{
	return db->vfs && vd_mdarea_lease(vd_db_vfs_area(db->vfs), ret);
}

bool vd_db_shared(const struct vd_db *db)
{
	return db && db->vfs && vd_db_vfs_shared(db->vfs);
}

const char *vd_db_path(const struct vd_db *db)
{
	return db->path;
}

void vd_db_io_stats(const struct vd_db *db, uint64_t *ret_reads, uint64_t *ret_writes,
		    uint64_t *ret_flushes)
{
	const struct vd_md_stats *st = db->vfs ? vd_mdarea_stats(vd_db_vfs_area(db->vfs)) : NULL;

	*ret_reads = st ? st->reads : 0;
	*ret_writes = st ? st->writes : 0;
	*ret_flushes = st ? st->flushes : 0;
}

void vd_db_print_io_stats(const struct vd_db *db, FILE *f)
{
	const char *env = getenv("XENVD_IO_STATS");
	uint64_t reads, writes, flushes;

	if (!db || !db->vfs || !env || strcmp(env, "1") != 0)
		return;
	vd_db_io_stats(db, &reads, &writes, &flushes);
	fprintf(f, "xenvd-io: reads=%" PRIu64 " writes=%" PRIu64 " flushes=%" PRIu64 "\n", reads,
		writes, flushes);
}

int vd_db_repair_area_copy(struct vd_db *db, char **ret_path)
{
	struct vd_locator loc = { 0 };
	struct vd_mdarea *a;
	int r;

	if (!db->vfs)
		return 0;
	a = vd_db_vfs_area(db->vfs);
	if (vd_mdarea_copies(a) >= vd_db_vfs_copies_named(db->vfs))
		return 0;
	r = vd_locator_read(db->path, &loc);
	if (r < 0)
		return r;
	r = 0;
	for (size_t i = 0; i < loc.n && r == 0; i++) {
		if (vd_mdarea_has_copy(a, loc.copies[i].copy))
			continue;
		/* Under the write lock, nothing written: the copy is of a still database. */
		r = vd_db_begin(db);
		if (r < 0)
			break;
		r = vd_mdarea_add_copy(a, &loc.copies[i]);
		if (r < 0) {
			vd_db_rollback(db);
			break;
		}
		r = vd_db_commit(db);
		if (r == 0) {
			*ret_path = strdup(loc.copies[i].path);
			r = *ret_path ? 1 : -ENOMEM;
		}
	}
	vd_locator_dispose(&loc);
	return r;
}

int vd_db_add_area_copy(struct vd_db *db, const struct vd_md_copy *where)
{
	if (!db->vfs || !db->in_txn)
		return -EINVAL;
	return vd_mdarea_add_copy(vd_db_vfs_area(db->vfs), where);
}

const char *vd_db_storage(const struct vd_db *db)
{
	return db->vfs ? vd_mdarea_describe(vd_db_vfs_area(db->vfs)) : NULL;
}

void vd_db_pool_uuid(const struct vd_db *db, uint8_t ret_uuid[16])
{
	memcpy(ret_uuid, db->pool_uuid, 16);
}

/* ---- transactions ---- */

int vd_db_begin(struct vd_db *db)
{
	struct timespec start, now;
	int rc;

	if (db->in_txn)
		return vd_err(-EINVAL, "database %s: nested transaction", db->path);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (unsigned attempt = 0;; attempt++) {
		rc = sqlite3_exec(db->sql, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			break;
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			return sql_err(db, rc, "starting a transaction");
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >
		    db->wait_ms && db->vfs && vd_db_vfs_shared(db->vfs))
			return vd_err(-EBUSY, "the metadata lease of shared pool database %s has been "
					      "held by another process or host for over %d s; 'sanlock "
					      "client status' on each host shows who holds it; retry",
				      db->path, db->wait_ms / 1000);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >
		    db->wait_ms)
			return vd_err(-EBUSY, "database %s has been locked by another process for "
					      "over %d s; find it with 'fuser %s' and retry",
				      db->path, db->wait_ms / 1000, db->path);
		usleep(1000 + (attempt % 16) * 500);
	}
	db->in_txn = true;
	return 0;
}

int vd_db_commit(struct vd_db *db)
{
	int rc;

	for (int i = 0;; i++) {
		rc = sqlite3_exec(db->sql, "COMMIT", NULL, NULL, NULL);
		if (rc == SQLITE_OK || (rc & 0xff) != SQLITE_BUSY || i > 1000)
			break;
		usleep(5000);
	}
	if (rc != SQLITE_OK) {
		int r = sql_err(db, rc, "committing");

		vd_db_rollback(db);
		return r;
	}
	db->in_txn = false;
	checkpoint_large_wal(db);
	return 0;
}

void vd_db_rollback(struct vd_db *db)
{
	if (!db->in_txn)
		return;
	sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
	db->in_txn = false;
}

bool vd_db_in_transaction(const struct vd_db *db)
{
	return db->in_txn;
}

static int require_txn(struct vd_db *db, const char *what)
{
	if (!db->in_txn)
		return vd_err(-EINVAL, "internal error: %s outside a transaction", what);
	return 0;
}

/* ---- pool devices ---- */

void vd_pool_device_dispose(struct vd_pool_device *d)
{
	if (!d)
		return;
	free(d->path);
	d->path = NULL;
	free(d->identity);
	d->identity = NULL;
}

#define DEVICE_COLUMNS                                                                             \
	"d.id, d.uuid, d.path, d.size, d.extent_size, d.data_offset, d.extent_count, d.added, "   \
	"d.scrub, d.state, d.identity"

/* Steps s to its end, turning each row into the next element (elem_size bytes) of a growing
 * array with from_row. On failure the elements read so far go through dispose (if any) and the
 * array is freed. The one loop behind every list this module returns. */
static int collect_rows_(struct vd_db *db, sqlite3_stmt *s, size_t elem_size,
			 int (*from_row)(sqlite3_stmt *s, void *elem), void (*dispose)(void *elem),
			 const char *what, void **ret, size_t *ret_n)
{
	char *list = NULL;
	size_t n = 0, cap = 0;
	int rc, r;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char *grown = realloc(list, ncap * elem_size);

			if (!grown) {
				r = -ENOMEM;
				goto fail;
			}
			list = grown;
			cap = ncap;
		}
		r = from_row(s, list + n * elem_size);
		if (r < 0)
			goto fail;
		n++;
	}
	if (rc != SQLITE_DONE) {
		r = sql_err(db, rc, what);
		goto fail;
	}
	*ret = list;
	*ret_n = n;
	return 0;
fail:
	for (size_t i = 0; dispose && i < n; i++)
		dispose(list + i * elem_size);
	free(list);
	return r;
}

/* collect_rows_() for a typed array: ret points at the caller's array pointer (struct X **). */
#define collect_rows(db, s, from_row, dispose, what, ret, ret_n)                                   \
	({                                                                                         \
		void *list_ = NULL;                                                                \
		int r_ = collect_rows_((db), (s), sizeof(**(ret)), (from_row), (dispose), (what), \
				       &list_, (ret_n));                                           \
		if (r_ == 0)                                                                       \
			*(ret) = list_;                                                            \
		r_;                                                                                \
	})

/* Steps s once into *elem with from_row: -ENOENT (no message) when there is no row. */
static int read_row(struct vd_db *db, sqlite3_stmt *s,
		    int (*from_row)(sqlite3_stmt *s, void *elem), void *elem, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return sql_err(db, rc, what);
	return from_row(s, elem);
}

static void device_dispose(void *elem)
{
	vd_pool_device_dispose(elem);
}

static void vdisk_dispose(void *elem)
{
	vd_vdisk_dispose(elem);
}

static void attachment_dispose(void *elem)
{
	vd_attachment_dispose(elem);
}

static int device_from_row(sqlite3_stmt *s, void *elem)
{
	struct vd_pool_device *d = elem;
	const void *uuid = sqlite3_column_blob(s, 1);

	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(s, 0);
	if (uuid && sqlite3_column_bytes(s, 1) == 16)
		memcpy(d->uuid, uuid, 16);
	d->path = strdup((const char *)sqlite3_column_text(s, 2));
	if (!d->path)
		return -ENOMEM;
	d->size = (uint64_t)sqlite3_column_int64(s, 3);
	d->extent_size = (uint64_t)sqlite3_column_int64(s, 4);
	d->data_offset = (uint64_t)sqlite3_column_int64(s, 5);
	d->extent_count = (uint64_t)sqlite3_column_int64(s, 6);
	d->added = sqlite3_column_int64(s, 7);
	d->scrub = sqlite3_column_int(s, 8) != 0;
	d->state = (enum vd_device_state)sqlite3_column_int(s, 9);
	if (sqlite3_column_type(s, 10) == SQLITE_TEXT &&
	    !(d->identity = strdup((const char *)sqlite3_column_text(s, 10)))) {
		vd_pool_device_dispose(d);
		return -ENOMEM;
	}
	return 0;
}

int vd_db_device_add(struct vd_db *db, const struct vd_pool_device *d, int64_t *ret_id)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL, *ins = NULL;
	int64_t id;
	int r;

	r = require_txn(db, "adding a device");
	if (r < 0)
		return r;
	r = prepare(db, "INSERT INTO pool_devices (uuid, path, size, extent_size, data_offset, "
			"extent_count, added, scrub, identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		    &s);
	if (r < 0)
		return r;
	sqlite3_bind_blob(s, 1, d->uuid, 16, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, d->path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (int64_t)d->size);
	sqlite3_bind_int64(s, 4, (int64_t)d->extent_size);
	sqlite3_bind_int64(s, 5, (int64_t)d->data_offset);
	sqlite3_bind_int64(s, 6, (int64_t)d->extent_count);
	sqlite3_bind_int64(s, 7, d->added);
	sqlite3_bind_int(s, 8, d->scrub ? 1 : 0);
	if (d->identity)
		sqlite3_bind_text(s, 9, d->identity, -1, SQLITE_TRANSIENT);
	r = step_done(db, s, "recording the device");
	if (r < 0)
		return r;
	id = sqlite3_last_insert_rowid(db->sql);

	/* One row per extent, in one statement: a recursive CTE keeps the million-row insert
	 * inside SQLite instead of a million step() calls. */
	r = prepare(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n "
			"WHERE i + 1 < ?2) INSERT INTO extents (device_id, ext_no) "
			"SELECT ?1, i FROM n", &ins);
	if (r < 0)
		return r;
	sqlite3_bind_int64(ins, 1, id);
	sqlite3_bind_int64(ins, 2, (int64_t)d->extent_count);
	r = step_done(db, ins, "recording the device's extents");
	if (r < 0)
		return r;
	*ret_id = id;
	return 0;
}

int vd_db_device_get(struct vd_db *db, int64_t id, struct vd_pool_device *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = prepare(db, "SELECT " DEVICE_COLUMNS " FROM pool_devices d WHERE d.id = ?", &s);

	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	r = read_row(db, s, device_from_row, ret, "reading a pool device");
	if (r == -ENOENT)
		return vd_err(-ENOENT, "pool device #%" PRId64 " is not in database %s", id,
			      db->path);
	return r;
}

int vd_db_device_find(struct vd_db *db, const uint8_t uuid[16], const char *path,
		      struct vd_pool_device *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = prepare(db, "SELECT " DEVICE_COLUMNS " FROM pool_devices d "
			    "WHERE d.uuid = ?1 OR d.path = ?2 ORDER BY d.uuid = ?1 DESC LIMIT 1",
			&s);

	if (r < 0)
		return r;
	if (uuid)
		sqlite3_bind_blob(s, 1, uuid, 16, SQLITE_TRANSIENT);
	if (path)
		sqlite3_bind_text(s, 2, path, -1, SQLITE_TRANSIENT);
	return read_row(db, s, device_from_row, ret, "finding a pool device");
}

int vd_db_device_list(struct vd_db *db, struct vd_pool_device **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	r = prepare(db, "SELECT " DEVICE_COLUMNS " FROM pool_devices d ORDER BY d.id", &s);
	if (r < 0)
		return r;
	return collect_rows(db, s, device_from_row, device_dispose, "listing pool devices", ret,
			    ret_n);
}

int vd_db_device_count_free(struct vd_db *db, struct vd_pool_device *list, size_t n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = prepare(db, "SELECT count(*) FROM extents WHERE vd_id IS NULL AND device_id = ?",
			&s);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, list[i].id);
		if (sqlite3_step(s) != SQLITE_ROW)
			return sql_err(db, sqlite3_errcode(db->sql), "counting free extents");
		list[i].free_extents = (uint64_t)sqlite3_column_int64(s, 0);
	}
	return 0;
}

void vd_db_device_list_free(struct vd_pool_device *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vd_pool_device_dispose(&list[i]);
	free(list);
}

int vd_db_device_set_path(struct vd_db *db, int64_t id, const char *path)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = require_txn(db, "updating a device path");

	if (r < 0)
		return r;
	r = prepare(db, "UPDATE pool_devices SET path = ? WHERE id = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, id);
	return step_done(db, s, "updating a device path");
}

int vd_db_device_set_identity(struct vd_db *db, int64_t id, const char *identity)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = require_txn(db, "updating a device identity");

	if (r < 0)
		return r;
	r = prepare(db, "UPDATE pool_devices SET identity = ? WHERE id = ?", &s);
	if (r < 0)
		return r;
	if (identity)
		sqlite3_bind_text(s, 1, identity, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, id);
	return step_done(db, s, "updating a device identity");
}

int vd_db_device_remove(struct vd_db *db, int64_t id)
{
	_cleanup_stmt_ sqlite3_stmt *owners = NULL, *del = NULL;
	int r = require_txn(db, "removing a device");

	if (r < 0)
		return r;
	r = prepare(db, "SELECT group_concat(DISTINCT vd_id) FROM extents "
			"WHERE device_id = ? AND vd_id IS NOT NULL", &owners);
	if (r < 0)
		return r;
	sqlite3_bind_int64(owners, 1, id);
	if (sqlite3_step(owners) == SQLITE_ROW && sqlite3_column_type(owners, 0) != SQLITE_NULL)
		return vd_err(-EBUSY, "it still holds extents of VD(s) %s; delete those VDs and "
				      "run 'xl-vd gc' first",
			      (const char *)sqlite3_column_text(owners, 0));
	r = prepare(db, "DELETE FROM pool_devices WHERE id = ?", &del);
	if (r < 0)
		return r;
	sqlite3_bind_int64(del, 1, id);
	return step_done(db, del, "removing the device");
}

int vd_db_device_shrink(struct vd_db *db, int64_t id, uint64_t extent_count)
{
	_cleanup_stmt_ sqlite3_stmt *owners = NULL, *del = NULL, *upd = NULL;
	int r = require_txn(db, "shrinking a device");

	if (r < 0)
		return r;
	r = prepare(db, "SELECT group_concat(DISTINCT vd_id) FROM extents "
			"WHERE device_id = ? AND ext_no >= ? AND vd_id IS NOT NULL", &owners);
	if (r < 0)
		return r;
	sqlite3_bind_int64(owners, 1, id);
	sqlite3_bind_int64(owners, 2, (int64_t)extent_count);
	if (sqlite3_step(owners) == SQLITE_ROW && sqlite3_column_type(owners, 0) != SQLITE_NULL)
		return vd_err(-EBUSY, "its last extents hold data of VD(s) %s",
			      (const char *)sqlite3_column_text(owners, 0));
	r = prepare(db, "DELETE FROM extents WHERE device_id = ? AND ext_no >= ?", &del);
	if (r < 0)
		return r;
	sqlite3_bind_int64(del, 1, id);
	sqlite3_bind_int64(del, 2, (int64_t)extent_count);
	r = step_done(db, del, "giving up a device's last extents");
	if (r < 0)
		return r;
	r = prepare(db, "UPDATE pool_devices SET extent_count = ? WHERE id = ?", &upd);
	if (r < 0)
		return r;
	sqlite3_bind_int64(upd, 1, (int64_t)extent_count);
	sqlite3_bind_int64(upd, 2, id);
	return step_done(db, upd, "shrinking a device");
}

int vd_db_copy_to_pool(struct vd_db *db, const char *locator_path)
{
	struct vd_db_vfs *v = NULL;
	sqlite3 *dest = NULL, *src = NULL;
	sqlite3_backup *b;
	uint8_t page[4096];
	int rc, r;

	if (db->vfs)
		return vd_err(-EINVAL, "the database is on the pool already");
	/* From a second, read-only connection: this one may hold the write lock (keeping every
	 * other writer out while the copy is made), and SQLite copies nothing from a connection
	 * in a write transaction. WAL readers see the last commit, WAL content included. */
	rc = sqlite3_open_v2(db->path, &src, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		r = vd_err(-EIO, "cannot open %s to copy it: %s", db->path,
			   src ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
		sqlite3_close(src);
		return r;
	}
	r = vd_db_vfs_attach(locator_path, false, &v);
	if (r < 0) {
		sqlite3_close(src);
		return r;
	}
	rc = sqlite3_open_v2(vd_db_vfs_filename(v), &dest, SQLITE_OPEN_READWRITE, VD_DB_VFS_NAME);
	if (rc == SQLITE_OK) {
		b = sqlite3_backup_init(dest, "main", src, "main");
		if (!b) {
			rc = sqlite3_errcode(dest);
		} else {
			rc = sqlite3_backup_step(b, -1);
			rc = sqlite3_backup_finish(b) == SQLITE_OK && rc == SQLITE_DONE
				     ? SQLITE_OK : (rc == SQLITE_DONE ? SQLITE_ERROR : rc);
		}
	}
	if (rc != SQLITE_OK) {
		r = vd_err(-EIO, "copying database %s onto the pool failed: %s", db->path,
			   dest ? sqlite3_errmsg(dest) : sqlite3_errstr(rc));
		sqlite3_close(dest);
		sqlite3_close(src);
		vd_db_vfs_detach(v);
		return r;
	}
	sqlite3_close(dest);
	sqlite3_close(src);
	/* The copy says WAL (bytes 18 and 19 of its header: file format versions) like its
	 * source; on the pool it keeps a rollback journal. */
	r = vd_mdarea_read(vd_db_vfs_area(v), VD_MD_DB, page, sizeof(page), 0);
	if (r == 0) {
		page[18] = page[19] = 1;
		r = vd_mdarea_write(vd_db_vfs_area(v), VD_MD_DB, page, sizeof(page), 0);
	}
	if (r == 0)
		r = vd_mdarea_sync(vd_db_vfs_area(v), VD_MD_DB);
	vd_db_vfs_detach(v);
	return r < 0 ? vd_err(r, "cannot finish the copy of %s onto the pool: %m", db->path) : 0;
}

/* ---- virtual disks ---- */

void vd_vdisk_dispose(struct vd_vdisk *v)
{
	if (!v)
		return;
	free(v->name);
	v->name = NULL;
}

#define VDISK_COLUMNS                                                                              \
	"v.id, v.name, v.size, v.extent_count, v.created, v.expires, v.state, v.needs_scrub, "    \
	"(SELECT count(*) FROM attachments a WHERE a.vd_id = v.id)"

static int vdisk_from_row(sqlite3_stmt *s, void *elem)
{
	struct vd_vdisk *v = elem;
	memset(v, 0, sizeof(*v));
	v->id = (uint32_t)sqlite3_column_int64(s, 0);
	if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
		v->name = strdup((const char *)sqlite3_column_text(s, 1));
		if (!v->name)
			return -ENOMEM;
	}
	v->size = (uint64_t)sqlite3_column_int64(s, 2);
	v->extent_count = (uint64_t)sqlite3_column_int64(s, 3);
	v->created = sqlite3_column_int64(s, 4);
	v->expires = sqlite3_column_type(s, 5) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 5);
	v->state = (enum vd_state)sqlite3_column_int(s, 6);
	v->needs_scrub = sqlite3_column_int(s, 7) != 0;
	v->attachments = (uint32_t)sqlite3_column_int(s, 8);
	return 0;
}

int vd_db_vdisk_insert(struct vd_db *db, const char *name, int64_t created, int64_t expires,
		       uint32_t *ret_id)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = require_txn(db, "creating a VD");

	if (r < 0)
		return r;
	r = prepare(db, "INSERT INTO vdisks (name, created, expires) VALUES (?, ?, ?)", &s);
	if (r < 0)
		return r;
	if (name)
		sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, created);
	if (expires)
		sqlite3_bind_int64(s, 3, expires);
	int rc = sqlite3_step(s);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return vd_err(-EEXIST, "a VD named '%s' already exists; choose another --name",
			      name ? name : "");
	if (rc != SQLITE_DONE)
		return sql_err(db, rc, "creating a VD");
	int64_t id = sqlite3_last_insert_rowid(db->sql);
	if (id > UINT32_MAX)
		return vd_err(-EOVERFLOW, "database %s has run out of VD ids", db->path);
	*ret_id = (uint32_t)id;
	return 0;
}

int vd_db_vdisk_get(struct vd_db *db, uint32_t id, struct vd_vdisk *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = prepare(db, "SELECT " VDISK_COLUMNS " FROM vdisks v WHERE v.id = ?", &s);

	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	r = read_row(db, s, vdisk_from_row, ret, "reading a VD");
	if (r == -ENOENT)
		return vd_err(-ENOENT, "VD %u does not exist; 'xl-vd list' shows the VDs", id);
	return r;
}

int vd_db_vdisk_get_by_name(struct vd_db *db, const char *name, struct vd_vdisk *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = prepare(db, "SELECT " VDISK_COLUMNS " FROM vdisks v WHERE v.name = ? "
			    "ORDER BY v.state = " SQL_VD_DELETED ", v.id DESC LIMIT 1", &s);

	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	r = read_row(db, s, vdisk_from_row, ret, "reading a VD");
	if (r == -ENOENT)
		return vd_err(-ENOENT, "no VD is named '%s'; 'xl-vd list' shows the VDs", name);
	return r;
}

int vd_db_vdisk_list(struct vd_db *db, bool include_deleted, struct vd_vdisk **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	r = prepare(db, include_deleted ? "SELECT " VDISK_COLUMNS " FROM vdisks v ORDER BY v.id"
					: "SELECT " VDISK_COLUMNS " FROM vdisks v "
					  "WHERE v.state != " SQL_VD_DELETED " "
					  "ORDER BY v.id", &s);
	if (r < 0)
		return r;
	return collect_rows(db, s, vdisk_from_row, vdisk_dispose, "listing VDs", ret, ret_n);
}

void vd_db_vdisk_list_free(struct vd_vdisk *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vd_vdisk_dispose(&list[i]);
	free(list);
}

int vd_db_vdisk_set_expiry(struct vd_db *db, uint32_t id, int64_t expires, enum vd_state state)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = require_txn(db, "changing an expiry");

	if (r < 0)
		return r;
	r = prepare(db, "UPDATE vdisks SET expires = ?, state = ? WHERE id = ?", &s);
	if (r < 0)
		return r;
	if (expires)
		sqlite3_bind_int64(s, 1, expires);
	sqlite3_bind_int(s, 2, (int)state);
	sqlite3_bind_int64(s, 3, id);
	return step_done(db, s, "changing an expiry");
}

static int set_needs_scrub(struct vd_db *db, uint32_t id, bool value)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = prepare(db, "UPDATE vdisks SET needs_scrub = ? WHERE id = ?", &s);

	if (r < 0)
		return r;
	sqlite3_bind_int(s, 1, value);
	sqlite3_bind_int64(s, 2, id);
	return step_done(db, s, "marking a VD");
}

int vd_db_vdisk_set_scrubbed(struct vd_db *db, uint32_t id)
{
	int r = require_txn(db, "marking a VD scrubbed");

	return r < 0 ? r : set_needs_scrub(db, id, false);
}

int vd_db_vdisk_set_size(struct vd_db *db, uint32_t id, uint64_t extent_count, uint64_t size)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = require_txn(db, "resizing a VD");

	if (r < 0)
		return r;
	r = prepare(db, "UPDATE vdisks SET extent_count = ?, size = ? WHERE id = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, (int64_t)extent_count);
	sqlite3_bind_int64(s, 2, (int64_t)size);
	sqlite3_bind_int64(s, 3, id);
	return step_done(db, s, "resizing a VD");
}

/* ---- extents ---- */

int vd_db_extents_free_each(struct vd_db *db, size_t max,
			    int (*fn)(const struct vd_extent *e, void *userdata), void *userdata)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	size_t n = 0;
	int rc = SQLITE_DONE, r;

	/* Clean extents first (no zeroing needed), then by device and position, so that runs of
	 * adjacent extents come out adjacent. */
	r = prepare(db, "SELECT device_id, ext_no, dirty FROM extents WHERE vd_id IS NULL "
			"ORDER BY dirty, device_id, ext_no", &s);
	if (r < 0)
		return r;
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct vd_extent e = {
			.device_id = sqlite3_column_int64(s, 0),
			.ext_no = (uint64_t)sqlite3_column_int64(s, 1),
			.dirty = sqlite3_column_int(s, 2) != 0,
		};

		n++;
		r = fn(&e, userdata);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (n < max && rc != SQLITE_DONE)
		return sql_err(db, rc, "finding free extents");
	return 0;
}

uint64_t vd_db_extents_free_count(struct vd_db *db)
{
	int64_t v = 0;

	if (query_int64(db, "SELECT count(*) FROM extents WHERE vd_id IS NULL", &v) < 0)
		return 0;
	return (uint64_t)v;
}

int vd_db_extents_assign(struct vd_db *db, uint32_t id, uint64_t first_index,
			 const struct vd_extent *ext, size_t n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = require_txn(db, "assigning extents");

	if (r < 0)
		return r;
	r = prepare(db, "UPDATE extents SET vd_id = ?1, vd_index = ?2, dirty = ?3 "
			"WHERE device_id = ?4 AND ext_no = ?5 AND vd_id IS NULL", &s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, (int64_t)(first_index + i));
		sqlite3_bind_int(s, 3, ext[i].dirty ? 1 : 0);
		sqlite3_bind_int64(s, 4, ext[i].device_id);
		sqlite3_bind_int64(s, 5, (int64_t)ext[i].ext_no);
		r = step_done(db, s, "assigning extents");
		if (r < 0)
			return r;
		if (sqlite3_changes(db->sql) != 1)
			return vd_err(-EBUSY, "extent %" PRIu64 " of pool device #%" PRId64
					      " was taken concurrently", ext[i].ext_no, ext[i].device_id);
	}
	bool any_dirty = false;
	for (size_t i = 0; i < n; i++)
		any_dirty |= ext[i].dirty;
	return any_dirty ? set_needs_scrub(db, id, true) : 0;
}

static int extent_from_row(sqlite3_stmt *s, void *elem)
{
	*(struct vd_extent *)elem = (struct vd_extent){
		.device_id = sqlite3_column_int64(s, 0),
		.ext_no = (uint64_t)sqlite3_column_int64(s, 1),
		.vd_index = (uint64_t)sqlite3_column_int64(s, 2),
		.dirty = sqlite3_column_int(s, 3) != 0,
	};
	return 0;
}

static int extents_query(struct vd_db *db, sqlite3_stmt *s, struct vd_extent **ret, size_t *ret_n)
{
	return collect_rows(db, s, extent_from_row, NULL, "reading extents", ret, ret_n);
}

int vd_db_extents_of(struct vd_db *db, uint32_t id, struct vd_extent **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = prepare(db, "SELECT device_id, ext_no, vd_index, dirty FROM extents "
			    "WHERE vd_id = ? ORDER BY vd_index", &s);

	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	return extents_query(db, s, ret, ret_n);
}

int vd_db_extents_release(struct vd_db *db, uint32_t id, uint64_t from_index)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = require_txn(db, "releasing extents");

	if (r < 0)
		return r;
	r = prepare(db, "UPDATE extents SET vd_id = NULL, vd_index = NULL, dirty = 1 "
			"WHERE vd_id = ? AND vd_index >= ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (int64_t)from_index);
	return step_done(db, s, "releasing extents");
}

int vd_db_extent_state(struct vd_db *db, int64_t device_id, uint64_t ext_no, uint32_t *ret_owner,
		       bool *ret_dirty)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = prepare(db, "SELECT ifnull(vd_id, 0), dirty FROM extents "
			    "WHERE device_id = ? AND ext_no = ?", &s);

	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, device_id);
	sqlite3_bind_int64(s, 2, (int64_t)ext_no);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return sql_err(db, rc, "reading an extent");
	*ret_owner = (uint32_t)sqlite3_column_int64(s, 0);
	*ret_dirty = sqlite3_column_int(s, 1) != 0;
	return 0;
}

int vd_db_extent_set_clean(struct vd_db *db, int64_t device_id, uint64_t ext_no)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = require_txn(db, "marking an extent clean");

	if (r < 0)
		return r;
	r = prepare(db, "UPDATE extents SET dirty = 0 WHERE device_id = ? AND ext_no = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, device_id);
	sqlite3_bind_int64(s, 2, (int64_t)ext_no);
	return step_done(db, s, "marking an extent clean");
}

int vd_db_extents_dirty_free(struct vd_db *db, size_t max, struct vd_extent **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = prepare(db, "SELECT device_id, ext_no, 0, dirty FROM extents "
			    "WHERE vd_id IS NULL AND dirty = 1 ORDER BY dirty, device_id, ext_no "
			    "LIMIT ?", &s);

	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, (int64_t)max);
	return extents_query(db, s, ret, ret_n);
}

/* ---- attachments ---- */

void vd_attachment_dispose(struct vd_attachment *a)
{
	if (!a)
		return;
	free(a->backend_path);
	free(a->vdev);
	free(a->dm_name);
	free(a->vm_uuid);
	a->backend_path = a->vdev = a->dm_name = a->vm_uuid = NULL;
}

void vd_db_set_host_id(struct vd_db *db, uint32_t host_id)
{
	db->host_id = host_id;
}

uint32_t vd_db_host_id(const struct vd_db *db)
{
	return db->host_id;
}

const struct vd_sanlock_area *vd_db_lease_area(const struct vd_db *db)
{
	return db && db->vfs ? vd_db_vfs_lease(db->vfs) : NULL;
}

int vd_db_attachment_add(struct vd_db *db, const struct vd_attachment *a)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = require_txn(db, "recording an attachment");

	if (r < 0)
		return r;
	r = prepare(db, "INSERT INTO attachments (host_id, backend_path, vd_id, domid, devid, mode, "
			"vdev, dm_name, since, vm_uuid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, db->host_id);
	sqlite3_bind_text(s, 2, a->backend_path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, a->vd_id);
	sqlite3_bind_int64(s, 4, a->domid);
	sqlite3_bind_int64(s, 5, a->devid);
	sqlite3_bind_text(s, 6, a->mode, -1, SQLITE_TRANSIENT);
	if (a->vdev)
		sqlite3_bind_text(s, 7, a->vdev, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 8, a->dm_name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 9, a->since);
	if (a->vm_uuid && *a->vm_uuid)
		sqlite3_bind_text(s, 10, a->vm_uuid, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return vd_err(-EEXIST, "backend %s already has an attachment recorded",
			      a->backend_path);
	return rc == SQLITE_DONE ? 0 : sql_err(db, rc, "recording an attachment");
}

int vd_db_attachment_remove_host(struct vd_db *db, uint32_t host_id, const char *backend_path)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = require_txn(db, "removing an attachment");

	if (r < 0)
		return r;
	r = prepare(db, "DELETE FROM attachments WHERE host_id = ? AND backend_path = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, host_id);
	sqlite3_bind_text(s, 2, backend_path, -1, SQLITE_TRANSIENT);
	r = step_done(db, s, "removing an attachment");
	if (r < 0)
		return r;
	return sqlite3_changes(db->sql) ? 0 : -ENOENT;
}

int vd_db_attachment_remove(struct vd_db *db, const char *backend_path)
{
	return vd_db_attachment_remove_host(db, db->host_id, backend_path);
}

#define ATTACHMENT_COLUMNS                                                                     \
	"backend_path, vd_id, domid, devid, mode, vdev, dm_name, since, vm_uuid, host_id"

static int attachment_from_row(sqlite3_stmt *s, void *elem)
{
	struct vd_attachment *a = elem;
	memset(a, 0, sizeof(*a));
	a->backend_path = strdup((const char *)sqlite3_column_text(s, 0));
	a->vd_id = (uint32_t)sqlite3_column_int64(s, 1);
	a->domid = (uint32_t)sqlite3_column_int64(s, 2);
	a->devid = (uint32_t)sqlite3_column_int64(s, 3);
	snprintf(a->mode, sizeof(a->mode), "%s", (const char *)sqlite3_column_text(s, 4));
	if (sqlite3_column_type(s, 5) != SQLITE_NULL)
		a->vdev = strdup((const char *)sqlite3_column_text(s, 5));
	a->dm_name = strdup((const char *)sqlite3_column_text(s, 6));
	a->since = sqlite3_column_int64(s, 7);
	a->host_id = (uint32_t)sqlite3_column_int64(s, 9);
	bool has_vm = sqlite3_column_type(s, 8) != SQLITE_NULL;

	if (has_vm)
		a->vm_uuid = strdup((const char *)sqlite3_column_text(s, 8));
	if (!a->backend_path || !a->dm_name || (has_vm && !a->vm_uuid)) {
		vd_attachment_dispose(a);
		return -ENOMEM;
	}
	return 0;
}

int vd_db_attachment_get(struct vd_db *db, const char *backend_path, struct vd_attachment *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = prepare(db, "SELECT " ATTACHMENT_COLUMNS " FROM attachments "
			    "WHERE host_id = ? AND backend_path = ?", &s);

	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, db->host_id);
	sqlite3_bind_text(s, 2, backend_path, -1, SQLITE_TRANSIENT);
	return read_row(db, s, attachment_from_row, ret, "reading an attachment");
}

/* host_id < 0: every host's. */
static int attachment_list(struct vd_db *db, uint32_t vd_id, int64_t host_id,
			   struct vd_attachment **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	r = prepare(db, "SELECT " ATTACHMENT_COLUMNS " FROM attachments "
			"WHERE (?1 = 0 OR vd_id = ?1) AND (?2 < 0 OR host_id = ?2) "
			"ORDER BY vd_id, host_id, since, backend_path", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, vd_id);
	sqlite3_bind_int64(s, 2, host_id);
	return collect_rows(db, s, attachment_from_row, attachment_dispose, "listing attachments",
			    ret, ret_n);
}

int vd_db_attachment_list(struct vd_db *db, uint32_t vd_id, struct vd_attachment **ret,
			  size_t *ret_n)
{
	return attachment_list(db, vd_id, db->host_id, ret, ret_n);
}

int vd_db_attachment_list_all(struct vd_db *db, uint32_t vd_id, struct vd_attachment **ret,
			      size_t *ret_n)
{
	return attachment_list(db, vd_id, -1, ret, ret_n);
}

void vd_db_attachment_list_free(struct vd_attachment *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vd_attachment_dispose(&list[i]);
	free(list);
}

/* ---- consistency ---- */

struct report {
	char *text;
	size_t len;
	unsigned problems;
};

static void _printf_(2, 3) report_add(struct report *rep, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	char *grown = realloc(rep->text, rep->len + (size_t)n + 2);
	if (!grown)
		return;
	rep->text = grown;
	memcpy(rep->text + rep->len, line, (size_t)n);
	rep->len += (size_t)n;
	rep->text[rep->len++] = '\n';
	rep->text[rep->len] = '\0';
	rep->problems++;
}

/* Each query returns one row per violation, its first column a description. */
static const struct {
	const char *sql;
} invariants[] = {
	{ "SELECT 'pool devices have different extent sizes (' || "
	  "group_concat(DISTINCT extent_size) || '); a pool has one' FROM pool_devices "
	  "HAVING count(DISTINCT extent_size) > 1" },
	{ "SELECT 'extent ' || e.ext_no || ' of pool device #' || e.device_id || "
	  "' lies beyond the device''s ' || d.extent_count || ' extents' "
	  "FROM extents e JOIN pool_devices d ON d.id = e.device_id "
	  "WHERE e.ext_no < 0 OR e.ext_no >= d.extent_count" },
	{ "SELECT 'pool device #' || d.id || ' has ' || "
	  "(SELECT count(*) FROM extents e WHERE e.device_id = d.id) || ' extent rows, expected ' "
	  "|| d.extent_count FROM pool_devices d "
	  "WHERE (SELECT count(*) FROM extents e WHERE e.device_id = d.id) != d.extent_count" },
	{ "SELECT 'extent ' || e.ext_no || ' of pool device #' || e.device_id || "
	  "' is owned by VD ' || e.vd_id || ', which does not exist or was deleted' "
	  "FROM extents e LEFT JOIN vdisks v ON v.id = e.vd_id "
	  "WHERE e.vd_id IS NOT NULL AND (v.id IS NULL OR v.state = " SQL_VD_DELETED ")" },
	{ "SELECT 'VD ' || v.id || ' owns ' || count(e.ext_no) || ' extents (indexes ' || "
	  "ifnull(min(e.vd_index), '-') || '..' || ifnull(max(e.vd_index), '-') || "
	  "'), expected ' || v.extent_count FROM vdisks v "
	  "LEFT JOIN extents e ON e.vd_id = v.id WHERE v.state != " SQL_VD_DELETED " GROUP BY v.id "
	  "HAVING count(e.ext_no) != v.extent_count OR "
	  "(count(e.ext_no) > 0 AND (min(e.vd_index) != 0 OR max(e.vd_index) != v.extent_count - 1))" },
	{ "SELECT 'VD ' || v.id || ' size ' || v.size || ' does not match its ' || "
	  "v.extent_count || ' extents' FROM vdisks v "
	  "WHERE v.state != " SQL_VD_DELETED " AND v.size != "
	  "(SELECT ifnull(sum(d.extent_size), 0) FROM extents e JOIN pool_devices d "
	  "ON d.id = e.device_id WHERE e.vd_id = v.id)" },
	{ "SELECT 'VD ' || v.id || ' is marked scrubbed but extent ' || e.ext_no || "
	  "' of pool device #' || e.device_id || ' still holds another tenant''s data' "
	  "FROM vdisks v JOIN extents e ON e.vd_id = v.id WHERE v.needs_scrub = 0 AND e.dirty = 1" },
	{ "SELECT 'attachment ' || a.backend_path || ' refers to VD ' || a.vd_id || "
	  "', which does not exist or was deleted' FROM attachments a "
	  "LEFT JOIN vdisks v ON v.id = a.vd_id WHERE v.id IS NULL OR v.state = " SQL_VD_DELETED },
	{ "SELECT 'pool devices #' || a.id || ' and #' || b.id || ' differ in extent size' "
	  "FROM pool_devices a JOIN pool_devices b ON a.id < b.id "
	  "WHERE a.extent_size != b.extent_size" },
};

int vd_db_check(struct vd_db *db, char **ret_report, unsigned *ret_problems)
{
	struct report rep = { 0 };
	int r;

	{
		_cleanup_stmt_ sqlite3_stmt *s = NULL;
		r = prepare(db, "PRAGMA quick_check", &s);
		if (r < 0)
			return r;
		while (sqlite3_step(s) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(s, 0);

			if (t && strcmp(t, "ok") != 0)
				report_add(&rep, "database: %s", t);
		}
	}
	{
		_cleanup_stmt_ sqlite3_stmt *s = NULL;
		r = prepare(db, "PRAGMA foreign_key_check", &s);
		if (r < 0)
			goto fail;
		while (sqlite3_step(s) == SQLITE_ROW)
			report_add(&rep, "database: table %s row %lld refers to a missing %s row",
				   (const char *)sqlite3_column_text(s, 0),
				   (long long)sqlite3_column_int64(s, 1),
				   (const char *)sqlite3_column_text(s, 2));
	}
	if (db->vfs && vd_mdarea_copies(vd_db_vfs_area(db->vfs)) < vd_db_vfs_copies_named(db->vfs))
		report_add(&rep, "database: only %zu of the %zu copies of the pool's metadata area "
			   "serve (%s; the warnings above say why the other was left out)",
			   vd_mdarea_copies(vd_db_vfs_area(db->vfs)), vd_db_vfs_copies_named(db->vfs),
			   vd_mdarea_describe(vd_db_vfs_area(db->vfs)));
	for (size_t i = 0; i < ARRAY_SIZE(invariants); i++) {
		_cleanup_stmt_ sqlite3_stmt *s = NULL;
		int rc;

		r = prepare(db, invariants[i].sql, &s);
		if (r < 0)
			goto fail;
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			report_add(&rep, "%s", (const char *)sqlite3_column_text(s, 0));
		if (rc != SQLITE_DONE) {
			r = sql_err(db, rc, "checking invariants");
			goto fail;
		}
	}
	*ret_report = rep.text;
	*ret_problems = rep.problems;
	return 0;
fail:
	free(rep.text);
	return r;
}
