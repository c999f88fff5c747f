/* The libdevmapper and loop code against the real kernel: a file-backed pool, a VD mapped as
 * /dev/mapper/vd-<id> through a loop device, data read back through the dm device, busy and
 * forced removal (error target), runtime check. Needs root and device-mapper: anywhere else it
 * says why and exits 77 (the QEMU test bed has both). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "pool/db.h"
#include "attach/dm.h"
#include "base/error.h"
#include "attach/check.h"
#include "attach/hotplug.h"
#include "pool/import.h"
#include "pool/label.h"
#include "pool/pool.h"
#include "pool/vdisk.h"
#include "pool_fixture.h"

#define ES (1024 * 1024)

static char dir[64], db_path[128], dev_path[128];
static struct vd_db *db;
static uint32_t vd;
static uint8_t data[3 * ES];

static const char *why_skip(void)
{
	char line[128];
	bool dm = false;
	FILE *f;

	if (geteuid() != 0)
		return "not running as root";
	f = fopen("/proc/misc", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (strstr(line, "device-mapper"))
				dm = true;
		fclose(f);
	}
	if (!dm)
		return "this kernel has no device-mapper (nothing in /proc/misc); the QEMU test "
		       "bed has";
	if (access("/dev/loop-control", F_OK) < 0)
		return "no /dev/loop-control";
	return NULL;
}

static int setup(void **state)
{
	struct vd_format_opts fo = { .extent_size = ES };
	struct vd_create_opts co = { .size = 3 * ES };
	struct vd_vdisk v = { 0 };
	char img[160];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/xenvd-dmlive-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(db_path, sizeof(db_path), "%s/xenvd.db", dir);
	snprintf(dev_path, sizeof(dev_path), "%s/pool.img", dir);
	fd = open(dev_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, VD_DATA_OFFSET + 8 * ES), 0);
	close(fd);
	assert_int_equal(fixture_new_pool(db_path, dev_path, &fo, &db), 0);
	assert_int_equal(vd_vdisk_create(db, &co, NULL, NULL, &v), 0);
	vd = v.id;
	vd_vdisk_dispose(&v);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i % 251);
	snprintf(img, sizeof(img), "%s/image.raw", dir);
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(vd_pwrite_all(fd, data, sizeof(data), 0), 0);
	assert_int_equal(vd_import_image(db, vd, fd, NULL, NULL), 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	vd_db_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_map_reads_the_vd_through_dm_and_unmap_removes_it(void **state)
{
	struct vd_attacher h;
	struct vd_dm_info info;
	char path[64], name[VD_DM_NAME_MAX], *report = NULL;
	unsigned problems = 99;
	static uint8_t back[3 * ES];
	int fd;

	vd_attacher_init(&h, db, NULL);
	if (vd_attach_map(&h, vd, "w", path, sizeof(path)) < 0)
		fail_msg("map: %s", vd_errmsg());
	vd_dm_name(vd, name);
	assert_int_equal(vd_dm_libdevmapper_ops.info(name, &info), 0);
	assert_true(info.exists);
	assert_int_equal(strncmp(info.uuid, VD_DM_UUID_PREFIX, 6), 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("%s did not appear (udev %s)", path,
			 vd_dm_udev_running() ? "running" : "not running");
	assert_int_equal(vd_pread_all(fd, back, sizeof(back), 0), 0);
	close(fd);
	assert_memory_equal(back, data, sizeof(data));

	assert_int_equal(vd_check_runtime_with(db, &vd_attach_real_ops, NULL, false, &report,
					       &problems), 0);
	assert_int_equal(problems, 0);
	free(report);

	/* mapping again is idempotent and shares the device */
	assert_int_equal(vd_attach_map(&h, vd, "w", path, sizeof(path)), 0);
	assert_int_equal(vd_attach_unmap(&h, vd), 0);
	assert_int_equal(vd_dm_libdevmapper_ops.info(name, &info), 0);
	assert_false(info.exists);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_busy_remove_names_the_opener_and_force_swaps_in_error(void **state)
{
	struct vd_attacher h;
	char path[64], name[VD_DM_NAME_MAX], byte;
	int fd;

	vd_attacher_init(&h, db, NULL);
	assert_int_equal(vd_attach_map(&h, vd, "w", path, sizeof(path)), 0);
	vd_dm_name(vd, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(vd_dm_libdevmapper_ops.remove(name, 0), -EBUSY);
	assert_non_null(strstr(vd_errmsg(), "open in pid"));
	/* forced: the table becomes an error target; our fd still holds it, so still busy */
	assert_int_equal(vd_dm_libdevmapper_ops.remove(name, VD_DM_REMOVE_FORCE), -EBUSY);
	assert_int_equal(pread(fd, &byte, 1, 0), -1);
	assert_int_equal(errno, EIO);
	close(fd);
	assert_int_equal(vd_dm_libdevmapper_ops.remove(name, VD_DM_REMOVE_RETRY), 0);
	/* unmap copes with the device being gone already */
	assert_int_equal(vd_attach_unmap(&h, vd), 0);
}

int main(void)
{
	const char *why = why_skip();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_reads_the_vd_through_dm_and_unmap_removes_it),
		cmocka_unit_test(test_busy_remove_names_the_opener_and_force_swaps_in_error),
	};

	if (why) {
		printf("SKIP: test_dm_live: %s\n", why);
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
