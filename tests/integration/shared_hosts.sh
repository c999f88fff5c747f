#!/bin/sh
# Attachments across the hosts of a shared pool, with host liveness from REAL sanlock daemons:
# two daemons side by side (each its own run directory and host id, no watchdog), both hosts
# on one loop device. lockspace-start starts each host's lease holder; another host's
# attachment is shown with its host, counted by host-list, blocks an online grow, and is
# left alone by check --repair while its host lives. With XENVD_SHARED_DEAD=1 (make
# check-shared-dead; about 80 s) host 2's sanlock is killed and host 1 waits until sanlock
# declares it dead (host_dead = 8 x io_timeout + 60 s), then check reports its attachment
# stale and --repair drops it; the time is printed against the formula.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/shared-lib.sh"

truncate -s 256M "$WORK/san.img"
L=$(make_loop "$WORK/san.img") || exit 77
start_daemon "$WORK/sl.a"
start_daemon "$WORK/sl.b"

expect_ok a xl-vd format --shared --extent-size 4M "$L" || exit 1
expect_ok a xl-vd lockspace-start || exit 1
# host 2 sees the pool device at the same path: host 1's locator serves it as well
mkdir -p "$WORK/db.b" && cp "$WORK/db.a/xenvd.db" "$WORK/db.b/xenvd.db"
expect_ok b xl-vd lockspace-start || exit 1

# each host's holder runs, registered with its own sanlock daemon
for h in a b; do
	pid=$(cat "$WORK/run.$h/xenvd-leased.pid" 2>/dev/null)
	if [ -n "$pid" ] && SANLOCK_RUN_DIR=$WORK/sl.$h sanlock client status | grep -q "^p $pid"; then
		pass "lockspace-start on host $h started its lease holder (pid $pid)"
	else
		fail "no lease holder registered on host $h: $(SANLOCK_RUN_DIR=$WORK/sl.$h sanlock client status)"
	fi
done

expect_ok a xl-vd create 8M --name web || exit 1
id=$(cat "$WORK/out")
# block-vd's order (the attacher before the database): the holder holds the pool's lease
# before the dm device is made, and lets go after (a stand-in device-mapper: none here)
order=$(a "${top_builddir:-.}/tests/holder-probe" late-db "$id" 2>"$WORK/err")
[ "$order" = "hold create release " ] &&
	pass "an attach made before its database was open holds the pool's lease: $order" ||
	fail "attach order '$order': $(cat "$WORK/err")"
# what host 2's block-vd records for its domain 5 (the same backend path a host 1 domain 5
# would have)
b "$VDSQL" "$WORK/db.b/xenvd.db" "INSERT INTO attachments (host_id, backend_path, vd_id, domid,
	devid, mode, vdev, dm_name, since, vm_uuid) VALUES (2, '/local/domain/0/backend/vbd/5/51712',
	$id, 5, 51712, 'w', 'xvda', 'vd-$id', 1, '0d9e8f7a-6b5c-4d3e-9f21-aabbccddeeff')" ||
	fail "cannot record host 2's attachment"

expect_ok a xl-vd show web && grep -q "host 2 domain 5 xvda" "$WORK/out" &&
	pass "host 1 shows host 2's attachment" || fail "show on host 1: $(cat "$WORK/out")"
expect_ok b xl-vd show web && grep -q "host 2 (this host) domain 5" "$WORK/out" &&
	pass "host 2 shows it as its own" || fail "show on host 2: $(cat "$WORK/out")"
# sanlock calls a host "unknown" until it has watched its renewals for a while
i=0
until a xl-vd host-list 2>/dev/null | grep -Eq '^2 +live ' || [ $i -ge 30 ]; do
	sleep 1
	i=$((i + 1))
done
expect_ok a xl-vd host-list && grep -Eq '^2 +live +[0-9]+ +1$' "$WORK/out" &&
	grep -Eq '^1\* +live +[0-9]+ +0$' "$WORK/out" &&
	pass "host-list counts each host's attachments" || fail "host-list: $(cat "$WORK/out")"
expect_fail "attached on host 2" a xl-vd resize web 16M
# host 2 is live: check on host 1 finds nothing to say about its attachment, and --repair
# leaves it
expect_ok a xl-vd check --repair && ! grep -q "host 2" "$WORK/out" &&
	pass "check --repair leaves a live host's attachment alone" ||
	fail "check on host 1: $(cat "$WORK/out" "$WORK/err")"
[ "$(a "$VDSQL" "$WORK/db.a/xenvd.db" "SELECT count(*) FROM attachments WHERE host_id = 2")" = 1 ] ||
	fail "host 2's attachment is gone"

if [ "${XENVD_SHARED_DEAD:-0}" = 1 ]; then
	# Host 2 stops renewing (its sanlock is killed: as far as host 1 can tell, host 2 is cut
	# off); host 1 waits for sanlock to declare it dead.
	t0=$(date +%s)
	kill -9 "$(cat "$WORK/sl.b/daemon.pid")"
	for p in $(pgrep -f "sanlock daemon .*-e sl.b-$$"); do kill -9 "$p"; done
	state=live
	while [ "$state" != dead ] && [ $(($(date +%s) - t0)) -lt 200 ]; do
		sleep 2
		a xl-vd host-list >"$WORK/hl" 2>&1
		state=$(awk '$1 == "2" { print $2 }' "$WORK/hl")
		case $state in
		dead) ;;
		*) a xl-vd check >"$WORK/chk" 2>&1
		   grep -q "host 2 is stale" "$WORK/chk" &&
			fail "host 2's attachment called stale while host 2 is $state" ;;
		esac
	done
	took=$(($(date +%s) - t0))
	[ "$state" = dead ] && pass "sanlock declared host 2 dead ${took} s after its daemon died (host_dead = 8 x $IO_TIMEOUT + 60 = $((8 * IO_TIMEOUT + 60)) s after its last renewal)" ||
		fail "host 2 not dead after ${took} s: $(cat "$WORK/hl")"
	a xl-vd check >"$WORK/out" 2>&1
	grep -q "on host 2 is stale: sanlock declares host 2 dead" "$WORK/out" &&
		pass "check on host 1 reports host 2's attachment stale" ||
		fail "check after host 2 died: $(cat "$WORK/out")"
	expect_ok a xl-vd check --repair && grep -q "dropped stale attachment .* on dead host 2" "$WORK/out" &&
		pass "check --repair drops it" || fail "repair: $(cat "$WORK/out" "$WORK/err")"
	expect_ok a xl-vd resize web 16M && pass "the VD grows once host 2's attachment is gone"
fi
finish
