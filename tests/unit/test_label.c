/* The device label: its encoding, its checksum, and what a damaged or foreign label does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "pool/label.h"

static struct vd_label sample(void)
{
	struct vd_label l = {
		.version = VD_LABEL_VERSION,
		.extent_size = 64ULL << 20,
		.data_offset = VD_DATA_OFFSET,
		.extent_count = 100,
		.device_size = VD_DATA_OFFSET + 100 * (64ULL << 20),
		.created = 1700000000,
	};
	memset(l.pool_uuid, 0xaa, 16);
	memset(l.device_uuid, 0x55, 16);
	return l;
}

static void test_crc32c_matches_the_standard_check_value(void **state)
{
	assert_int_equal(vd_label_crc32c(0, "123456789", 9), 0xe3069283);
}

static void test_label_round_trips_big_endian(void **state)
{
	uint8_t buf[VD_LABEL_SIZE];
	struct vd_label l = sample(), back;

	vd_label_encode(&l, buf);
	assert_memory_equal(buf, VD_LABEL_MAGIC, 8);
	/* extent_size 64 MiB = 0x04000000, big-endian at offset 48 */
	assert_int_equal(buf[48 + 4], 0x04);
	assert_int_equal(buf[48 + 7], 0x00);
	assert_int_equal(vd_label_decode(buf, &back), 0);
	assert_memory_equal(&l, &back, sizeof(l));
}

static void test_flipped_bit_fails_the_checksum(void **state)
{
	uint8_t buf[VD_LABEL_SIZE];
	struct vd_label l = sample(), back;

	vd_label_encode(&l, buf);
	buf[40] ^= 1;
	assert_int_equal(vd_label_decode(buf, &back), -EBADMSG);
}

static void test_newer_version_is_refused_not_misread(void **state)
{
	uint8_t buf[VD_LABEL_SIZE];
	struct vd_label l = sample(), back;

	l.version = VD_LABEL_VERSION + 1;
	vd_label_encode(&l, buf);
	assert_int_equal(vd_label_decode(buf, &back), -EPROTONOSUPPORT);
}

static void test_foreign_data_is_no_label(void **state)
{
	uint8_t buf[VD_LABEL_SIZE] = { 0 };
	struct vd_label back;

	memcpy(buf + 1080, "\x53\xef", 2); /* an ext superblock magic, not ours */
	assert_int_equal(vd_label_decode(buf, &back), -ENOMSG);
}

static void test_impossible_geometry_is_rejected(void **state)
{
	uint8_t buf[VD_LABEL_SIZE];
	struct vd_label l = sample(), back;

	l.extent_count = 101; /* more extents than the device holds */
	vd_label_encode(&l, buf);
	assert_int_equal(vd_label_decode(buf, &back), -EBADMSG);
	l = sample();
	l.extent_size = 1000; /* not whole sectors */
	vd_label_encode(&l, buf);
	assert_int_equal(vd_label_decode(buf, &back), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_matches_the_standard_check_value),
		cmocka_unit_test(test_label_round_trips_big_endian),
		cmocka_unit_test(test_flipped_bit_fails_the_checksum),
		cmocka_unit_test(test_newer_version_is_refused_not_misread),
		cmocka_unit_test(test_foreign_data_is_no_label),
		cmocka_unit_test(test_impossible_geometry_is_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
