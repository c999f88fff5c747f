#!/bin/sh
# 8 processes x 200 mixed create/delete/refresh on one database: no error reaches the user
# ("database is locked" included), and check passes after.
. "$(dirname "$0")/lib.sh"

PROCS=${XENVD_CONC_PROCS:-8}
OPS=${XENVD_CONC_OPS:-200}
make_device "$WORK/pool0.img" 2G
pool0="$WORK/pool0.img"
if [ -n "${XENVD_CONC_LOOP:-}" ]; then
	# A loop device: a block device, so the database lives on it (make check-concurrency-onpool).
	pool0=$(make_loop "$WORK/pool0.img") || exit 77
fi
expect_ok xl-vd format "$pool0" --extent-size 1M

worker() {
	w=$1
	ids=""
	i=0
	while [ $i -lt "$OPS" ]; do
		i=$((i + 1))
		op=$(( ($(od -An -N2 -tu2 /dev/urandom) + 0) % 3 ))
		n=$(echo $ids | wc -w)
		[ "$n" -eq 0 ] && op=0
		[ "$n" -ge 20 ] && op=2
		case $op in
		0)
			id=$(xl-vd create $(( (i % 4) + 1 ))M --expire 3600 2>>"$WORK/err.$w") ||
				{ echo "create failed" >>"$WORK/err.$w"; continue; }
			ids="$ids $id" ;;
		1)
			id=$(echo $ids | cut -d' ' -f$(( (i % n) + 1 )))
			xl-vd refresh "$id" --expire 7200 >/dev/null 2>>"$WORK/err.$w" ||
				echo "refresh $id failed" >>"$WORK/err.$w" ;;
		2)
			id=$(echo $ids | cut -d' ' -f1)
			xl-vd delete "$id" >/dev/null 2>>"$WORK/err.$w" ||
				echo "delete $id failed" >>"$WORK/err.$w"
			ids=$(echo $ids | cut -s -d' ' -f2-) ;;
		esac
	done
}

start=$(date +%s)
w=0
while [ $w -lt "$PROCS" ]; do
	: >"$WORK/err.$w"
	worker $w &
	w=$((w + 1))
done
wait
elapsed=$(($(date +%s) - start))
errors=$(cat "$WORK"/err.* | grep -v 'rounded up' || true)
if [ -n "$errors" ]; then
	fail "errors reached the user: $(echo "$errors" | sort | uniq -c | head)"
else
	pass "$PROCS x $OPS operations in ${elapsed}s, no error reached the user"
fi
expect_ok xl-vd gc
expect_ok xl-vd check && pass "check passes after the run" || fail "check: $(cat "$WORK/out")"
finish
