/* Parsing of sizes, ids and durations: what users type on the command line; and the library's
 * logging, which goes only where the program sent it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"

static void test_size_accepts_suffixes_as_powers_of_1024(void **state)
{
	uint64_t v;

	assert_int_equal(vd_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(vd_parse_size("20G", &v), 0);
	assert_int_equal(v, 20ULL << 30);
	assert_int_equal(vd_parse_size("512MiB", &v), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(vd_parse_size("1.5T", &v), 0);
	assert_int_equal(v, 3ULL << 39);
	assert_int_equal(vd_parse_size("64k", &v), 0);
	assert_int_equal(v, 64ULL << 10);
	assert_int_equal(vd_parse_size("2P", &v), 0); /* xl-vd(1) documents P */
	assert_int_equal(v, 2ULL << 50);
	assert_int_equal(vd_parse_size("4MiB", &v), 0);
	assert_int_equal(v, 4ULL << 20);
}

/* "4MB" would be 4,000,000 bytes to many and "4Mb" megabits: refused, not taken as 4 MiB. */
static void test_size_refuses_units_it_does_not_document(void **state)
{
	const char *bad[] = { "4Mb", "4MB", "4mb", "4B", "1kB", "4Mi", "4MiBs", "4mib", "4E" };
	uint64_t v = 7;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (vd_parse_size(bad[i], &v) == 0)
			fail_msg("'%s' was accepted as %llu bytes", bad[i], (unsigned long long)v);
}

static void test_size_rejects_malformed_input(void **state)
{
	const char *bad[] = { "", "G", "-1G", "0", "0M", "1.5", "12X", "1GG", " 1G", "1G ",
			      "1.G", "99999999999999999999", "20000000P" };
	uint64_t v = 7;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_true(vd_parse_size(bad[i], &v) < 0);
	assert_int_equal(v, 7); /* untouched on error */
}

static void test_id_is_strict_decimal(void **state)
{
	uint32_t id;

	assert_int_equal(vd_parse_id("7", &id), 0);
	assert_int_equal(id, 7);
	assert_true(vd_parse_id("vd:42", &id) < 0);
	assert_true(vd_parse_id("0", &id) < 0);
	assert_true(vd_parse_id("007", &id) < 0);
	assert_true(vd_parse_id("-3", &id) < 0);
	assert_true(vd_parse_id("4294967296", &id) < 0);
	assert_int_equal(vd_parse_id("4294967295", &id), 0);
	assert_int_equal(vd_parse_u32("0", &id), 0);
	assert_int_equal(id, 0);
	assert_true(vd_parse_u32("01", &id) < 0);
	assert_true(vd_parse_u32("", &id) < 0);
	assert_true(vd_parse_u32(NULL, &id) < 0);
}

/* The one rule for a vd: target: a backend's params, a disk spec, a stored configuration. */
static void test_parse_target_takes_vd_id_with_surrounding_whitespace_only(void **state)
{
	uint32_t id = 0;

	(void)state;
	assert_int_equal(vd_parse_target("vd:42", &id), 0);
	assert_int_equal(id, 42);
	assert_int_equal(vd_parse_target(" \tvd:43 \n", &id), 0);
	assert_int_equal(id, 43);
	assert_true(vd_parse_target("vd:", &id) < 0);
	assert_true(vd_parse_target("vd: 7", &id) < 0);
	assert_true(vd_parse_target("vd:7 8", &id) < 0);
	assert_true(vd_parse_target("vd:7,ro", &id) < 0);
	assert_true(vd_parse_target("vd:0", &id) < 0);
	assert_true(vd_parse_target("VD:7", &id) < 0);
	assert_true(vd_parse_target("7", &id) < 0);
	assert_true(vd_parse_target("vd:123456789012345678", &id) < 0);
	assert_true(vd_parse_target(NULL, &id) < 0);
}

static void test_seconds_take_units_and_are_bounded(void **state)
{
	int64_t s;

	assert_int_equal(vd_parse_seconds("0", &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(vd_parse_seconds("3600", &s), 0);
	assert_int_equal(s, 3600);
	assert_int_equal(vd_parse_seconds("30m", &s), 0);
	assert_int_equal(s, 1800);
	assert_int_equal(vd_parse_seconds("7d", &s), 0);
	assert_int_equal(s, 7 * 86400);
	assert_true(vd_parse_seconds("-5", &s) < 0);
	assert_true(vd_parse_seconds("5x", &s) < 0);
	assert_true(vd_parse_seconds("5mm", &s) < 0);
	assert_true(vd_parse_seconds("99999999999", &s) < 0);
}

static void test_uuid_round_trips(void **state)
{
	uint8_t u[16], back[16];
	char text[37];

	for (int i = 0; i < 16; i++)
		u[i] = (uint8_t)(i * 17);
	vd_uuid_unparse(u, text);
	assert_string_equal(text, "00112233-4455-6677-8899-aabbccddeeff");
	assert_int_equal(vd_uuid_parse(text, back), 0);
	assert_memory_equal(u, back, 16);
	assert_true(vd_uuid_parse("00112233-4455-6677-8899-aabbccddeef", back) < 0);
	assert_true(vd_uuid_parse("0011223344556677-8899-aabbccddeeff-", back) < 0);
}

static void test_strip_removes_surrounding_white_space_in_place(void **state)
{
	char a[] = " \t vd:7 \n", b[] = "x", c[] = "  ";

	assert_string_equal(vd_strip(a), "vd:7");
	assert_string_equal(vd_strip(b), "x");
	assert_string_equal(vd_strip(c), "");
}

static void test_hexval_reads_lowercase_digits_only(void **state)
{
	assert_int_equal(vd_hexval('0'), 0);
	assert_int_equal(vd_hexval('f'), 15);
	assert_int_equal(vd_hexval('F'), -1);
	assert_int_equal(vd_hexval('g'), -1);
}

static void test_uuid_parse_accepts_uppercase(void **state)
{
	uint8_t u[16];

	assert_int_equal(vd_uuid_parse("00112233-4455-6677-8899-AABBCCDDEEFF", u), 0);
	assert_int_equal(u[15], 0xff);
}

static void test_library_prints_nothing_without_a_sink(void **state)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	struct stat st;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	vd_log_set_sink(NULL, NULL);
	vd_log_set_level(VD_LOG_DEBUG);
	vd_warn("a warning");
	vd_warn_errno(-EIO, "a warning about %s: %m", "it");
	vd_debug("a debug line");
	vd_err(-ENOENT, "an error message");
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	assert_int_equal(fstat(fileno(tmp), &st), 0);
	assert_int_equal(st.st_size, 0);
	fclose(tmp);
	vd_log_set_level(VD_LOG_WARN);
}

static void capture(enum vd_log_level level, const char *msg, void *userdata)
{
	snprintf(userdata, 128, "%d %s", (int)level, msg);
}

static void test_warn_errno_formats_the_code_it_is_given(void **state)
{
	char got[128] = "";

	vd_log_set_sink(capture, got);
	errno = EPERM;
	vd_warn_errno(-ENOENT, "cannot open %s: %m", "x");
	assert_int_equal(errno, EPERM);
	assert_string_equal(got, "1 cannot open x: No such file or directory");
	vd_log_set_sink(NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_accepts_suffixes_as_powers_of_1024),
		cmocka_unit_test(test_size_rejects_malformed_input),
		cmocka_unit_test(test_size_refuses_units_it_does_not_document),
		cmocka_unit_test(test_id_is_strict_decimal),
		cmocka_unit_test(test_parse_target_takes_vd_id_with_surrounding_whitespace_only),
		cmocka_unit_test(test_seconds_take_units_and_are_bounded),
		cmocka_unit_test(test_uuid_round_trips),
		cmocka_unit_test(test_strip_removes_surrounding_white_space_in_place),
		cmocka_unit_test(test_hexval_reads_lowercase_digits_only),
		cmocka_unit_test(test_uuid_parse_accepts_uppercase),
		cmocka_unit_test(test_library_prints_nothing_without_a_sink),
		cmocka_unit_test(test_warn_errno_formats_the_code_it_is_given),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
