/* Shared by the boot-config fuzz targets: the text parsers must never crash, leak or read out
 * of bounds on any input, and what they accept must satisfy the menu's invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot_menu.h"

static void check_menu(const struct vd_boot_menu *m)
{
	size_t i;

	for (size_t k = 0; k < m->n; k++) {
		const struct vd_boot_entry *e = &m->entries[k];

		if (!e->title || !e->index_path || !e->args || e->n_initrds > VD_BOOT_MAX_INITRDS)
			abort();
		if (vd_boot_menu_find(m, e->index_path, &i) != 0)
			abort();
	}
	if (m->n > 0 && vd_boot_menu_default(m, &i) != 0)
		abort();
	if (m->n > 0 && i >= m->n)
		abort();
}
