/* The allocator and VD lifecycle on a real SQLite file and real file-backed pool devices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool/db.h"
#include "base/error.h"
#include "pool/label.h"
#include "pool/lock.h"
#include "pool/pool.h"
#include "pool/vdisk.h"
#include "pool_fixture.h"

#define ES (64 * 1024) /* extent size used by these tests */

struct fixture {
	char dir[64];
	char db_path[128];
	char dev_path[2][128];
	struct vd_db *db;
};

static void make_file(const char *path, uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

/* A pool of one device with n extents. */
static int setup_n(void **state, uint64_t n)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vd_format_opts fo = { .extent_size = ES };

	snprintf(f->dir, sizeof(f->dir), "/tmp/xenvd-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db_path, sizeof(f->db_path), "%s/db/xenvd.db", f->dir);
	for (int i = 0; i < 2; i++)
		snprintf(f->dev_path[i], sizeof(f->dev_path[i]), "%s/pool%d.img", f->dir, i);
	make_file(f->dev_path[0], VD_DATA_OFFSET + n * ES);
	assert_int_equal(fixture_new_pool(f->db_path, f->dev_path[0], &fo, &f->db), 0);
	unsetenv("XENVD_NOW");
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_n(state, 8);
}

/* A pool of one --no-scrub device with 8 extents. */
static int setup_no_scrub(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vd_format_opts fo = { .extent_size = ES, .no_scrub = true };

	snprintf(f->dir, sizeof(f->dir), "/tmp/xenvd-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db_path, sizeof(f->db_path), "%s/db/xenvd.db", f->dir);
	for (int i = 0; i < 2; i++)
		snprintf(f->dev_path[i], sizeof(f->dev_path[i]), "%s/pool%d.img", f->dir, i);
	make_file(f->dev_path[0], VD_DATA_OFFSET + 8 * ES);
	assert_int_equal(vd_db_open(f->db_path, VD_DB_CREATE, &f->db), 0);
	assert_int_equal(vd_pool_format(f->db, f->dev_path[0], &fo, NULL), 0);
	unsetenv("XENVD_NOW");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[256];

	vd_db_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	unsetenv("XENVD_NOW");
	free(f);
	return 0;
}

static uint32_t create(struct fixture *f, uint64_t extents, int64_t expire)
{
	struct vd_create_opts co = { .size = extents * ES, .expire_seconds = expire };
	struct vd_vdisk v = { 0 };
	int r = vd_vdisk_create(f->db, &co, NULL, NULL, &v);

	if (r < 0)
		fail_msg("create failed: %s", vd_errmsg());
	vd_vdisk_dispose(&v);
	return v.id;
}

/* The device extent numbers of a VD, in VD order, as a string "2,3,4". */
static void extents_of(struct fixture *f, uint32_t id, char *buf, size_t len)
{
	struct vd_extent *ext = NULL;
	size_t n = 0, used = 0;

	assert_int_equal(vd_db_extents_of(f->db, id, &ext, &n), 0);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%llu", i ? "," : "",
					 (unsigned long long)ext[i].ext_no);
	free(ext);
}

static void assert_consistent(struct fixture *f)
{
	char *report = NULL;
	unsigned problems = 0;

	assert_int_equal(vd_db_check(f->db, &report, &problems), 0);
	if (problems)
		fail_msg("check: %s", report);
	free(report);
}

static void set_now(int64_t t)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)t);
	setenv("XENVD_NOW", buf, 1);
}

static void test_create_rounds_up_to_whole_extents(void **state)
{
	struct fixture *f = *state;
	struct vd_create_opts co = { .size = ES + 1 };
	struct vd_vdisk v = { 0 };

	assert_int_equal(vd_vdisk_create(f->db, &co, NULL, NULL, &v), 0);
	assert_int_equal(v.size, 2 * ES);
	assert_int_equal(v.extent_count, 2);
	vd_vdisk_dispose(&v);
	assert_consistent(f);
}

static void test_create_prefers_a_contiguous_run_over_an_earlier_hole(void **state)
{
	struct fixture *f = *state;
	char map[64];

	create(f, 2, 0);		   /* 0,1 */
	uint32_t b = create(f, 2, 0);	   /* 2,3 */
	create(f, 1, 0);		   /* 4 */
	assert_int_equal(vd_vdisk_delete(f->db, b, false), 0);
	assert_int_equal(vd_vdisk_gc(f->db, NULL, NULL, NULL), 0); /* hole at 2,3 */
	uint32_t d = create(f, 3, 0);
	extents_of(f, d, map, sizeof(map));
	assert_string_equal(map, "5,6,7");
	uint32_t e = create(f, 2, 0);
	extents_of(f, e, map, sizeof(map));
	assert_string_equal(map, "2,3");
	assert_consistent(f);
}

static void test_create_takes_clean_extents_before_expired_ones(void **state)
{
	struct fixture *f = *state;
	char map[64];

	uint32_t a = create(f, 2, 0);
	assert_int_equal(vd_vdisk_delete(f->db, a, false), 0); /* expired, not reclaimed */
	uint32_t b = create(f, 2, 0);
	extents_of(f, b, map, sizeof(map));
	assert_string_equal(map, "2,3");
	/* A stays intact until its space is needed. */
	extents_of(f, a, map, sizeof(map));
	assert_string_equal(map, "0,1");
	assert_consistent(f);
}

static void test_create_reclaims_the_oldest_expired_vd_first(void **state)
{
	struct fixture *f = *state;
	struct vd_vdisk va = { 0 }, vb = { 0 };
	char map[64];

	set_now(1000);
	uint32_t a = create(f, 2, 500); /* expires at 1500 */
	uint32_t b = create(f, 2, 100); /* expires at 1100: older */
	create(f, 4, 0);		/* pool full */
	set_now(2000);
	uint32_t c = create(f, 2, 0);
	extents_of(f, c, map, sizeof(map));
	assert_string_equal(map, "2,3"); /* b's */
	assert_int_equal(vd_db_vdisk_get(f->db, b, &vb), 0);
	assert_int_equal(vb.state, VD_DELETED);
	assert_int_equal(vd_db_vdisk_get(f->db, a, &va), 0);
	assert_int_equal(vd_vdisk_effective_state(&va, 2000), VD_EXPIRED);
	vd_vdisk_dispose(&va);
	vd_vdisk_dispose(&vb);
	assert_consistent(f);
}

static void test_create_never_takes_extents_of_attached_vd(void **state)
{
	struct fixture *f = *state;
	struct vd_create_opts co = { .size = 2 * ES };
	struct vd_attachment att = {
		.backend_path = "/local/domain/0/backend/vbd/5/51712",
		.domid = 5,
		.devid = 51712,
		.mode = "w",
		.dm_name = "vd-1",
	};
	struct vd_vdisk v = { 0 };

	set_now(1000);
	att.vd_id = create(f, 2, 10);
	create(f, 6, 0);
	assert_int_equal(vd_db_begin(f->db), 0);
	assert_int_equal(vd_db_attachment_add(f->db, &att), 0);
	assert_int_equal(vd_db_commit(f->db), 0);
	set_now(5000); /* att.vd_id has expired, but it is attached */
	assert_int_equal(vd_vdisk_create(f->db, &co, NULL, NULL, &v), -ENOSPC);
	assert_non_null(strstr(vd_errmsg(), "0B free"));
	assert_int_equal(vd_vdisk_gc(f->db, NULL, NULL, NULL), 0);
	assert_int_equal(vd_db_vdisk_get(f->db, att.vd_id, &v), 0);
	assert_int_not_equal(v.state, VD_DELETED);
	vd_vdisk_dispose(&v);
	assert_consistent(f);
}

static void test_not_enough_space_says_how_much_is_free_and_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct vd_create_opts co = { .size = 7 * ES };
	struct vd_vdisk *list = NULL;
	size_t n = 0;

	create(f, 2, 0);
	assert_int_equal(vd_vdisk_create(f->db, &co, NULL, NULL, NULL), -ENOSPC);
	assert_non_null(strstr(vd_errmsg(), "384.0K free"));
	assert_int_equal(vd_db_vdisk_list(f->db, true, &list, &n), 0);
	assert_int_equal(n, 1);
	vd_db_vdisk_list_free(list, n);
	assert_int_equal(vd_db_extents_free_count(f->db), 6);
	assert_consistent(f);
}

/* Writes a pattern into every extent of VD id through the pool file. */
static void fill_vd(struct fixture *f, uint32_t id, uint8_t pattern)
{
	struct vd_run *segs = NULL;
	size_t n = 0;
	uint8_t buf[ES];

	memset(buf, pattern, sizeof(buf));
	assert_int_equal(vd_vdisk_runs(f->db, id, O_RDWR, &segs, &n), 0);
	for (size_t i = 0; i < n; i++)
		for (uint64_t off = 0; off < segs[i].length; off += ES)
			assert_int_equal(vd_pwrite_all(segs[i].fd, buf, ES,
							segs[i].dev_offset + off), 0);
	vd_vdisk_runs_free(segs, n);
}

static bool vd_reads_zero(struct fixture *f, uint32_t id)
{
	struct vd_run *segs = NULL;
	size_t n = 0;
	uint8_t buf[ES];
	bool zero = true;

	assert_int_equal(vd_vdisk_runs(f->db, id, O_RDONLY, &segs, &n), 0);
	for (size_t i = 0; i < n; i++)
		for (uint64_t off = 0; off < segs[i].length; off += ES) {
			assert_int_equal(vd_pread_all(segs[i].fd, buf, ES, segs[i].dev_offset + off),
					 0);
			for (size_t k = 0; k < ES; k++)
				zero &= buf[k] == 0;
		}
	vd_vdisk_runs_free(segs, n);
	return zero;
}

static void test_reused_extents_are_zeroed_before_the_new_vd_is_handed_out(void **state)
{
	struct fixture *f = *state;

	uint32_t a = create(f, 8, 0);
	fill_vd(f, a, 0xa5);
	assert_int_equal(vd_vdisk_delete(f->db, a, false), 0);
	uint32_t b = create(f, 8, 0); /* reclaims a's extents: all of them dirty */
	assert_true(vd_reads_zero(f, b));
	assert_consistent(f);
}

static void test_gc_zeroes_free_extents_ahead_of_time(void **state)
{
	struct fixture *f = *state;
	struct vd_vdisk_gc_result res;
	struct vd_extent *dirty = NULL;
	size_t n = 0;

	uint32_t a = create(f, 3, 0);
	fill_vd(f, a, 0x5a);
	assert_int_equal(vd_vdisk_delete(f->db, a, false), 0);
	assert_int_equal(vd_vdisk_gc(f->db, NULL, NULL, &res), 0);
	assert_int_equal(res.reclaimed_vdisks, 1);
	assert_int_equal(res.scrubbed_extents, 3);
	assert_int_equal(vd_db_extents_dirty_free(f->db, 100, &dirty, &n), 0);
	assert_int_equal(n, 0);
	free(dirty);
	uint32_t b = create(f, 8, 0);
	assert_true(vd_reads_zero(f, b));
}

static void test_refresh_revives_an_expired_but_unreclaimed_vd(void **state)
{
	struct fixture *f = *state;
	struct vd_vdisk v = { 0 };

	set_now(1000);
	uint32_t a = create(f, 1, 10);
	set_now(2000);
	assert_int_equal(vd_vdisk_refresh(f->db, a, 3600), 0);
	assert_int_equal(vd_db_vdisk_get(f->db, a, &v), 0);
	assert_int_equal(vd_vdisk_effective_state(&v, 2000), VD_LIVE);
	assert_int_equal(v.expires, 5600);
	vd_vdisk_dispose(&v);
	assert_int_equal(vd_vdisk_refresh(f->db, a, 0), 0);
	assert_int_equal(vd_db_vdisk_get(f->db, a, &v), 0);
	assert_int_equal(v.expires, 0);
	vd_vdisk_dispose(&v);
}

static void test_resize_grows_and_shrinks_only_with_force(void **state)
{
	struct fixture *f = *state;
	struct vd_vdisk v = { 0 };

	uint32_t a = create(f, 2, 0);
	assert_int_equal(vd_vdisk_resize(f->db, a, 5 * ES, false, NULL, NULL, &v), 0);
	assert_int_equal(v.extent_count, 5);
	vd_vdisk_dispose(&v);
	assert_int_equal(vd_vdisk_resize(f->db, a, 1 * ES, false, NULL, NULL, &v), -EPERM);
	assert_int_equal(vd_vdisk_resize(f->db, a, 1 * ES, true, NULL, NULL, &v), 0);
	assert_int_equal(v.extent_count, 1);
	vd_vdisk_dispose(&v);
	assert_int_equal(vd_db_extents_free_count(f->db), 7);
	assert_consistent(f);
}

static void test_expired_vd_cannot_be_resized(void **state)
{
	struct fixture *f = *state;

	set_now(1000);
	uint32_t a = create(f, 1, 10);
	set_now(2000);
	assert_int_equal(vd_vdisk_resize(f->db, a, 2 * ES, false, NULL, NULL, NULL), -ESTALE);
	assert_non_null(strstr(vd_errmsg(), "xl-vd refresh"));
}

static void test_swapped_device_is_refused_with_its_uuid(void **state)
{
	struct fixture *f = *state;
	struct vd_format_opts fo = { .extent_size = ES };
	struct vd_run *segs = NULL;
	size_t n = 0;
	char tmp[160];

	make_file(f->dev_path[1], VD_DATA_OFFSET + 8 * ES);
	assert_int_equal(vd_pool_format(f->db, f->dev_path[1], &fo, NULL), 0);
	uint32_t a = create(f, 2, 0);
	/* The two disks trade places. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->dev_path[0]);
	assert_int_equal(rename(f->dev_path[0], tmp), 0);
	assert_int_equal(rename(f->dev_path[1], f->dev_path[0]), 0);
	assert_int_equal(rename(tmp, f->dev_path[1]), 0);
	assert_int_equal(vd_vdisk_runs(f->db, a, O_RDONLY, &segs, &n), -ENXIO);
	assert_non_null(strstr(vd_errmsg(), "swapped or renamed"));
}

static void test_format_refuses_a_device_with_a_filesystem_unless_forced(void **state)
{
	struct fixture *f = *state;
	struct vd_format_opts fo = { .extent_size = ES };
	char cmd[256];

	make_file(f->dev_path[1], 8 << 20);
	snprintf(cmd, sizeof(cmd), "mke2fs -q -F -t ext4 %s >/dev/null 2>&1", f->dev_path[1]);
	if (system(cmd) != 0)
		skip();
	assert_int_equal(vd_pool_format(f->db, f->dev_path[1], &fo, NULL), -EEXIST);
	assert_non_null(strstr(vd_errmsg(), "ext4"));
	fo.force = true;
	assert_int_equal(vd_pool_format(f->db, f->dev_path[1], &fo, NULL), 0);
}

static void test_format_refuses_another_extent_size_in_the_same_pool(void **state)
{
	struct fixture *f = *state;
	struct vd_format_opts fo = { .extent_size = 2 * ES };

	make_file(f->dev_path[1], VD_DATA_OFFSET + 8 * ES);
	assert_int_equal(vd_pool_format(f->db, f->dev_path[1], &fo, NULL), -EINVAL);
	assert_non_null(strstr(vd_errmsg(), "--extent-size"));
}

static void test_newer_schema_is_refused(void **state)
{
	struct fixture *f = *state;
	struct vd_db *db = NULL;
	char pragma[64];
	sqlite3 *raw;

	vd_db_close(f->db);
	f->db = NULL;
	assert_int_equal(fixture_raw_open(f->db_path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL), 0);
	fixture_raw_close(raw);
	assert_int_equal(vd_db_open(f->db_path, 0, &db), -EPROTONOSUPPORT);
	assert_non_null(strstr(vd_errmsg(), "schema version 99"));
	/* Put it back so teardown's database is usable. */
	assert_int_equal(fixture_raw_open(f->db_path, &raw), SQLITE_OK);
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", VD_DB_SCHEMA_VERSION);
	sqlite3_exec(raw, pragma, NULL, NULL, NULL);
	fixture_raw_close(raw);
	assert_int_equal(vd_db_open(f->db_path, 0, &f->db), 0);
}

static void test_check_reports_an_extent_with_two_views_of_ownership(void **state)
{
	struct fixture *f = *state;
	char *report = NULL;
	unsigned problems = 0;
	sqlite3 *raw;

	uint32_t a = create(f, 2, 0);
	assert_int_equal(fixture_raw_open(f->db_path, &raw), SQLITE_OK);
	/* Corrupt behind the library's back: VD a loses an extent. */
	assert_int_equal(sqlite3_exec(raw, "UPDATE extents SET vd_id = NULL, vd_index = NULL "
					   "WHERE vd_index = 1", NULL, NULL, NULL), 0);
	fixture_raw_close(raw);
	assert_int_equal(vd_db_check(f->db, &report, &problems), 0);
	assert_true(problems >= 1);
	char expect[64];
	snprintf(expect, sizeof(expect), "VD %u owns 1 extents", a);
	assert_non_null(strstr(report, expect));
	free(report);
}

static void test_reclaim_skips_an_expired_vd_whose_lock_is_held(void **state)
{
	struct fixture *f = *state;
	struct vd_vdisk vb = { 0 };
	int lock_fd = -1;
	char map[64];

	set_now(1000);
	uint32_t a = create(f, 2, 500); /* expires at 1500 */
	uint32_t b = create(f, 2, 100); /* expires at 1100: older, would go first */
	create(f, 4, 0);		/* pool full */
	set_now(2000);
	/* someone (an attach in progress, a resize) holds b's lock: b must be left alone */
	assert_int_equal(vd_lock_vdisk(vd_db_path(f->db), b, 0, &lock_fd), 0);
	uint32_t c = create(f, 2, 0);
	extents_of(f, c, map, sizeof(map));
	assert_string_equal(map, "0,1"); /* a's, not b's */
	assert_int_equal(vd_db_vdisk_get(f->db, b, &vb), 0);
	assert_int_not_equal(vb.state, VD_DELETED);
	vd_vdisk_dispose(&vb);
	close(lock_fd);
	(void)a;
	assert_consistent(f);
}

static void test_format_restores_the_first_4k_when_the_database_step_fails(void **state)
{
	struct fixture *f = *state;
	struct vd_format_opts fo = { .extent_size = ES };
	struct vd_pool_device *list = NULL;
	uint8_t before[VD_LABEL_SIZE], after[VD_LABEL_SIZE];
	sqlite3 *sql = NULL;
	size_t n = 0;
	int fd;

	make_file(f->dev_path[1], VD_DATA_OFFSET + 4 * ES);
	for (size_t i = 0; i < sizeof(before); i++)
		before[i] = (uint8_t)(i * 7 + 3); /* someone's data, no known signature */
	fd = open(f->dev_path[1], O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, before, sizeof(before), 0), (ssize_t)sizeof(before));
	close(fd);
	/* the database refuses the new device row */
	assert_int_equal(fixture_raw_open(f->db_path, &sql), SQLITE_OK);
	assert_int_equal(sqlite3_exec(sql, "CREATE TRIGGER refuse BEFORE INSERT ON pool_devices "
					   "BEGIN SELECT RAISE(ABORT, 'injected'); END",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_true(vd_pool_format(f->db, f->dev_path[1], &fo, NULL) < 0);
	fd = open(f->dev_path[1], O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, after, sizeof(after), 0), (ssize_t)sizeof(after));
	close(fd);
	assert_memory_equal(before, after, sizeof(before)); /* no label left behind */
	assert_int_equal(vd_db_device_list(f->db, &list, &n), 0);
	assert_int_equal(n, 1);
	vd_db_device_list_free(list, n);
	/* once the database takes it, the same format works */
	assert_int_equal(sqlite3_exec(sql, "DROP TRIGGER refuse", NULL, NULL, NULL), SQLITE_OK);
	fixture_raw_close(sql);
	assert_int_equal(vd_pool_format(f->db, f->dev_path[1], &fo, NULL), 0);
	assert_consistent(f);
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

static void raw_sql(struct fixture *f, const char *sql)
{
	sqlite3 *raw;

	assert_int_equal(fixture_raw_open(f->db_path, &raw), SQLITE_OK);
	if (sqlite3_exec(raw, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(raw));
	fixture_raw_close(raw);
}

/* format of a large device writes megabytes of WAL; left there, every later process re-read it */
static void test_a_large_commit_leaves_no_large_wal(void **state)
{
	struct fixture *f = *state;

	if (fixture_onpool())
		skip(); /* the file database's WAL: an on-pool database keeps a rollback journal */
	struct vd_format_opts fo = { .extent_size = ES };
	char wal[160];

	snprintf(wal, sizeof(wal), "%s-wal", f->db_path);
	make_file(f->dev_path[1], VD_DATA_OFFSET + 200000ULL * ES); /* ~5 MB of WAL */
	assert_int_equal(vd_pool_format(f->db, f->dev_path[1], &fo, NULL), 0);
	assert_true(file_size(wal) < 1024 * 1024);
	vd_db_close(f->db);
	f->db = NULL;
	assert_true(file_size(wal) < 1024 * 1024);
	assert_int_equal(vd_db_open(f->db_path, 0, &f->db), 0);
	create(f, 2, 0);
	assert_consistent(f);
}

static void test_open_truncates_a_large_wal_left_behind(void **state)
{
	struct fixture *f = *state;

	if (fixture_onpool())
		skip(); /* the file database's WAL: an on-pool database keeps a rollback journal */
	char wal[160];
	sqlite3 *raw;
	int persist = 1;

	vd_db_close(f->db);
	f->db = NULL;
	snprintf(wal, sizeof(wal), "%s-wal", f->db_path);
	/* what an older xenvd left: a big transaction, then a close that kept the WAL */
	assert_int_equal(sqlite3_open(f->db_path, &raw), SQLITE_OK);
	sqlite3_file_control(raw, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	sqlite3_db_config(raw, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_wal_autocheckpoint(raw, 0);
	assert_int_equal(sqlite3_exec(raw, "CREATE TABLE ballast (b BLOB); WITH RECURSIVE n(i) AS "
					   "(SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
					   "INSERT INTO ballast SELECT zeroblob(1000) FROM n",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_true(file_size(wal) > 1024 * 1024);
	assert_int_equal(vd_db_open(f->db_path, 0, &f->db), 0);
	assert_true(file_size(wal) < 1024 * 1024);
	assert_consistent(f);
}

static void test_an_empty_database_file_is_refused_not_made_a_new_pool(void **state)
{
	struct fixture *f = *state;
	struct vd_db *db = NULL;
	char path[160];

	snprintf(path, sizeof(path), "%s/db/empty.db", f->dir);
	make_file(path, 0);
	assert_int_equal(vd_db_open(path, 0, &db), -ENOMEDIUM);
	assert_non_null(strstr(vd_errmsg(), path));
	assert_non_null(strstr(vd_errmsg(), "xl-vd format"));
	assert_int_equal(file_size(path), 0);
	assert_int_equal(vd_db_open(path, VD_DB_READONLY, &db), -ENOMEDIUM);
	/* format may */
	assert_int_equal(vd_db_open(path, VD_DB_CREATE, &db), 0);
	vd_db_close(db);
}

static void test_a_database_without_schema_is_refused(void **state)
{
	struct fixture *f = *state;
	struct vd_db *db = NULL;
	char path[160];
	sqlite3 *raw;

	snprintf(path, sizeof(path), "%s/db/other.db", f->dir);
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(vd_db_open(path, 0, &db), -ENOMEDIUM);
	assert_non_null(strstr(vd_errmsg(), "no xenvd pool"));
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(raw, "SELECT * FROM meta", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
}

static void test_a_database_directory_others_can_write_is_refused(void **state)
{
	struct fixture *f = *state;
	struct vd_db *db = NULL;
	char dir[128];

	vd_db_close(f->db);
	f->db = NULL;
	snprintf(dir, sizeof(dir), "%s/db", f->dir);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(vd_db_open(f->db_path, 0, &db), -EPERM);
	assert_non_null(strstr(vd_errmsg(), "chmod go-w"));
	assert_int_equal(chmod(dir, 0700), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(dir, 65534, 65534), 0);
		assert_int_equal(vd_db_open(f->db_path, 0, &db), -EPERM);
		assert_non_null(strstr(vd_errmsg(), "owned by uid 65534"));
		assert_int_equal(chown(dir, 0, 0), 0);
	}
	assert_int_equal(chmod(f->db_path, 0622), 0);
	assert_int_equal(vd_db_open(f->db_path, 0, &db), -EPERM);
	assert_int_equal(chmod(f->db_path, 0600), 0);
	assert_int_equal(vd_db_open(f->db_path, 0, &f->db), 0);
}

static void test_a_lock_file_symlink_is_not_followed(void **state)
{
	struct fixture *f = *state;
	char link[160], target[160];
	int fd = -1;

	uint32_t a = create(f, 1, 0);
	snprintf(link, sizeof(link), "%s/db/locks/vd-%u.lock", f->dir, a + 1);
	snprintf(target, sizeof(target), "%s/elsewhere", f->dir);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(vd_lock_vdisk(f->db_path, a + 1, 0, &fd), -ELOOP);
	assert_non_null(strstr(vd_errmsg(), "symlink"));
	assert_int_equal(access(target, F_OK), -1); /* root created nothing there */
}

static void test_a_lock_directory_others_can_write_is_refused(void **state)
{
	struct fixture *f = *state;
	char locks[160];
	int fd = -1;

	uint32_t a = create(f, 1, 0);
	snprintf(locks, sizeof(locks), "%s/db/locks", f->dir);
	assert_int_equal(chmod(locks, 0777), 0);
	assert_int_equal(vd_lock_vdisk(f->db_path, a, 0, &fd), -EPERM);
	assert_non_null(strstr(vd_errmsg(), locks));
	assert_int_equal(chmod(locks, 0700), 0);
	assert_int_equal(vd_lock_vdisk(f->db_path, a, 0, &fd), 0);
	close(fd);
}

static void test_a_reclaimed_vd_loses_its_lock_file(void **state)
{
	struct fixture *f = *state;
	struct vd_vdisk_gc_result res;
	char lock[160];

	set_now(1000);
	uint32_t a = create(f, 2, 10);
	snprintf(lock, sizeof(lock), "%s/db/locks/vd-%u.lock", f->dir, a);
	assert_int_equal(access(lock, F_OK), 0);
	set_now(2000);
	assert_int_equal(vd_vdisk_gc(f->db, NULL, NULL, &res), 0);
	assert_int_equal(res.reclaimed_vdisks, 1);
	assert_int_equal(access(lock, F_OK), -1);
	/* reclaimed by an allocation instead of gc: the same */
	uint32_t b = create(f, 8, 10);
	snprintf(lock, sizeof(lock), "%s/db/locks/vd-%u.lock", f->dir, b);
	set_now(3000);
	create(f, 8, 0);
	assert_int_equal(access(lock, F_OK), -1);
}

static void test_a_lock_whose_file_was_removed_while_waiting_is_taken_again(void **state)
{
	struct fixture *f = *state;
	char lock[160];
	int first = -1, status = -1;

	uint32_t a = create(f, 1, 0);
	snprintf(lock, sizeof(lock), "%s/db/locks/vd-%u.lock", f->dir, a);
	assert_int_equal(vd_lock_vdisk(f->db_path, a, 0, &first), 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* waits on the file the parent holds, which is removed before it is released */
		struct stat held, named;
		int second = -1;

		close(first); /* the lock is the parent's, not a copy of it */
		if (vd_lock_vdisk(f->db_path, a, 5000, &second) < 0) {
			fprintf(stderr, "child: %s\n", vd_errmsg());
			_exit(2);
		}
		if (fstat(second, &held) < 0 || lstat(lock, &named) < 0 ||
		    held.st_ino != named.st_ino)
			_exit(1); /* holds a lock on a removed file: excludes nobody */
		_exit(0);
	}
	usleep(200000); /* the child is waiting */
	vd_lock_remove(f->db_path, a);
	close(first);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_a_vd_map_with_an_extent_outside_its_device_is_refused(void **state)
{
	struct fixture *f = *state;
	struct vd_run *segs = NULL;
	size_t n = 0;
	char sql[160];

	uint32_t a = create(f, 2, 0);
	/* a damaged row: extent -16 of a 64K-extent device starts at byte 0, the label */
	snprintf(sql, sizeof(sql), "UPDATE extents SET ext_no = -16 WHERE vd_id = %u AND "
				   "vd_index = 1", a);
	raw_sql(f, sql);
	assert_int_equal(vd_vdisk_runs(f->db, a, -1, &segs, &n), -EBADMSG);
	assert_non_null(strstr(vd_errmsg(), "damaged"));
	snprintf(sql, sizeof(sql), "UPDATE extents SET ext_no = 8 WHERE vd_id = %u AND "
				   "vd_index = 1", a);
	raw_sql(f, sql);
	assert_int_equal(vd_vdisk_runs(f->db, a, O_RDONLY, &segs, &n), -EBADMSG);
	assert_non_null(strstr(vd_errmsg(), "extent 8 of pool device"));
}

static void test_a_vd_past_the_end_of_a_shrunk_device_is_refused(void **state)
{
	struct fixture *f = *state;
	struct vd_run *segs = NULL;
	size_t n = 0;

	if (fixture_onpool())
		skip(); /* sizes of a file database's pool: on-pool, the cut would take the database */

	uint32_t a = create(f, 8, 0);
	assert_int_equal(truncate(f->dev_path[0], VD_DATA_OFFSET + 7 * ES), 0);
	assert_int_equal(vd_vdisk_runs(f->db, a, O_RDONLY, &segs, &n), -ENOSPC);
	assert_non_null(strstr(vd_errmsg(), "now has only"));
	assert_int_equal(truncate(f->dev_path[0], VD_DATA_OFFSET + 8 * ES), 0);
	assert_int_equal(vd_vdisk_runs(f->db, a, O_RDONLY, &segs, &n), 0);
	vd_vdisk_runs_free(segs, n);
}

static void test_scrub_never_zeroes_an_extent_outside_its_device(void **state)
{
	struct fixture *f = *state;
	struct vd_label label;
	char sql[160];
	int fd;

	uint32_t a = create(f, 2, 0);
	snprintf(sql, sizeof(sql), "UPDATE extents SET ext_no = -16, dirty = 1 WHERE vd_id = %u "
				   "AND vd_index = 1; UPDATE vdisks SET needs_scrub = 1 WHERE id = %u",
		 a, a);
	raw_sql(f, sql);
	assert_int_equal(vd_vdisk_scrub(f->db, a, NULL, NULL), -EBADMSG);
	fd = open(f->dev_path[0], O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(vd_label_read(fd, &label), 0); /* the label survived */
	close(fd);
}

static void test_devices_with_different_extent_sizes_are_refused(void **state)
{
	struct fixture *f = *state;
	struct vd_format_opts fo = { .extent_size = ES };
	struct vd_create_opts co = { .size = ES };
	struct vd_vdisk_gc_result res;
	struct vd_vdisk v = { 0 };

	make_file(f->dev_path[1], VD_DATA_OFFSET + 4 * ES);
	assert_int_equal(vd_pool_format(f->db, f->dev_path[1], &fo, NULL), 0);
	raw_sql(f, "UPDATE pool_devices SET extent_size = extent_size * 2, "
		   "extent_count = extent_count / 2 WHERE id = 2");
	assert_int_equal(vd_vdisk_create(f->db, &co, NULL, NULL, &v), -EBADMSG);
	assert_non_null(strstr(vd_errmsg(), "different extent sizes"));
	assert_int_equal(vd_vdisk_gc(f->db, NULL, NULL, &res), -EBADMSG);
	char *report = NULL;
	unsigned problems = 0;

	assert_int_equal(vd_db_check(f->db, &report, &problems), 0);
	assert_non_null(report);
	assert_non_null(strstr(report, "different extent sizes"));
	free(report);
}

static void test_gc_on_a_no_scrub_pool_zeroes_nothing_and_says_so(void **state)
{
	struct fixture *f = *state;
	struct vd_vdisk_gc_result res;

	uint32_t a = create(f, 3, 0);
	fill_vd(f, a, 0x5a);
	assert_int_equal(vd_vdisk_delete(f->db, a, false), 0);
	assert_int_equal(vd_vdisk_gc(f->db, NULL, NULL, &res), 0);
	assert_int_equal(res.reclaimed_vdisks, 1);
	assert_int_equal(res.scrubbed_extents, 0);
	assert_int_equal(res.unscrubbed_extents, 3);
	uint32_t b = create(f, 8, 0);
	assert_false(vd_reads_zero(f, b)); /* --no-scrub: the old data is still there */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_rounds_up_to_whole_extents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_prefers_a_contiguous_run_over_an_earlier_hole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_takes_clean_extents_before_expired_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_reclaims_the_oldest_expired_vd_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_never_takes_extents_of_attached_vd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_enough_space_says_how_much_is_free_and_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_extents_are_zeroed_before_the_new_vd_is_handed_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_zeroes_free_extents_ahead_of_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_revives_an_expired_but_unreclaimed_vd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resize_grows_and_shrinks_only_with_force, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_vd_cannot_be_resized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swapped_device_is_refused_with_its_uuid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format_refuses_a_device_with_a_filesystem_unless_forced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format_refuses_another_extent_size_in_the_same_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_reports_an_extent_with_two_views_of_ownership, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_skips_an_expired_vd_whose_lock_is_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format_restores_the_first_4k_when_the_database_step_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_large_commit_leaves_no_large_wal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_truncates_a_large_wal_left_behind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_empty_database_file_is_refused_not_made_a_new_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_database_without_schema_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_database_directory_others_can_write_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_lock_file_symlink_is_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_lock_directory_others_can_write_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_reclaimed_vd_loses_its_lock_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_lock_whose_file_was_removed_while_waiting_is_taken_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_vd_map_with_an_extent_outside_its_device_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scrub_never_zeroes_an_extent_outside_its_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_vd_past_the_end_of_a_shrunk_device_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices_with_different_extent_sizes_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_on_a_no_scrub_pool_zeroes_nothing_and_says_so, setup_no_scrub, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
