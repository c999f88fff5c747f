/* dmtable: a VD's runs → linear targets, coalescing, checked arithmetic, comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "attach/dm.h"
#include "attach/dmtable.h"
#include "base/error.h"

/* A run as the table builder reads it: VD offset, length, device offset, device. */
#define RUN(o, l, d, dv) { .vd_offset = (o), .length = (l), .dev_offset = (d), .dev = (dv) }

#define MiB (1024ull * 1024)

static void test_single_run_becomes_one_target_in_sectors(void **state)
{
	struct vd_run runs[] = { RUN(0, 64 * MiB, 1 * MiB, makedev(8, 16)) };
	_cleanup_dmtable_ struct vd_dm_table t = { 0 };
	char params[48];

	assert_int_equal(vd_dmtable_build(runs, 1, &t), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.targets[0].start, 0);
	assert_int_equal(t.targets[0].length, 64 * MiB / 512);
	assert_int_equal(t.targets[0].offset, 1 * MiB / 512);
	assert_string_equal(vd_dmtable_params(&t.targets[0], params, sizeof(params)), "8:16 2048");
	assert_int_equal(vd_dmtable_sectors(&t), 131072);
}

static void test_adjacent_runs_on_same_device_coalesce(void **state)
{
	/* Extents 3, 4 and 5 of one device, as vdisk might hand them over one by one. */
	struct vd_run runs[] = {
		RUN(0, 4 * MiB, 1 * MiB + 3 * 4 * MiB, makedev(7, 0)),
		RUN(4 * MiB, 4 * MiB, 1 * MiB + 4 * 4 * MiB, makedev(7, 0)),
		RUN(8 * MiB, 4 * MiB, 1 * MiB + 5 * 4 * MiB, makedev(7, 0)),
	};
	_cleanup_dmtable_ struct vd_dm_table t = { 0 };

	assert_int_equal(vd_dmtable_build(runs, 3, &t), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.targets[0].length, 12 * MiB / 512);
}

static void test_discontiguous_or_other_device_runs_stay_separate(void **state)
{
	struct vd_run runs[] = {
		RUN(0, 4 * MiB, 1 * MiB, makedev(7, 0)),
		RUN(4 * MiB, 4 * MiB, 1 * MiB + 8 * MiB, makedev(7, 0)), /* gap on the device */
		RUN(8 * MiB, 4 * MiB, 1 * MiB + 12 * MiB, makedev(7, 1)), /* other device */
		RUN(12 * MiB, 4 * MiB, 1 * MiB + 16 * MiB, makedev(7, 1)), /* follows on */
	};
	_cleanup_dmtable_ struct vd_dm_table t = { 0 };
	_cleanup_free_ char *text = NULL;

	assert_int_equal(vd_dmtable_build(runs, 4, &t), 0);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.targets[1].start, 4 * MiB / 512);
	assert_int_equal(t.targets[2].start, 8 * MiB / 512);
	assert_int_equal(t.targets[2].length, 8 * MiB / 512);
	assert_int_equal(vd_dmtable_format(&t, &text), 0);
	assert_string_equal(text, "0 8192 linear 7:0 2048\n"
				  "8192 8192 linear 7:0 18432\n"
				  "16384 16384 linear 7:1 26624\n");
}

static void test_misaligned_run_is_refused(void **state)
{
	struct vd_run runs[] = { RUN(0, 4 * MiB + 100, 0, makedev(7, 0)) };
	struct vd_dm_table t = { 0 };

	assert_int_equal(vd_dmtable_build(runs, 1, &t), -EINVAL);
	assert_null(t.targets);
	assert_non_null(strstr(vd_errmsg(), "not sector-aligned"));
	runs[0] = (struct vd_run)RUN(0, 4 * MiB, 511, makedev(7, 0));
	assert_int_equal(vd_dmtable_build(runs, 1, &t), -EINVAL);
}

static void test_gap_overlap_and_empty_runs_are_refused(void **state)
{
	struct vd_run gap[] = { RUN(0, MiB, 0, 1), RUN(2 * MiB, MiB, MiB, 1) };
	struct vd_run overlap[] = { RUN(0, 2 * MiB, 0, 1), RUN(MiB, MiB, 4 * MiB, 1) };
	struct vd_run empty[] = { RUN(0, 0, 0, 1) };
	struct vd_run late_start[] = { RUN(MiB, MiB, 0, 1) };
	struct vd_dm_table t = { 0 };

	assert_int_equal(vd_dmtable_build(gap, 2, &t), -EINVAL);
	assert_non_null(strstr(vd_errmsg(), "gap"));
	assert_int_equal(vd_dmtable_build(overlap, 2, &t), -EINVAL);
	assert_non_null(strstr(vd_errmsg(), "overlap"));
	assert_int_equal(vd_dmtable_build(empty, 1, &t), -EINVAL);
	assert_int_equal(vd_dmtable_build(late_start, 1, &t), -EINVAL);
	assert_int_equal(vd_dmtable_build(NULL, 0, &t), -EINVAL);
}

static void test_overflowing_offsets_are_refused(void **state)
{
	const uint64_t big = UINT64_MAX - 511; /* sector-aligned, near the top */
	struct vd_run dev_overflow[] = { RUN(0, 1024, big, 1) };
	struct vd_run vd_overflow[] = { RUN(0, big, 0, 1), RUN(big, 1024, 0, 2) };
	struct vd_dm_table t = { 0 };

	assert_int_equal(vd_dmtable_build(dev_overflow, 1, &t), -EOVERFLOW);
	assert_int_equal(vd_dmtable_build(vd_overflow, 2, &t), -EOVERFLOW);
}

static void test_equal_ignores_how_targets_are_split(void **state)
{
	struct vd_run one[] = { RUN(0, 8 * MiB, 0, makedev(7, 0)) };
	_cleanup_dmtable_ struct vd_dm_table a = { 0 };
	_cleanup_dmtable_ struct vd_dm_table b = { 0 };
	_cleanup_dmtable_ struct vd_dm_table c = { 0 };
	struct vd_dm_target half1 = { 0, 8192, makedev(7, 0), 0 };
	struct vd_dm_target half2 = { 8192, 8192, makedev(7, 0), 8192 };
	struct vd_dm_target other = { 8192, 8192, makedev(7, 0), 9000 };

	assert_int_equal(vd_dmtable_build(one, 1, &a), 0);
	assert_int_equal(vd_dmtable_append(&b, &half1), 0);
	assert_int_equal(vd_dmtable_append(&b, &half2), 0);
	assert_true(vd_dmtable_equal(&a, &b));
	assert_int_equal(vd_dmtable_append(&c, &half1), 0);
	assert_int_equal(vd_dmtable_append(&c, &other), 0);
	assert_false(vd_dmtable_equal(&a, &c));
}

static void test_prefix_recognises_a_grown_vd(void **state)
{
	struct vd_run small[] = { RUN(0, 4 * MiB, 0, makedev(7, 0)) };
	struct vd_run grown_same_dev[] = { RUN(0, 8 * MiB, 0, makedev(7, 0)) };
	struct vd_run grown_other_dev[] = { RUN(0, 4 * MiB, 0, makedev(7, 0)),
					       RUN(4 * MiB, 4 * MiB, 0, makedev(7, 1)) };
	struct vd_run moved[] = { RUN(0, 8 * MiB, MiB, makedev(7, 0)) };
	_cleanup_dmtable_ struct vd_dm_table s = { 0 };
	_cleanup_dmtable_ struct vd_dm_table g1 = { 0 };
	_cleanup_dmtable_ struct vd_dm_table g2 = { 0 };
	_cleanup_dmtable_ struct vd_dm_table m = { 0 };

	assert_int_equal(vd_dmtable_build(small, 1, &s), 0);
	assert_int_equal(vd_dmtable_build(grown_same_dev, 1, &g1), 0);
	assert_int_equal(vd_dmtable_build(grown_other_dev, 2, &g2), 0);
	assert_int_equal(vd_dmtable_build(moved, 1, &m), 0);
	assert_true(vd_dmtable_is_prefix(&s, &g1));
	assert_true(vd_dmtable_is_prefix(&s, &g2));
	assert_true(vd_dmtable_is_prefix(&s, &s));
	assert_false(vd_dmtable_is_prefix(&g1, &s));
	assert_false(vd_dmtable_is_prefix(&s, &m));
}

static void test_uses_finds_overlap_by_sector_range(void **state)
{
	struct vd_run runs[] = { RUN(0, MiB, 10 * MiB, makedev(8, 0)) };
	_cleanup_dmtable_ struct vd_dm_table t = { 0 };
	const uint64_t s = 10 * MiB / 512;

	assert_int_equal(vd_dmtable_build(runs, 1, &t), 0);
	assert_true(vd_dmtable_uses(&t, makedev(8, 0), s, 1));
	assert_true(vd_dmtable_uses(&t, makedev(8, 0), 0, s + 1));
	assert_false(vd_dmtable_uses(&t, makedev(8, 0), 0, s));
	assert_false(vd_dmtable_uses(&t, makedev(8, 0), s + 2048, 100));
	assert_false(vd_dmtable_uses(&t, makedev(8, 1), s, 1));
}

static void test_params_round_trip_and_reject_junk(void **state)
{
	struct vd_dm_target t = { 0 };

	assert_int_equal(vd_dmtable_parse_params("253:4 2048", &t), 0);
	assert_int_equal(major(t.dev), 253);
	assert_int_equal(minor(t.dev), 4);
	assert_int_equal(t.offset, 2048);
	assert_int_equal(vd_dmtable_parse_params("253:4", &t), -EINVAL);
	assert_int_equal(vd_dmtable_parse_params("/dev/sdb 0", &t), -EINVAL);
	assert_int_equal(vd_dmtable_parse_params("8:0 0 extra", &t), -EINVAL);
	assert_int_equal(vd_dmtable_parse_params(NULL, &t), -EINVAL);
}

static void test_dm_names_and_uuids(void **state)
{
	const uint8_t pool[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
				   0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
	char name[VD_DM_NAME_MAX], uuid[VD_DM_UUID_MAX], path[64];
	uint8_t back[16];
	uint32_t id;

	assert_string_equal(vd_dm_name(7, name), "vd-7");
	assert_string_equal(vd_dm_name(UINT32_MAX, name), "vd-4294967295");
	assert_string_equal(vd_dm_uuid(pool, 7, uuid),
			    "XENVD-0123456789abcdeffedcba9876543210-7");
	assert_int_equal(vd_dm_uuid_parse(uuid, back, &id), 0);
	assert_memory_equal(back, pool, 16);
	assert_int_equal(id, 7);
	assert_int_equal(vd_dm_uuid_parse("CRYPT-LUKS2-abc-x", NULL, NULL), -EINVAL);
	assert_int_equal(vd_dm_uuid_parse("XENVD-0123456789abcdeffedcba9876543210-0", NULL, NULL),
			 -EINVAL);
	assert_int_equal(vd_dm_uuid_parse("XENVD-0123456789abcdeffedcba987654321-7", NULL, NULL),
			 -EINVAL);
	assert_int_equal(vd_dm_uuid_parse("XENVD-0123456789abcdeffedcba9876543210-7x", NULL, NULL),
			 -EINVAL);
	assert_string_equal(vd_dm_path("vd-7", path, sizeof(path)), "/dev/mapper/vd-7");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_run_becomes_one_target_in_sectors),
		cmocka_unit_test(test_adjacent_runs_on_same_device_coalesce),
		cmocka_unit_test(test_discontiguous_or_other_device_runs_stay_separate),
		cmocka_unit_test(test_misaligned_run_is_refused),
		cmocka_unit_test(test_gap_overlap_and_empty_runs_are_refused),
		cmocka_unit_test(test_overflowing_offsets_are_refused),
		cmocka_unit_test(test_equal_ignores_how_targets_are_split),
		cmocka_unit_test(test_prefix_recognises_a_grown_vd),
		cmocka_unit_test(test_uses_finds_overlap_by_sector_range),
		cmocka_unit_test(test_params_round_trip_and_reject_junk),
		cmocka_unit_test(test_dm_names_and_uuids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
