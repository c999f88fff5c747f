#include "boot_fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vd_boot_vars env = {};
	struct vd_boot_entry e[2] = {};
	struct vd_boot_menu m = {};
	size_t n = 0;

	/* the same bytes as a grubenv, then as two entries with different stems */
	if (vd_boot_grubenv_parse((const char *)data, size, &env) != 0)
		return 0;
	if (vd_boot_bls_parse((const char *)data, size, "a-1.0", &env, &e[n]) == 0)
		n++;
	if (vd_boot_bls_parse((const char *)data, size, "a-1.0.1", &env, &e[n]) == 0)
		n++;
	if (vd_boot_bls_build_menu(e, n, &env, &m) == 0) {
		check_menu(&m);
		vd_boot_menu_dispose(&m);
	} else {
		for (size_t i = 0; i < n; i++)
			vd_boot_entry_dispose(&e[i]);
	}
	vd_boot_vars_dispose(&env);
	return 0;
}
