/* vdloader's run as a library call: what it returns, what it leaves in the output directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "boot/boot_loader.h"

static char dir[] = "/tmp/xenvd-boot-loader.XXXXXX"; /* not *vdloader*: see vdloader-hostile.sh */
static char image[512], outdir[512];

static int make_image(void **state)
{
	char cmd[2048];

	if (!mkdtemp(dir))
		return -1;
	snprintf(image, sizeof(image), "%s/disk.img", dir);
	snprintf(outdir, sizeof(outdir), "%s/out", dir);
	snprintf(cmd, sizeof(cmd),
		 "set -e; cd %s; mkdir -p tree/boot/grub tree/etc out; "
		 "printf 'kernel-bytes' > tree/boot/vmlinuz; printf 'initrd' > tree/boot/initrd; "
		 "printf '/dev/xvda1 / ext4 defaults 0 1\\n' > tree/etc/fstab; "
		 "printf 'menuentry one {\\n linux /boot/vmlinuz root=/dev/xvda1\\n"
		 " initrd /boot/initrd\\n}\\nmenuentry two {\\n linux /boot/none\\n}\\n' "
		 "> tree/boot/grub/grub.cfg; "
		 "PATH=$PATH:/sbin:/usr/sbin mke2fs -q -F -t ext4 -d tree disk.img 8M >/dev/null",
		 dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int remove_image(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static size_t files_in(const char *path)
{
	char cmd[600];
	FILE *f;
	size_t n = 0;

	snprintf(cmd, sizeof(cmd), "find %s -mindepth 1 | wc -l", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%zu", &n), 1);
	pclose(f);
	return n;
}

static struct vd_boot_loader_opts opts(void)
{
	return (struct vd_boot_loader_opts){ .disk = image, .output_dir = outdir,
					     .config = "/nonexistent-xenvd.conf",
					     .format = VD_BOOT_SIMPLE,
					     .unprivileged = geteuid() != 0 };
}

static void test_run_copies_the_default_entry_and_renders_the_result(void **state)
{
	struct vd_boot_loader_opts o = opts();
	struct vd_boot_loader_files files = { .dir_fd = -1 };
	struct vd_boot_loader_result res = {};

	assert_int_equal(vd_boot_loader_run(&o, &files, &res), 0);
	assert_non_null(strstr(res.output, "args root=/dev/xvda1"));
	assert_non_null(strstr(res.source, "entry 'one'"));
	assert_int_equal(files_in(outdir), 2);
	vd_boot_loader_files_done(&files, false); /* the result could not be written */
	assert_int_equal(files_in(outdir), 0);
	vd_boot_loader_result_dispose(&res);
}

static void test_run_leaves_nothing_when_it_fails(void **state)
{
	struct vd_boot_loader_opts o = opts();
	struct vd_boot_loader_files files = { .dir_fd = -1 };
	struct vd_boot_loader_result res = {};

	o.entry = "two"; /* its kernel does not exist */
	assert_true(vd_boot_loader_run(&o, &files, &res) < 0);
	assert_int_equal(files_in(outdir), 0);
	assert_int_equal(files.dir_fd, -1);
}

static void test_list_and_dryrun_copy_nothing(void **state)
{
	struct vd_boot_loader_opts o = opts();
	struct vd_boot_loader_files files = { .dir_fd = -1 };
	struct vd_boot_loader_result res = {};

	o.list = true;
	assert_int_equal(vd_boot_loader_run(&o, &files, &res), 0);
	assert_non_null(strstr(res.output, "0: one (default)"));
	vd_boot_loader_files_done(&files, true);
	vd_boot_loader_result_dispose(&res);
	o.list = false;
	o.dryrun = true;
	assert_int_equal(vd_boot_loader_run(&o, &files, &res), 0);
	assert_non_null(strstr(res.output, "kernel /boot/vmlinuz"));
	vd_boot_loader_files_done(&files, true);
	vd_boot_loader_result_dispose(&res);
	assert_int_equal(files_in(outdir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_copies_the_default_entry_and_renders_the_result),
		cmocka_unit_test(test_run_leaves_nothing_when_it_fails),
		cmocka_unit_test(test_list_and_dryrun_copy_nothing),
	};

	if (system("PATH=$PATH:/sbin:/usr/sbin command -v mke2fs >/dev/null") != 0) {
		printf("SKIP: mke2fs not installed (e2fsprogs)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, make_image, remove_image);
}
