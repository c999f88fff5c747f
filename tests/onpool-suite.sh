#!/bin/sh
# The whole suite a second time with every pool's database on the pool itself
# (XENVD_DB_STORAGE=pool: even a file-backed pool's first device carries its metadata area),
# so that everything the file database passes, the on-pool database passes too. make check
# passes its TESTS in ONPOOL_SUITE; all but this one and the QEMU bed run, in two lanes.
: "${top_builddir:?}" "${top_srcdir:?}"
export XENVD_DB_STORAGE=pool
out="$top_builddir/tests/onpool-suite.d"
rm -rf "$out"
mkdir -p "$out"

# lane N: every other test, from the Nth on; one status line per test in $out/lane.N
lane() {
	i=0
	for t in $ONPOOL_SUITE; do
		case $t in
		tests/onpool-suite.sh | tests/e2e/* | tests/fuzz/*) continue ;;
		# On block devices, their database is on the pool already in the first run.
		tests/integration/xlvd_onpool.sh | tests/integration/xlvd_crash_loop.sh) continue ;;
		# A shared pool's database is always on the pool.
		tests/integration/xlvd_shared.sh) continue ;;
		# sanlock and the lease holder; shared pools keep their database on the pool.
		tests/integration/holder_sanlock.sh | tests/integration/shared_hosts.sh) continue ;;
		esac
		i=$((i + 1))
		[ $((i % 2)) = "$1" ] || continue
		case $t in
		*.sh) [ -f "$top_builddir/$t" ] && path="$top_builddir/$t" || path="$top_srcdir/$t"
		      set -- "$1" ${SHELL:-/bin/sh} "$path" ;;
		*) set -- "$1" "$top_builddir/$t" ;;
		esac
		log="$out/$(echo "$t" | tr / _).log"
		lane_no=$1
		shift
		"$@" >"$log" 2>&1
		echo "$? $t $log" >>"$out/lane.$lane_no"
		set -- "$lane_no"
	done
}
lane 0 &
lane 1 &
wait

failed=""
ran=0
skipped=0
while read -r rc t log; do
	case $rc in
	0) echo "PASS (on-pool): $t"; ran=$((ran + 1)) ;;
	77) echo "SKIP (on-pool): $t: $(tail -n1 "$log")"; skipped=$((skipped + 1)) ;;
	*) echo "FAIL (on-pool): $t (exit $rc), log in $log:"; tail -n 20 "$log"
	   failed="$failed $t" ;;
	esac
done <<EOF2
$(cat "$out"/lane.* 2>/dev/null)
EOF2
echo "$ran passed, $skipped skipped on the on-pool database"
[ "$ran" -gt 0 ] || { echo "no test ran"; exit 1; }
[ -z "$failed" ] || { echo "failed on the on-pool database:$failed"; exit 1; }
exit 0
