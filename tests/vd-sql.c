/* vd-sql DB SQL|.dump|.journal: runs SQL on a xenvd database, a file or a pool's metadata area (through
 * the xenvd-mdarea VFS), printing rows as the sqlite3 shell does ('|' between columns). For
 * tests only: they inspect and damage databases the way an administrator's sqlite3 would.
 * .journal prints the length of an on-pool database's hot journal without opening the
 * database (non-zero after a crash mid-transaction; the next user rolls it back), 0 when there
 * is none: an empty journal region, or one emptied at its header. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "pool/db_vfs.h"
#include "pool/mdarea.h"

static int print_row(void *unused, int n, char **values, char **names)
{
	(void)unused;
	(void)names;
	for (int i = 0; i < n; i++)
		printf("%s%s", i ? "|" : "", values[i] ? values[i] : "");
	putchar('\n');
	return 0;
}

/* Every table's schema and rows, in a stable order: enough to compare two states. */
static int dump(sqlite3 *sql)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(sql, "SELECT name, sql FROM sqlite_master WHERE sql IS NOT "
				    "NULL ORDER BY type, name", -1, &s, NULL);

	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		const char *def = (const char *)sqlite3_column_text(s, 1);
		char q[512];

		printf("%s;\n", def);
		if (strncmp(def, "CREATE TABLE", 12) != 0)
			continue;
		snprintf(q, sizeof(q), "SELECT * FROM \"%s\"", name);
		rc = sqlite3_exec(sql, q, print_row, NULL, NULL);
		if (rc != SQLITE_OK)
			break;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int main(int argc, char **argv)
{
	struct vd_db_vfs *v = NULL;
	sqlite3 *sql = NULL;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: vd-sql DB SQL|.dump\n");
		return 2;
	}
	if (strcmp(argv[2], ".journal") == 0) {
		if (!vd_locator_is(argv[1]) || vd_db_vfs_attach(argv[1], true, &v) < 0 ||
		    vd_mdarea_refresh(vd_db_vfs_area(v)) < 0) {
			fprintf(stderr, "vd-sql: %s\n", vd_errmsg());
			return 1;
		}
		uint8_t first = 0;
		uint64_t len = vd_mdarea_length(vd_db_vfs_area(v), VD_MD_JOURNAL);

		/* As SQLite sees it: a journal whose first byte is zero is not hot. */
		if (len > 0)
			(void)vd_mdarea_read(vd_db_vfs_area(v), VD_MD_JOURNAL, &first, 1, 0);
		printf("%llu\n", first ? (unsigned long long)len : 0ULL);
		vd_db_vfs_detach(v);
		return 0;
	}
	if (vd_locator_is(argv[1])) {
		if (vd_db_vfs_attach(argv[1], false, &v) < 0) {
			fprintf(stderr, "vd-sql: %s\n", vd_errmsg());
			return 1;
		}
		rc = sqlite3_open_v2(vd_db_vfs_filename(v), &sql, SQLITE_OPEN_READWRITE,
				     VD_DB_VFS_NAME);
	} else {
		rc = sqlite3_open_v2(argv[1], &sql, SQLITE_OPEN_READWRITE, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(sql, 10000);
	if (rc == SQLITE_OK)
		rc = strcmp(argv[2], ".dump") == 0 ? dump(sql)
						   : sqlite3_exec(sql, argv[2], print_row, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "vd-sql: %s\n", sql ? sqlite3_errmsg(sql) : sqlite3_errstr(rc));
	sqlite3_close(sql);
	vd_db_vfs_detach(v);
	return rc == SQLITE_OK ? 0 : 1;
}
