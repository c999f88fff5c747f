#include "boot_fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vd_boot_menu m = {};

	if (vd_boot_extlinux_parse((const char *)data, size, &m) == 0) {
		check_menu(&m);
		vd_boot_menu_dispose(&m);
	}
	return 0;
}
