/* A whole guest disk image: partition tables (libblkid), ext2/3/4 metadata (libext2fs through
 * our io_manager), path resolution and every config parser, as vdloader's sandboxed child runs
 * them. Nothing may crash; copies never exceed the caps. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "boot/boot_find.h"
#include "base/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int disk = memfd_create("fuzz-disk", MFD_CLOEXEC);
	int kernel = memfd_create("fuzz-kernel", MFD_CLOEXEC);
	int ramdisk = memfd_create("fuzz-ramdisk", MFD_CLOEXEC);
	struct vd_boot_request req = {
		.kernel_max = 1 << 20, .ramdisk_max = 1 << 20, .config_max = 64 << 10,
	};
	struct vd_run run;
	struct vd_boot_disk d;
	struct vd_boot_result res = {};
	struct stat st;

	if (disk < 0 || kernel < 0 || ramdisk < 0 || size < 2048 ||
	    write(disk, data, size) != (ssize_t)size)
		goto out;
	run = (struct vd_run){ .fd = disk, .dev_offset = 0, .length = size };
	if (vd_boot_disk_init(&d, &run, 1) != 0)
		goto out;
	req.list = true;
	if (vd_boot_find(&d, &req, -1, -1, &res) == 0)
		vd_boot_result_dispose(&res);
	req.list = false;
	if (vd_boot_find(&d, &req, kernel, ramdisk, &res) == 0) {
		if (fstat(kernel, &st) != 0 || (uint64_t)st.st_size != res.kernel_size ||
		    res.kernel_size > req.kernel_max || res.ramdisk_size > req.ramdisk_max)
			abort();
		vd_boot_result_dispose(&res);
	}
	vd_err_clear();
out:
	close(disk);
	close(kernel);
	close(ramdisk);
	return 0;
}
