/* The disk lines block-vd(8) documents, through libxlutil's own xlu_disk_parse (what xl does
 * with a disk = [...] entry or `xl block-attach` arguments), then through the target parser
 * block-vd itself uses. Right lines give script block-vd, target vd:<id>, format raw; wrong
 * ones fail at one of the two steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <libxl.h>
#include <libxlutil.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "attach/hotplug.h"

struct parsed {
	int rc;
	libxl_device_disk disk;
};

static struct parsed parse(int n, const char *const *specs)
{
	FILE *report = fopen("/dev/null", "w");
	XLU_Config *cfg;
	struct parsed p;

	assert_non_null(report);
	cfg = xlu_cfg_init(report, "test_diskspec");
	assert_non_null(cfg);
	libxl_device_disk_init(&p.disk);
	p.rc = xlu_disk_parse(cfg, n, specs, &p.disk);
	xlu_cfg_destroy(cfg);
	fclose(report);
	return p;
}

static void expect_vd_disk(const char *const *specs, int n, uint32_t id, const char *vdev,
			   int readwrite)
{
	struct parsed p = parse(n, specs);
	uint32_t got;

	assert_int_equal(p.rc, 0);
	assert_non_null(p.disk.script);
	assert_string_equal(p.disk.script, "block-vd");
	assert_non_null(p.disk.pdev_path);
	assert_int_equal(p.disk.format, LIBXL_DISK_FORMAT_RAW);
	assert_string_equal(p.disk.vdev, vdev);
	assert_int_equal(p.disk.readwrite, readwrite);
	/* what block-vd will read from params */
	assert_int_equal(vd_parse_target(p.disk.pdev_path, &got), 0);
	assert_int_equal(got, id);
	libxl_device_disk_dispose(&p.disk);
}

static void test_documented_disk_line(void **state)
{
	const char *spec[] = { "vdev=xvda,access=rw,script=block-vd,target=vd:42" };

	expect_vd_disk(spec, 1, 42, "xvda", 1);
}

static void test_documented_line_with_explicit_format(void **state)
{
	const char *spec[] = { "format=raw,vdev=xvda,access=rw,script=block-vd,target=vd:42" };

	expect_vd_disk(spec, 1, 42, "xvda", 1);
}

static void test_read_only_line(void **state)
{
	const char *spec[] = { "vdev=xvdb,access=ro,script=block-vd,target=vd:8" };

	expect_vd_disk(spec, 1, 8, "xvdb", 0);
}

static void test_block_attach_components(void **state)
{
	/* xl block-attach guest vdev=xvdb script=block-vd target=vd:8 */
	const char *spec[] = { "vdev=xvdb", "access=rw", "script=block-vd", "target=vd:8" };

	expect_vd_disk(spec, 4, 8, "xvdb", 1);
}

static void test_trailing_space_in_target_is_trimmed_by_block_vd(void **state)
{
	const char *spec[] = { "vdev=xvda,script=block-vd,target=vd:42 " };
	struct parsed p = parse(1, spec);

	assert_int_equal(p.rc, 0);
	assert_string_equal(p.disk.pdev_path, "vd:42 "); /* libxl keeps it verbatim */
	libxl_device_disk_dispose(&p.disk);
	expect_vd_disk(spec, 1, 42, "xvda", 1);
}

static void test_positional_vd_line_fails_in_xl(void **state)
{
	/* "vd:42" is taken as a plain target and "xvda" lands in the format slot. */
	const char *spec[] = { "vd:42,xvda,w" };
	struct parsed p = parse(1, spec);

	assert_int_not_equal(p.rc, 0);
	libxl_device_disk_dispose(&p.disk);
}

static void test_unknown_prefix_fails_in_xl(void **state)
{
	const char *spec[] = { "vd:/x,xvda,w" };
	struct parsed p = parse(1, spec);

	assert_int_not_equal(p.rc, 0);
	libxl_device_disk_dispose(&p.disk);
}

static void test_missing_vdev_fails_in_xl(void **state)
{
	const char *spec[] = { "script=block-vd,target=vd:42" };
	struct parsed p = parse(1, spec);

	assert_int_not_equal(p.rc, 0);
	libxl_device_disk_dispose(&p.disk);
}

static void test_target_not_last_is_refused_by_block_vd(void **state)
{
	/* target= eats the rest: params become "vd:42,ro" */
	const char *spec[] = { "vdev=xvda,script=block-vd,target=vd:42,ro" };
	struct parsed p = parse(1, spec);
	uint32_t id;

	assert_int_equal(p.rc, 0);
	assert_string_equal(p.disk.pdev_path, "vd:42,ro");
	assert_int_equal(vd_hotplug_parse_params(p.disk.pdev_path, &id), -EINVAL);
	assert_non_null(strstr(vd_errmsg(), "target= last"));
	libxl_device_disk_dispose(&p.disk);
}

static void test_line_without_script_gets_no_block_vd(void **state)
{
	/* Parses, but libxl would stat("vd:42") and fail: no script runs. */
	const char *spec[] = { "vd:42,,xvda,w" };
	struct parsed p = parse(1, spec);

	assert_int_equal(p.rc, 0);
	assert_null(p.disk.script);
	libxl_device_disk_dispose(&p.disk);
}

static void test_script_name_without_block_prefix_is_another_script(void **state)
{
	const char *spec[] = { "vdev=xvda,script=vd,target=vd:42" };
	struct parsed p = parse(1, spec);

	assert_int_equal(p.rc, 0);
	assert_string_not_equal(p.disk.script, "block-vd");
	libxl_device_disk_dispose(&p.disk);
}

static void test_bad_ids_are_refused_by_block_vd(void **state)
{
	static const char *const bad[] = { "vd:", "vd:0", "vd:07", "vd:-1", "vd:4294967296",
					   "vd:7x", "7", "VD:7", "vd: 7", "vd:7:8", "" };
	uint32_t id;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (vd_parse_target(bad[i], &id) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
	assert_int_equal(vd_parse_target(NULL, &id), -EINVAL);
	assert_int_equal(vd_parse_target("vd:4294967295", &id), 0);
	assert_int_equal(id, UINT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documented_disk_line),
		cmocka_unit_test(test_documented_line_with_explicit_format),
		cmocka_unit_test(test_read_only_line),
		cmocka_unit_test(test_block_attach_components),
		cmocka_unit_test(test_trailing_space_in_target_is_trimmed_by_block_vd),
		cmocka_unit_test(test_positional_vd_line_fails_in_xl),
		cmocka_unit_test(test_unknown_prefix_fails_in_xl),
		cmocka_unit_test(test_missing_vdev_fails_in_xl),
		cmocka_unit_test(test_target_not_last_is_refused_by_block_vd),
		cmocka_unit_test(test_line_without_script_gets_no_block_vd),
		cmocka_unit_test(test_script_name_without_block_prefix_is_another_script),
		cmocka_unit_test(test_bad_ids_are_refused_by_block_vd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
