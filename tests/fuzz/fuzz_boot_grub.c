#include "boot_fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vd_boot_vars env = {};
	struct vd_boot_menu m = {};
	const char *split = memchr(data, '\x01', size);
	size_t env_len = split ? (size_t)(split - (const char *)data) : 0;

	/* "grubenv \x01 grub.cfg" when a \x01 is present, else grub.cfg alone */
	if (split && vd_boot_grubenv_parse((const char *)data, env_len, &env) != 0)
		return 0;
	if (split) {
		data += env_len + 1;
		size -= env_len + 1;
	}
	if (vd_boot_grub_parse((const char *)data, size, &env, &m) == 0) {
		check_menu(&m);
		vd_boot_menu_dispose(&m);
	}
	vd_boot_vars_dispose(&env);
	return 0;
}
