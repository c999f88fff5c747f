#!/bin/sh
# xl-vd's whole lifecycle on a file-backed pool: format, create, list, show, refresh, resize,
# delete, gc, check, pool-list, pool-remove, with table and JSON output.
. "$(dirname "$0")/lib.sh"

make_device "$WORK/pool0.img" 1G
make_device "$WORK/pool1.img" 256M
# On-pool, the device is larger by about what its metadata area takes (make_device).
[ $ONPOOL = 1 ] && extents='6[0-9]' || extents=63
expect_ok xl-vd format "$WORK/pool0.img" --extent-size 16M &&
	grep -q "$extents extents of 16.0M" "$WORK/out" && pass "format reports $extents extents" ||
	fail "format output: $(cat "$WORK/out")"
expect_ok xl-vd format "$WORK/pool1.img" --extent-size 16M --no-scrub

expect_ok xl-vd create 100M --name web1 && [ "$(cat "$WORK/out")" = 1 ] &&
	grep -q "rounded up to 112.0M" "$WORK/err" && pass "create prints id 1 and says it rounded" ||
	fail "create: $(cat "$WORK/out" "$WORK/err")"
expect_ok xl-vd create 1G --expire 1h && id2=$(cat "$WORK/out")
expect_ok xl-vd list
grep -Eq '^1 +web1 +112.0M live +never' "$WORK/out" && pass "list shows web1" ||
	fail "list: $(cat "$WORK/out")"
grep -Eq "^$id2 +- +1.0G +live +(59m|1h)" "$WORK/out" && pass "list shows time left" ||
	fail "list: $(cat "$WORK/out")"

expect_ok xl-vd show web1
grep -q "^extent map:" "$WORK/out" && grep -q "pool0.img" "$WORK/out" &&
	pass "show prints the extent map" || fail "show: $(cat "$WORK/out")"
expect_ok xl-vd --json show "$id2"
python3 -c 'import json,sys; d=json.load(sys.stdin); m=d["map"]; assert sum(s["length"] for s in m)==d["vd"]["size"]==1<<30, d' <"$WORK/out" &&
	pass "show --json: the map covers the VD" || fail "show --json: $(cat "$WORK/out")"

expect_ok xl-vd refresh "$id2" --expire 0 && expect_ok xl-vd --json list &&
	python3 -c 'import json,sys; v=[x for x in json.load(sys.stdin) if x["id"]=='"$id2"'][0]; assert v["expires"] is None' <"$WORK/out" &&
	pass "refresh --expire 0: never expires" || fail "refresh"

expect_ok xl-vd resize web1 200M && grep -q "now 208.0M" "$WORK/out" && pass "resize grows" ||
	fail "resize: $(cat "$WORK/out")"
expect_fail "pass --force" xl-vd resize web1 16M
expect_ok xl-vd resize --force web1 16M

expect_ok xl-vd delete "$id2"
expect_ok xl-vd list && grep -Eq "^$id2 .* expired" "$WORK/out" && pass "deleted VD shows expired" ||
	fail "list after delete: $(cat "$WORK/out")"
expect_ok xl-vd gc && grep -q "Reclaimed 1 expired" "$WORK/out" && pass "gc reclaims it" ||
	fail "gc: $(cat "$WORK/out")"
expect_ok xl-vd list && ! grep -Eq "^$id2 " "$WORK/out" && pass "reclaimed VD leaves the list" ||
	fail "list after gc"
expect_ok xl-vd list --all && grep -Eq "^$id2 .* deleted" "$WORK/out" && pass "list --all keeps history" ||
	fail "list --all"

expect_ok xl-vd check && pass "check: consistent"
expect_ok xl-vd pool-list && [ "$(grep -c '^[0-9a-f]\{8\}-' "$WORK/out")" = 2 ] &&
	pass "pool-list shows 2 devices" || fail "pool-list: $(cat "$WORK/out")"
[ $ONPOOL = 1 ] && where="Database: on the pool's metadata area, $WORK/pool0.img@1048576 + $WORK/pool1.img@1048576" ||
	where="Database: $XENVD_DB"
grep -qF "$where" "$WORK/out" && pass "pool-list says where the database lives" ||
	fail "pool-list does not say '$where': $(cat "$WORK/out")"
expect_ok xl-vd pool-remove "$WORK/pool1.img"
expect_ok xl-vd format "$WORK/pool1.img" --extent-size 16M && pass "a removed device can be formatted again"

# Another host's attachment (a shared pool's row, host_id 2; backend paths repeat between
# hosts): list and show name the host, and growing the VD is refused naming it.
db_sql "INSERT INTO attachments (host_id, backend_path, vd_id, domid, devid, mode, vdev, dm_name,
	since) VALUES (2, '/local/domain/0/backend/vbd/5/51712', 1, 5, 51712, 'w', 'xvda', 'vd-1', 1)"
expect_ok xl-vd list && grep -Eq '^1 +web1 .* h2:d5:xvda\(w\)$' "$WORK/out" &&
	pass "list names the host of another host's attachment" || fail "list: $(cat "$WORK/out")"
expect_ok xl-vd show web1 && grep -q "host 2 domain 5 xvda" "$WORK/out" &&
	pass "show names the host" || fail "show: $(cat "$WORK/out")"
expect_fail "attached on host 2" xl-vd resize web1 300M
head -c 65536 /dev/zero >"$WORK/img"
expect_fail "attached writable to domain 5 (xvda) on host 2" xl-vd import web1 "$WORK/img"
db_sql "DELETE FROM attachments WHERE host_id = 2"

for cmd in format pool-list pool-remove create list show refresh resize delete gc check; do
	xl-vd "$cmd" --help >"$WORK/out" 2>&1 && grep -q "^Usage: xl-vd" "$WORK/out" ||
		fail "$cmd --help"
done
pass "--help on every subcommand"
finish
