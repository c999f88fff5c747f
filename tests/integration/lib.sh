# Shared by the integration tests: a work directory with its own database, and assertions.
# Sourced; expects xl-vd on PATH (make check puts the build tree first).
set -u
WORK=$(mktemp -d /tmp/xenvd-it.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export XENVD_DB="$WORK/db/xenvd.db"
export XENVD_CONF="$WORK/xenvd.conf" # absent: defaults, never the host's /etc
FAILS=0

fail() {
	echo "FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}

pass() {
	echo "ok: $*"
}

# expect_fail PATTERN CMD...: CMD must exit non-zero and print PATTERN on stderr.
expect_fail() {
	pattern=$1
	shift
	if "$@" >"$WORK/out" 2>"$WORK/err"; then
		fail "'$*' succeeded; expected an error matching '$pattern'"
	elif ! cat "$WORK/err" "$WORK/out" | grep -q -- "$pattern"; then
		fail "'$*' error did not match '$pattern': $(cat "$WORK/err" "$WORK/out")"
	else
		pass "'$*' refused: $(cat "$WORK/err" "$WORK/out" | head -n1)"
	fi
}

# expect_ok CMD...: CMD must succeed; its stdout is left in $WORK/out.
expect_ok() {
	if ! "$@" >"$WORK/out" 2>"$WORK/err"; then
		fail "'$*' failed: $(cat "$WORK/err")"
		return 1
	fi
	return 0
}

# A file-backed pool device of SIZE (sparse). On-pool, devices of 16M or more get 64M more
# for the database's metadata area, so that the same VDs fit.
make_device() {
	truncate -s "$2" "$1"
	if [ $ONPOOL = 1 ] && [ "$(stat -c %s "$1")" -ge 16777216 ]; then
		truncate -s +64M "$1"
	fi
}

# The same tests run on both storages of a pool's database (tests/local.mk runs them twice):
# XENVD_DB_STORAGE=pool puts even a file-backed pool's database on its first device.
ONPOOL=0
[ "${XENVD_DB_STORAGE:-}" = pool ] && ONPOOL=1
export XENVD_RUN_DIR="$WORK/run" # the on-pool database's lock, away from the host's

# SQL on the database, wherever it lives (sqlite3 for a file, tests/vd-sql for both).
db_sql() {
	if [ -x "${top_builddir:-.}/tests/vd-sql" ]; then
		"${top_builddir:-.}/tests/vd-sql" "$XENVD_DB" "$@"
	else
		sqlite3 "$XENVD_DB" "$@"
	fi
}

# make_loop IMG: a loop device over IMG (printed), detached when the test ends; exits 77 (skip)
# where loop devices cannot be made.
make_loop() {
	dev=$(losetup -f --show "$1" 2>"$WORK/losetup.err") || {
		echo "SKIP: cannot make a loop device (root needed): $(cat "$WORK/losetup.err")" >&2
		return 1
	}
	echo "$dev" >>"$WORK/loops" # called in $(...): a file outlives the subshell
	echo "$dev"
}
trap 'for l in $(cat "$WORK/loops" 2>/dev/null); do losetup -d "$l" 2>/dev/null; done; rm -rf "$WORK"' EXIT

# A text dump of the whole database, to show that a refused command changed nothing.
db_dump() {
	db_sql .dump
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS check(s) failed"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}

command -v xl-vd >/dev/null || { echo "SKIP: xl-vd is not built"; exit 77; }
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 CLI missing: run tests/install-deps"; exit 1; }
