#!/bin/sh
# A pool on block devices (loop devices) carries its own database: format puts it on the first
# device and a second copy on the second; pool-list says where; a dom0 that lost its database
# directory gets every VD and attachment back with pool-import, even with one copy zeroed; a
# damaged area is refused, never re-initialised; --file-database keeps the file.
. "$(dirname "$0")/lib.sh"

truncate -s 1G "$WORK/a.img"
truncate -s 512M "$WORK/b.img"
A=$(make_loop "$WORK/a.img") || exit 77
B=$(make_loop "$WORK/b.img") || exit 77

expect_ok xl-vd format "$A" --extent-size 4M
expect_ok xl-vd format "$B" --extent-size 4M
expect_ok xl-vd pool-list &&
	grep -qF "Database: on the pool's metadata area, $A@1048576 + $B@1048576" "$WORK/out" &&
	pass "pool-list: the database on both devices" || fail "pool-list: $(cat "$WORK/out")"
head -c 64 "$XENVD_DB" | grep -q 'xenvd on-pool database locator' &&
	pass "dom0 keeps only a locator at $XENVD_DB" || fail "$XENVD_DB is not a locator"

expect_fail "it carries the pool's database" xl-vd pool-remove "$A"
expect_ok xl-vd create 100M --name web
expect_ok xl-vd create 600M --expire 3600
expect_ok xl-vd create 40M --name gone
expect_ok xl-vd resize web 300M
expect_ok xl-vd delete gone
expect_ok xl-vd gc
# The second copy falls behind (as when a crash lands between the two copies' writes, or
# the device was away): the next command brings it in step before writing.
dd if="$B" of="$WORK/b.area" bs=1M skip=1 count=32 status=none
expect_ok xl-vd create 12M --name late && late=$(cat "$WORK/out")
dd if="$WORK/b.area" of="$B" bs=1M seek=1 conv=notrunc status=none
expect_ok xl-vd refresh late --expire 0
# Read the second copy alone: the first's header block set aside for a moment.
dd if="$A" of="$WORK/a.header" bs=4096 skip=256 count=1 status=none
dd if=/dev/zero of="$A" bs=4096 seek=256 count=1 conv=notrunc status=none
expect_ok xl-vd --json list && grep -q '"name":"late"' "$WORK/out" &&
	python3 -c 'import json,sys; v=[x for x in json.load(sys.stdin) if x["name"]=="late"][0]; assert v["expires"] is None' <"$WORK/out" &&
	pass "the older copy was brought in step: it has the VD made while it was behind" ||
	fail "the second copy alone: $(cat "$WORK/out" "$WORK/err")"
dd if="$WORK/a.header" of="$A" bs=4096 seek=256 conv=notrunc status=none
expect_ok xl-vd delete "$late" && expect_ok xl-vd gc

# An attachment record as block-vd writes it (no xenstore here).
db_sql "INSERT INTO attachments (backend_path, vd_id, domid, devid, mode, vdev, dm_name, since)
	VALUES ('/local/domain/0/backend/vbd/7/51712', 1, 7, 51712, 'w', 'xvda', 'vd-1', 1700000000)"
before=$(db_dump)
expect_ok xl-vd check

# dom0 loses its database directory.
rm -rf "$(dirname "$XENVD_DB")"
expect_fail "create a pool first" xl-vd list
truncate -s 16M "$WORK/blank.img"
expect_fail "blank.img: it carries no xenvd label" xl-vd pool-import "$WORK/blank.img"
expect_ok xl-vd pool-import "$A" "$B" &&
	grep -q "2 VD(s), 1 attachment(s)" "$WORK/out" && pass "pool-import: $(cat "$WORK/out")" ||
	fail "pool-import: $(cat "$WORK/out" "$WORK/err")"
[ "$before" = "$(db_dump)" ] && pass "every VD, extent and attachment record is back" ||
	fail "the imported database differs"
expect_ok xl-vd check && pass "check passes after the import" || fail "check: $(cat "$WORK/out")"
expect_ok xl-vd pool-import "$A" && pass "importing the same pool again is harmless"
expect_ok xl-vd create 8M && expect_ok xl-vd delete "$(cat "$WORK/out")"
before=$(db_dump)

# The first copy zeroed: the pool imports from the second.
dd if=/dev/zero of="$A" bs=4096 seek=256 count=1 conv=notrunc status=none
rm -rf "$(dirname "$XENVD_DB")"
expect_ok xl-vd pool-import "$A" "$B" && grep -q "database on $B@1048576" "$WORK/out" &&
	grep -q "blank (its header was zeroed)" "$WORK/err" &&
	pass "a zeroed first copy: imported from the second, with a warning" ||
	fail "import from the second copy: $(cat "$WORK/out" "$WORK/err")"
[ "$before" = "$(db_dump)" ] && pass "the second copy has everything" ||
	fail "the second copy differs"
expect_fail "only 1 of the 2 copies of the pool's metadata area serve" xl-vd check
grep -q "problem" "$WORK/out" && ! grep -v "metadata area\|problem\|device-mapper" "$WORK/out" |
	grep -q . && pass "check on the second copy: consistent, the lost copy reported" ||
	fail "check on the second copy: $(cat "$WORK/out")"
expect_ok xl-vd check --repair && grep -q "copy on $A again" "$WORK/out" &&
	expect_ok xl-vd pool-list && grep -qF "$A@1048576 + $B@1048576" "$WORK/out" &&
	expect_ok xl-vd check && pass "check --repair made the zeroed copy again" ||
	fail "check --repair: $(cat "$WORK/out" "$WORK/err")"
before=$(db_dump)
rm -rf "$(dirname "$XENVD_DB")"
expect_ok xl-vd pool-import "$A" && [ "$before" = "$(db_dump)" ] &&
	pass "the repaired copy alone imports the whole pool" || fail "import of the repaired copy"

# Both copies damaged: refused, with the device named, and left as they were.
rm -rf "$(dirname "$XENVD_DB")"
dd if=/dev/zero of="$A" bs=4096 seek=256 count=1 conv=notrunc status=none
printf 'X' | dd of="$B" bs=1 seek=$((1048576 + 40)) conv=notrunc status=none
cp "$WORK/b.img" "$WORK/b.before"
expect_fail "metadata area on $B (at 1048576) has a damaged header (bad checksum)" \
	xl-vd pool-import "$A" "$B"
cmp -s "$WORK/b.img" "$WORK/b.before" && pass "the damaged area was not re-initialised" ||
	fail "the damaged area was written to"
[ ! -e "$XENVD_DB" ] && pass "a refused import leaves no locator" || fail "a locator was left"
expect_fail "belongs to another xenvd pool" xl-vd format "$B"

# --file-database: a block device pool that keeps the file database.
export XENVD_DB="$WORK/filedb/xenvd.db"
truncate -s 256M "$WORK/c.img"
C=$(make_loop "$WORK/c.img") || exit 77
expect_ok xl-vd format "$C" --extent-size 4M --file-database
expect_ok xl-vd pool-list && grep -qF "Database: $XENVD_DB" "$WORK/out" &&
	head -c 16 "$XENVD_DB" | grep -q 'SQLite format 3' &&
	pass "--file-database keeps the database in $XENVD_DB" ||
	fail "--file-database: $(cat "$WORK/out")"

# ... and moves it onto the pool with one command: the device's last free extents become the
# metadata area; every VD stays where it is.
expect_ok xl-vd create 100M --name keep
expect_ok xl-vd create 60M --expire 3600
expect_ok xl-vd create 92M # the rest of the pool, its last extents included
expect_fail "hold data of VD 3" xl-vd db-to-pool
expect_ok xl-vd delete 3 && expect_ok xl-vd gc
# (the Expires column counts down: compare id, name, size and state)
expect_ok xl-vd list && awk '{print $1, $2, $3, $4}' "$WORK/out" >"$WORK/list.before"
expect_ok xl-vd show keep && cp "$WORK/out" "$WORK/show.before"
expect_ok xl-vd db-to-pool && pass "db-to-pool: $(cat "$WORK/out")"
expect_ok xl-vd pool-list && grep -q "Database: on the pool's metadata area, $C@" "$WORK/out" &&
	pass "the database is on $C now" || fail "pool-list after db-to-pool: $(cat "$WORK/out")"
expect_ok xl-vd list && awk '{print $1, $2, $3, $4}' "$WORK/out" | cmp -s - "$WORK/list.before" &&
	expect_ok xl-vd show keep && cmp -s "$WORK/out" "$WORK/show.before" &&
	pass "every VD and its extent map as before" || fail "VDs changed: $(cat "$WORK/out")"
expect_ok xl-vd check && pass "check passes after the move" || fail "check: $(cat "$WORK/out")"
[ -f "$XENVD_DB.pre-pool" ] && pass "the old file is kept as $XENVD_DB.pre-pool" ||
	fail "no $XENVD_DB.pre-pool"
expect_fail "on the pool already" xl-vd db-to-pool
rm -rf "$(dirname "$XENVD_DB")"
expect_ok xl-vd pool-import "$C" && grep -q "2 VD(s)" "$WORK/out" && expect_ok xl-vd check &&
	pass "a moved pool imports on a fresh dom0" || fail "import after the move: $(cat "$WORK/out")"
# A full metadata area: the format that would outgrow it fails with the way forward, and the
# pool is as it was.
export XENVD_DB="$WORK/fulldb/xenvd.db"
truncate -s 2G "$WORK/d.img"
truncate -s 64G "$WORK/big.img"
D=$(make_loop "$WORK/d.img") || exit 77
expect_ok xl-vd format "$D" --extent-size 1M --max-extents 2000
expect_fail "metadata area is full" xl-vd format "$WORK/big.img" --extent-size 1M &&
	pass "a format past the area's size is refused: $(head -c 160 "$WORK/err")"
expect_ok xl-vd pool-list && [ "$(grep -c "$WORK/big.img" "$WORK/out")" = 0 ] &&
	expect_ok xl-vd check && expect_ok xl-vd create 10M &&
	pass "the pool is as before, and still takes changes" ||
	fail "after the refused format: $(cat "$WORK/out" "$WORK/err")"
finish
