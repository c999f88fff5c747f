#!/bin/sh
# A pool shared by two hosts through REAL sanlock daemons: two daemons side by side on this
# machine (each its own run directory, SANLOCK_RUN_DIR, and its own host id), no watchdog
# (-w 0; fencing is the QEMU bed's), both "hosts" on one loop device. format --shared,
# lockspace-start, the errors for a missing host_id / a host not joined / two hosts claiming
# one id, one lease acquisition per operation, creates and deletes racing between hosts and
# between processes of one host with no error reaching the user and no extent or id given
# twice, pool-share of an existing pool, lockspace-stop refused while attachments remain.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shared-lib.sh"
printf 'lockspace_io_timeout = 1\n' >"$WORK/none.conf"

truncate -s 256M "$WORK/san.img"
L=$(make_loop "$WORK/san.img") || exit 77
start_daemon "$WORK/sl.a"
start_daemon "$WORK/sl.b"

# A file-database pool cannot be shared.
truncate -s 64M "$WORK/file.img"
expect_fail "a pool whose database is a file cannot be shared" \
	a xl-vd --db "$WORK/file/xenvd.db" format --shared --file-database "$WORK/file.img"
[ ! -e "$WORK/file/xenvd.db" ] && pass "nothing was formatted" || fail "a file database was made"
expect_ok a xl-vd --db "$WORK/file/xenvd.db" format --extent-size 4M --file-database "$WORK/file.img"
expect_fail "a pool whose database is a file cannot be shared" \
	a xl-vd --db "$WORK/file/xenvd.db" pool-share

# No sanlock daemon answering: refused before anything is written.
expect_fail "the sanlock daemon does not answer" \
	a env SANLOCK_RUN_DIR="$WORK/nowhere" xl-vd format --shared --extent-size 4M "$L"
[ ! -e "$WORK/db.a/xenvd.db" ] && ! xl-vd pool-import "$L" >/dev/null 2>&1 &&
	pass "no pool was made without sanlock" || fail "format --shared without sanlock left a pool"
expect_ok a xl-vd format --shared --extent-size 4M "$L" &&
	pass "format --shared: $(cat "$WORK/out")"
expect_fail "is shared and this host has not joined its lockspace; run 'xl-vd lockspace-start'" \
	a xl-vd list
expect_fail "host_id" a env XENVD_CONF="$WORK/none.conf" xl-vd list
expect_fail "set host_id (1-2000" a env XENVD_CONF="$WORK/none.conf" xl-vd lockspace-start

t0=$(date +%s)
expect_ok a xl-vd lockspace-start && pass "host 1 joined in $(($(date +%s) - t0)) s"
expect_ok a xl-vd list
expect_ok a xl-vd pool-list && grep -q "^Shared: sanlock lease area on device" "$WORK/out" &&
	pass "pool-list says the pool is shared" || fail "pool-list: $(cat "$WORK/out")"

# A third host claims host 1 too. sanlock tells a live owner only after watching its delta
# lease for host_dead_seconds (8 x io_timeout + 60 s, 68 s here): that runs meanwhile, and its
# verdict is read at the end, while host 1 still renews.
start_daemon "$WORK/sl.dup" host-dup
dup_t0=$(date +%s)
SANLOCK_RUN_DIR=$WORK/sl.dup XENVD_CONF=$WORK/a.conf XENVD_RUN_DIR=$WORK/run.dup \
	XENVD_DB=$WORK/db.a/xenvd.db xl-vd lockspace-start >"$WORK/dup.out" 2>&1 &
dup_pid=$!

# Host B brings the pool to its dom0: pool-import tells it to join first, and keeps the locator
# for lockspace-start to find the lease area with.
expect_fail "has not joined its lockspace; run 'xl-vd lockspace-start', then run this pool-import" \
	b xl-vd pool-import "$L"
expect_ok b xl-vd lockspace-start
expect_ok b xl-vd pool-import "$L"
# A host just joined is "unknown" to the others until they have seen it renew (a few s).
i=0
while expect_ok a xl-vd host-list && ! grep -Eq '^2 +live ' "$WORK/out" && [ $i -lt 40 ]; do
	sleep 0.5
	i=$((i + 1))
done
grep -Eq '^1\* +live ' "$WORK/out" && grep -Eq '^2 +live ' "$WORK/out" &&
	pass "host-list on A: two live hosts, A marked (after $i polls)" ||
	fail "host-list: $(cat "$WORK/out")"

# One acquisition of the metadata lease per operation.
for op in "create 8M --name one" "list" "show one" "delete one" "gc"; do
	rm -f "$WORK/stats"
	# shellcheck disable=SC2086
	expect_ok a env XENVD_LEASE_STATS="$WORK/stats" xl-vd $op
	n=$(wc -l <"$WORK/stats" 2>/dev/null || echo 0)
	[ "$n" = 1 ] && pass "'xl-vd $op': 1 lease acquisition" ||
		fail "'xl-vd $op': $n lease acquisitions"
done

# Contention: two processes on host A and one on host B create and delete at once.
racer() {
	host=$1 tag=$2
	i=0
	while [ $i -lt 12 ]; do
		if ! id=$($host xl-vd create 4M 2>>"$WORK/race.err"); then
			echo "create failed on $tag" >>"$WORK/race.err"
		else
			echo "$id" >>"$WORK/ids.$tag"
			[ $((i % 3)) = 2 ] && { $host xl-vd delete "$id" >/dev/null 2>>"$WORK/race.err" ||
				echo "delete failed on $tag" >>"$WORK/race.err"; }
		fi
		i=$((i + 1))
	done
}
: >"$WORK/race.err"
t0=$(date +%s)
racer a a1 &
p1=$!
racer a a2 &
p2=$!
racer b b1 &
p3=$!
wait $p1 $p2 $p3
secs=$(($(date +%s) - t0))
[ ! -s "$WORK/race.err" ] && pass "36 creates and 12 deletes on two hosts at once, no error ($secs s)" ||
	fail "errors reached the user: $(head -n 5 "$WORK/race.err")"
dups=$(cat "$WORK"/ids.* | sort | uniq -d)
[ -z "$dups" ] && [ "$(cat "$WORK"/ids.* | wc -l)" = 36 ] &&
	pass "36 distinct VD ids across both hosts" || fail "VD ids given twice: $dups"
expect_ok a xl-vd check && pass "check on A" || fail "check on A: $(cat "$WORK/out")"
expect_ok b xl-vd check && pass "check on B" || fail "check on B: $(cat "$WORK/out")"
# Every create counted once, every delete once (check above: no extent with two owners).
expect_ok a xl-vd --json list &&
	python3 -c '
import json, sys
vds = json.load(open(sys.argv[1]))
live = [v for v in vds if v.get("state") == "live"]
assert len(live) == 24, len(live)
' "$WORK/out" && pass "24 live VDs (36 made, 12 deleted) on A" || fail "list on A: $(cat "$WORK/out")"

# Leases held on behalf of another registered process, shared or exclusive, across hosts; the
# holder's death lets its leases go.
PROBE=${top_builddir:-.}/tests/sanlock-probe
expect_ok a "$PROBE" format 2 vdhold
mkfifo "$WORK/h1.in" "$WORK/h2.in"
# (the holders never outlive a broken test: timeout)
a timeout 120 "$PROBE" register <"$WORK/h1.in" >"$WORK/h1.pid" 2>&1 &
h1=$!
exec 7>"$WORK/h1.in"
b timeout 120 "$PROBE" register <"$WORK/h2.in" >"$WORK/h2.pid" 2>&1 7>&- &
h2=$!
exec 8>"$WORK/h2.in"
i=0
while { [ ! -s "$WORK/h1.pid" ] || [ ! -s "$WORK/h2.pid" ]; } && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
p1=$(cat "$WORK/h1.pid") p2=$(cat "$WORK/h2.pid")
expect_ok a "$PROBE" acquire "$p1" 2 vdhold shared
expect_ok b "$PROBE" acquire "$p2" 2 vdhold shared &&
	pass "a lease held shared by holders on two hosts"
SANLOCK_RUN_DIR=$WORK/sl.b sanlock client status | grep -q ":vdhold:.* p $p2\$" &&
	pass "sanlock shows host B's lease held for pid $p2" ||
	fail "sanlock client status on B: $(SANLOCK_RUN_DIR=$WORK/sl.b sanlock client status)"
expect_ok b "$PROBE" release "$p2" 2 vdhold
b "$PROBE" acquire "$p2" 2 vdhold exclusive 2>"$WORK/err"
[ $? = 3 ] && pass "exclusive refused as busy while host A holds it shared" ||
	fail "exclusive while shared elsewhere: $(cat "$WORK/err")"
exec 7>&-
wait $h1
expect_ok b "$PROBE" acquire "$p2" 2 vdhold exclusive &&
	pass "host A's holder exited: its lease went with it, B takes it exclusive"
exec 8>&-
wait $h2

# pool-share converts an existing on-pool pool, its VDs kept.
truncate -s 256M "$WORK/c.img"
C=$(make_loop "$WORK/c.img") || exit 77
c() { a env XENVD_DB="$WORK/db.c/xenvd.db" "$@"; }
expect_ok c xl-vd format --extent-size 4M "$C"
expect_ok c xl-vd create 12M --name kept
c "$VDSQL" "$WORK/db.c/xenvd.db" "INSERT INTO attachments (backend_path, vd_id, domid, devid, mode, vdev, dm_name, since)
	VALUES ('/local/domain/0/backend/vbd/9/51712', 1, 9, 51712, 'w', 'xvda', 'vd-1', 1700000000)" ||
	fail "cannot record an attachment"
expect_fail "cannot be made shared while VDs are attached: VD 1 (domain 9)" c xl-vd pool-share
c "$VDSQL" "$WORK/db.c/xenvd.db" "DELETE FROM attachments" || fail "cannot drop the attachment"
expect_ok c xl-vd pool-share && pass "pool-share: $(cat "$WORK/out")"
expect_fail "has not joined its lockspace" c xl-vd list
expect_ok c xl-vd lockspace-start
expect_fail "is shared already" c xl-vd pool-share
expect_ok c xl-vd show kept && pass "the converted pool keeps its VD"
expect_ok c xl-vd check && pass "check on the converted pool" || fail "check: $(cat "$WORK/out")"
expect_ok c xl-vd lockspace-stop

if wait $dup_pid; then
	fail "a second host joined as host 1: $(cat "$WORK/dup.out")"
elif grep -q "two hosts claim one id" "$WORK/dup.out"; then
	pass "a second host claiming host 1 is refused after $(($(date +%s) - dup_t0)) s: $(cat "$WORK/dup.out")"
else
	fail "a second host claiming host 1: $(cat "$WORK/dup.out")"
fi

# lockspace-stop is refused while this host has attachments of the pool.
# (an attachment row is its host's: host A is host 1)
a "$VDSQL" "$WORK/db.a/xenvd.db" "INSERT INTO attachments (host_id, backend_path, vd_id, domid, devid, mode, vdev, dm_name, since)
	VALUES (1, '/local/domain/0/backend/vbd/7/51712', 2, 7, 51712, 'w', 'xvda', 'vd-2', 1700000000)" ||
	fail "cannot record an attachment"
expect_fail "attachment(s) of pool" a xl-vd lockspace-stop
a "$VDSQL" "$WORK/db.a/xenvd.db" "DELETE FROM attachments" || fail "cannot drop the attachment"
expect_ok a xl-vd lockspace-stop
expect_fail "has not joined its lockspace" a xl-vd list
expect_ok b xl-vd list && pass "host B goes on while A has left"
expect_ok b xl-vd lockspace-stop

[ $FAILS = 0 ] || exit 1
