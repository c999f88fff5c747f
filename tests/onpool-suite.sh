#!/bin/sh
# The whole suite a second time with every pool's database on the pool itself
# (XENVD_DB_STORAGE=pool: even a file-backed pool's first device carries its metadata area),
# so that everything the file database passes, the on-pool database passes too. make check
# passes its TESTS in ONPOOL_SUITE; all but this one and the QEMU bed run.
: "${top_builddir:?}" "${top_srcdir:?}"
export XENVD_DB_STORAGE=pool
failed=""
ran=0
skipped=0
for t in $ONPOOL_SUITE; do
	case $t in
	tests/onpool-suite.sh | tests/e2e/*) continue ;;
	# On block devices, their database is on the pool already in the first run.
	tests/integration/xlvd_onpool.sh | tests/integration/xlvd_crash_loop.sh) continue ;;
	*.sh) [ -f "$top_builddir/$t" ] && path="$top_builddir/$t" || path="$top_srcdir/$t"
	      set -- ${SHELL:-/bin/sh} "$path" ;;
	*) set -- "$top_builddir/$t" ;;
	esac
	log="$top_builddir/tests/onpool-suite.d/$(echo "$t" | tr / _).log"
	mkdir -p "$top_builddir/tests/onpool-suite.d"
	"$@" >"$log" 2>&1
	rc=$?
	case $rc in
	0) echo "PASS (on-pool): $t"; ran=$((ran + 1)) ;;
	77) echo "SKIP (on-pool): $t: $(tail -n1 "$log")"; skipped=$((skipped + 1)) ;;
	*) echo "FAIL (on-pool): $t (exit $rc), log in $log:"; tail -n 20 "$log"
	   failed="$failed $t" ;;
	esac
done
echo "$ran passed, $skipped skipped on the on-pool database"
[ -z "$failed" ] || { echo "failed on the on-pool database:$failed"; exit 1; }
exit 0
