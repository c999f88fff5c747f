/* A pool that carries its own database, through the library: the power-cut model (every
 * write to the metadata area after the Nth is lost, for every N of one create; the pool then
 * opens in the old or the new state, never a damaged one), and damaged areas refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "pool/db.h"
#include "pool/label.h"
#include "pool/mdarea.h"
#include "pool/pool.h"
#include "pool/sanlock.h"
#include "pool/vdisk.h"
#include "base/config.h"

#define ES (1024 * 1024)
#define EXTENTS 64

struct fixture {
	char dir[64], db_path[128], dev_path[128];
	uint8_t *image;
	size_t image_size;
};

static size_t vd_count(struct vd_db *db)
{
	struct vd_vdisk *list = NULL;
	size_t n = 0;

	assert_int_equal(vd_db_vdisk_list(db, false, &list, &n), 0);
	vd_db_vdisk_list_free(list, n);
	return n;
}

static void assert_consistent(struct vd_db *db)
{
	char *report = NULL;
	unsigned problems = 0;

	assert_int_equal(vd_db_check(db, &report, &problems), 0);
	if (problems)
		fail_msg("check found %u problem(s): %s", problems, report);
	free(report);
}

static uint32_t create(struct vd_db *db, uint64_t extents)
{
	struct vd_create_opts co = { .size = extents * ES };
	struct vd_vdisk v = { 0 };
	uint32_t id;

	assert_int_equal(vd_vdisk_create(db, &co, NULL, NULL, &v), 0);
	id = v.id;
	vd_vdisk_dispose(&v);
	return id;
}

static void save_image(struct fixture *f)
{
	struct stat st;
	int fd = open(f->dev_path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	free(f->image);
	f->image_size = (size_t)st.st_size;
	f->image = malloc(f->image_size);
	assert_non_null(f->image);
	assert_int_equal(vd_pread_all(fd, f->image, f->image_size, 0), 0);
	close(fd);
}

static void restore_image(struct fixture *f)
{
	int fd = open(f->dev_path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(vd_pwrite_all(fd, f->image, f->image_size, 0), 0);
	assert_int_equal(fsync(fd), 0);
	close(fd);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vd_format_opts fo = { .extent_size = ES, .max_extents = 4096 };
	char run[128];
	struct vd_db *db = NULL;
	int fd;

	snprintf(f->dir, sizeof(f->dir), "/tmp/xenvd-onpool-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db_path, sizeof(f->db_path), "%s/db/xenvd.db", f->dir);
	snprintf(f->dev_path, sizeof(f->dev_path), "%s/pool0.img", f->dir);
	snprintf(run, sizeof(run), "%s/run", f->dir);
	setenv("XENVD_RUN_DIR", run, 1);
	setenv("XENVD_CONF", "/nonexistent", 1);
	unsetenv("XENVD_MD_DROP_WRITES_AFTER");
	fd = open(f->dev_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, VD_MD_OFFSET + vd_mdarea_size_for(4096) + EXTENTS * ES), 0);
	close(fd);
	assert_int_equal(vd_pool_format_onpool(f->db_path, f->dev_path, &fo, &db, NULL), 0);
	create(db, 3);
	create(db, 5);
	assert_consistent(db);
	vd_db_close(db);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	unsetenv("XENVD_MD_DROP_WRITES_AFTER");
	free(f->image);
	free(f);
	return 0;
}

static void test_power_cut_at_every_write_of_a_create_leaves_old_or_new_state(void **state)
{
	struct fixture *f = *state;
	struct vd_db *db = NULL;
	uint64_t reads, writes, flushes;
	unsigned old_state = 0, new_state = 0;
	char n_text[32];

	/* How many writes one create makes, untouched. */
	save_image(f);
	assert_int_equal(vd_db_open(f->db_path, 0, &db), 0);
	create(db, 4);
	vd_db_io_stats(db, &reads, &writes, &flushes);
	vd_db_close(db);
	assert_true(writes > 0);

	for (uint64_t n = 0; n <= writes; n++) {
		struct vd_create_opts co = { .size = 4 * ES };
		struct vd_vdisk v = { 0 };
		size_t count;

		restore_image(f);
		snprintf(n_text, sizeof(n_text), "%llu", (unsigned long long)n);
		setenv("XENVD_MD_DROP_WRITES_AFTER", n_text, 1);
		assert_int_equal(vd_db_open(f->db_path, 0, &db), 0);
		/* The process believes every write landed; the devices kept the first n. */
		(void)vd_vdisk_create(db, &co, NULL, NULL, &v);
		vd_vdisk_dispose(&v);
		vd_err_clear();
		vd_db_close(db);
		unsetenv("XENVD_MD_DROP_WRITES_AFTER");

		/* Power back: the next user rolls a hot journal back. */
		assert_int_equal(vd_db_open(f->db_path, 0, &db), 0);
		assert_consistent(db);
		count = vd_count(db);
		if (count == 2)
			old_state++;
		else if (count == 3)
			new_state++;
		else
			fail_msg("after %llu of %llu writes: %zu VDs", (unsigned long long)n,
				 (unsigned long long)writes, count);
		if (n == writes)
			assert_int_equal(count, 3);
		/* And the pool goes on working from there. */
		create(db, 1);
		assert_consistent(db);
		vd_db_close(db);
	}
	print_message("%llu writes per create: %u cuts left the old state, %u the new\n",
		      (unsigned long long)writes, old_state, new_state);
	assert_true(old_state > 0 && new_state > 0);
}

/* Overwrites len bytes at off of the device. */
static void poke(struct fixture *f, uint64_t off, const void *buf, size_t len)
{
	int fd = open(f->dev_path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(vd_pwrite_all(fd, buf, len, off), 0);
	close(fd);
}

static void assert_refused_unchanged(struct fixture *f, const char *pattern)
{
	struct vd_db *db = NULL;
	uint8_t *before;
	size_t size;

	save_image(f);
	before = f->image;
	size = f->image_size;
	f->image = NULL;
	assert_int_equal(vd_db_open(f->db_path, 0, &db), -EBADMSG);
	if (!strstr(vd_errmsg(), pattern))
		fail_msg("error '%s' does not say '%s'", vd_errmsg(), pattern);
	save_image(f);
	assert_int_equal(f->image_size, size);
	assert_memory_equal(f->image, before, size); /* never re-initialised */
	free(before);
}

static void test_zeroed_area_header_is_refused_not_reinitialised(void **state)
{
	struct fixture *f = *state;
	uint8_t zero[512] = { 0 };

	poke(f, VD_MD_OFFSET, zero, sizeof(zero));
	assert_refused_unchanged(f, "blank (its header was zeroed)");
}

static void test_bad_checksum_is_refused(void **state)
{
	struct fixture *f = *state;

	poke(f, VD_MD_OFFSET + 40, "X", 1);
	assert_refused_unchanged(f, "bad checksum");
}

static void test_journal_longer_than_its_region_is_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t sector[512];
	int fd = open(f->dev_path, O_RDWR);
	uint32_t crc;

	/* A journal region header that claims more than the region holds, with a good
	 * checksum: what a truncated area looks like. */
	assert_true(fd >= 0);
	assert_int_equal(vd_pread_all(fd, sector, sizeof(sector), VD_MD_OFFSET + 1024), 0);
	memset(sector + 16, 0x7f, 8);
	crc = vd_label_crc32c(0, sector, 32);
	for (int i = 0; i < 4; i++)
		sector[32 + i] = (uint8_t)(crc >> (24 - 8 * i));
	assert_int_equal(vd_pwrite_all(fd, sector, sizeof(sector), VD_MD_OFFSET + 1024), 0);
	close(fd);
	assert_refused_unchanged(f, "truncated journal");
}

static void test_damaged_database_region_header_is_refused(void **state)
{
	struct fixture *f = *state;

	poke(f, VD_MD_OFFSET + 512 + 20, "\x01", 1);
	assert_refused_unchanged(f, "damaged database region header");
}

static uint32_t header_version(struct fixture *f)
{
	uint8_t buf[512];
	int fd = open(f->dev_path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(vd_pread_all(fd, buf, sizeof(buf), VD_MD_OFFSET), 0);
	close(fd);
	return vd_get_be32(buf + 8);
}

static void test_unshared_pool_header_stays_version_1(void **state)
{
	struct fixture *f = *state;

	/* An older xenvd reads version 1 only: a pool that is not shared must keep it. */
	assert_int_equal(header_version(f), 1);
}

/* Records a lease area as vd_pool_share does last (without sanlock: nothing here reads it). */
static void record_lease(struct fixture *f, struct vd_md_lease *lease)
{
	struct vd_locator loc = { 0 };
	struct vd_db *db = NULL;

	assert_int_equal(vd_db_open(f->db_path, 0, &db), 0);
	assert_false(vd_db_lease(db, NULL));
	memset(lease, 0, sizeof(*lease));
	assert_int_equal(vd_locator_read(f->db_path, &loc), 0);
	memcpy(lease->device_uuid, loc.copies[0].device_uuid, 16);
	vd_locator_dispose(&loc);
	lease->offset = 48 * ES;
	lease->size = 16 * ES;
	lease->sector_size = 512;
	assert_int_equal(vd_db_begin(db), 0);
	assert_int_equal(vd_db_set_lease(db, lease), 0);
	assert_int_equal(vd_db_commit(db), 0);
	/* the next write transaction rewrites the headers: the lease stays in them */
	create(db, 1);
	vd_db_close(db);
}

static void test_lease_area_recorded_in_header_makes_version_2_and_reads_back(void **state)
{
	struct fixture *f = *state;
	struct vd_md_lease lease, got;
	struct vd_md_copy copy = { .path = f->dev_path, .offset = VD_MD_OFFSET,
				   .size = vd_mdarea_size_for(4096), .copy = 1 };
	struct vd_locator loc = { 0 };
	struct vd_mdarea *a = NULL;

	record_lease(f, &lease);
	assert_int_equal(header_version(f), 2);
	assert_int_equal(vd_locator_read(f->db_path, &loc), 0);
	assert_int_equal(vd_mdarea_open(loc.pool_uuid, &copy, 1, true, &a), 0);
	assert_true(vd_mdarea_lease(a, &got));
	assert_memory_equal(&got, &lease, sizeof(got));
	vd_mdarea_close(a);
	vd_locator_dispose(&loc);
}

static void test_shared_pool_without_host_id_is_refused_naming_the_key(void **state)
{
	struct fixture *f = *state;
	struct vd_md_lease lease;
	struct vd_db *db = NULL;

	record_lease(f, &lease);
	/* XENVD_CONF is /nonexistent: no host_id. Refused before sanlock is asked anything. */
	assert_int_equal(vd_db_open(f->db_path, VD_DB_READONLY, &db), -ENOKEY);
	if (!strstr(vd_errmsg(), "is shared and this host has no host_id: set host_id") ||
	    !strstr(vd_errmsg(), "/nonexistent"))
		fail_msg("error '%s' does not name host_id and the file", vd_errmsg());
}

static void test_sanlock_lease_geometry_follows_the_sector_size(void **state)
{
	struct vd_sanlock_area sa;
	uint8_t uuid[16];
	uint32_t align;

	(void)state;
	memset(uuid, 0xab, sizeof(uuid));
	assert_int_equal(vd_sanlock_align_for(512, &align), 0);
	assert_int_equal(align, 1024 * 1024);
	assert_int_equal(vd_sanlock_align_for(4096, &align), 0);
	assert_int_equal(align, 8 * 1024 * 1024);
	assert_int_equal(vd_sanlock_align_for(520, &align), -EINVAL);
	assert_int_equal(vd_sanlock_area_init(&sa, uuid, "/dev/x", 3 * 1024 * 1024, 4096), -EINVAL);
	assert_int_equal(vd_sanlock_area_init(&sa, uuid, "/dev/x:y", 0, 512), -EINVAL);
	assert_int_equal(vd_sanlock_area_init(&sa, uuid, "/dev/x", 16 * 1024 * 1024, 4096), 0);
	assert_string_equal(sa.lockspace, "abababababababababababababababab");
	assert_int_equal(vd_sanlock_slot_offset(&sa, VD_SANLOCK_SLOT_METADATA),
			 24 * 1024 * 1024);
	assert_int_equal(vd_sanlock_area_size(&sa), VD_SANLOCK_SLOTS * 8ULL * 1024 * 1024);
}

static void test_config_host_id_has_no_default_and_is_range_checked(void **state)
{
	struct fixture *f = *state;
	struct vd_config cfg;
	char path[160];
	FILE *c;

	assert_int_equal(vd_config_load("/nonexistent", &cfg), 0);
	assert_int_equal(cfg.host_id, 0);
	assert_int_equal(cfg.lockspace_io_timeout, 10);
	vd_config_dispose(&cfg);
	snprintf(path, sizeof(path), "%s/conf", f->dir);
	for (int i = 0; i < 3; i++) {
		static const char *const text[] = { "host_id = 2000\nlockspace_io_timeout = 3\n",
						    "host_id = 0\n", "host_id = 2001\n" };

		c = fopen(path, "w");
		assert_non_null(c);
		fputs(text[i], c);
		fclose(c);
		if (i == 0) {
			assert_int_equal(vd_config_load(path, &cfg), 0);
			assert_int_equal(cfg.host_id, 2000);
			assert_int_equal(cfg.lockspace_io_timeout, 3);
			vd_config_dispose(&cfg);
		} else {
			assert_int_equal(vd_config_load(path, &cfg), -EINVAL);
			assert_non_null(strstr(vd_errmsg(), "host_id"));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_power_cut_at_every_write_of_a_create_leaves_old_or_new_state, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_zeroed_area_header_is_refused_not_reinitialised,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_checksum_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_longer_than_its_region_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_database_region_header_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unshared_pool_header_stays_version_1, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_lease_area_recorded_in_header_makes_version_2_and_reads_back, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_shared_pool_without_host_id_is_refused_naming_the_key, setup, teardown),
		cmocka_unit_test(test_sanlock_lease_geometry_follows_the_sector_size),
		cmocka_unit_test_setup_teardown(
			test_config_host_id_has_no_default_and_is_range_checked, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
