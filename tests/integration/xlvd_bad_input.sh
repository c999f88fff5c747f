#!/bin/sh
# Bad input: each a clear error naming the object and what to do, exit non-zero, and the
# database exactly as it was.
. "$(dirname "$0")/lib.sh"

expect_fail "create a pool first" xl-vd list
make_device "$WORK/pool0.img" 256M
expect_ok xl-vd format "$WORK/pool0.img" --extent-size 4M
expect_ok xl-vd create 8M --expire 60
before=$(db_dump)

expect_fail "invalid size '20Q'" xl-vd create 20Q
expect_fail "invalid size '-1G'" xl-vd create -- -1G
expect_fail "invalid size '0'" xl-vd create 0
expect_fail "invalid --expire" xl-vd create 1G --expire soon
# On-pool, the device is larger by what its metadata area takes (make_device).
[ $ONPOOL = 1 ] && free='[0-9.]*M' || free=244.0M
expect_fail "not enough space in the pool: 1.0T needed, $free free" xl-vd create 1T
expect_fail "VD 42 does not exist" xl-vd show 42
expect_fail "neither a VD id" xl-vd show 'x;drop table vdisks'
expect_fail "VD 42 does not exist" xl-vd delete vd:42
expect_fail "neither a VD id" xl-vd refresh 007 --expire 10
expect_fail "no VD is named 'nosuch'" xl-vd resize nosuch 1G
expect_fail "VD name 'a b' is invalid" xl-vd create 1M --name 'a b'
expect_fail "unknown command" xl-vd frobnicate
expect_fail "expected one SIZE" xl-vd create
expect_fail "already in this pool" xl-vd format "$WORK/pool0.img"
expect_fail "still holds extents of VD(s) 1; delete those VDs" xl-vd pool-remove "$WORK/pool0.img"
expect_fail "not a device of this pool" xl-vd pool-remove "$WORK/nosuch.img"
[ "$before" = "$(db_dump)" ] && pass "refused commands changed nothing" || fail "the database changed"

# An expired VD.
XENVD_NOW=$(($(date +%s) + 3600)) expect_fail "has expired; renew it with 'xl-vd refresh 1'" xl-vd resize 1 16M
[ "$before" = "$(db_dump)" ] && pass "nothing changed" || fail "the database changed"

# Devices that are not what they seem.
make_device "$WORK/small.img" 1M
expect_fail "too small" xl-vd format "$WORK/small.img" --extent-size 4M
make_device "$WORK/fs.img" 16M
mke2fs -q -F -t ext4 -L guestroot "$WORK/fs.img" >/dev/null 2>&1
expect_fail "existing ext4 signature labelled 'guestroot'; pass --force" xl-vd format "$WORK/fs.img"
make_device "$WORK/part.img" 16M
printf 'label: gpt\n,8M\n' | sfdisk -q "$WORK/part.img" >/dev/null 2>&1
expect_fail "gpt partition table" xl-vd format "$WORK/part.img"
expect_fail "extent size" xl-vd format "$WORK/fs.img" --force --extent-size 1000
expect_fail "pool's extent size is 4.0M" xl-vd format "$WORK/fs.img" --force --extent-size 8M
[ "$before" = "$(db_dump)" ] && pass "refused formats changed nothing" || fail "the database changed"

# A truncated device and a foreign label: the VD on it is refused, with the device named.
cp "$WORK/pool0.img" "$WORK/pool0.bak"
dd if=/dev/zero of="$WORK/pool0.img" bs=512 count=8 conv=notrunc status=none
expect_fail "carries no xenvd label" xl-vd check
cp "$WORK/pool0.bak" "$WORK/pool0.img"
printf 'X' | dd of="$WORK/pool0.img" bs=1 seek=40 conv=notrunc status=none
expect_fail "damaged" xl-vd check
cp "$WORK/pool0.bak" "$WORK/pool0.img"
truncate -s 1000 "$WORK/pool0.img"
# On-pool, the device held the database too: that is what is missing first.
[ $ONPOOL = 1 ] && missing="lies past the end of the device (truncated?)" ||
	missing="carries no xenvd label"
expect_fail "$missing" xl-vd check
cp "$WORK/pool0.bak" "$WORK/pool0.img"
# A label from another pool on the same path.
other="$WORK/other/xenvd.db"
make_device "$WORK/pool0.img" 256M
: >"$WORK/pool0.img"; make_device "$WORK/pool0.img" 256M
XENVD_DB="$other" xl-vd format "$WORK/pool0.img" --extent-size 4M >/dev/null
expect_fail "another pool" xl-vd check
[ $ONPOOL = 1 ] && other_pool="metadata area on $WORK/pool0.img belongs to another pool" ||
	other_pool="belongs to another xenvd pool"
expect_fail "$other_pool" xl-vd format "$WORK/pool0.img"
cp "$WORK/pool0.bak" "$WORK/pool0.img"
expect_ok xl-vd check && pass "the right disk back: consistent"

# A database of a newer schema.
version=$(db_sql 'PRAGMA user_version')
db_sql 'PRAGMA user_version = 7'
expect_fail "schema version 7, newer than this xenvd understands" xl-vd list
expect_fail "schema version 7" xl-vd create 1M
db_sql "PRAGMA user_version = $version"
[ "$before" = "$(db_dump)" ] && pass "nothing changed" || fail "the database changed"

# A future label version is never overwritten, even with --force.
make_device "$WORK/future.img" 64M
python3 - "$WORK/future.img" <<'PY'
import struct, sys, zlib
# magic, version 99, header_len 88: enough for the version check to refuse it.
hdr = b"XENVD\0LB" + struct.pack(">II", 99, 88)
with open(sys.argv[1], "r+b") as f:
    f.write(hdr)
PY
expect_fail "newer version" xl-vd format --force "$WORK/future.img"

# Sizes: exactly what xl-vd(1) documents, and the error says what that is.
for size in 4Mb 4MB 4mb 4B 4MiBs 4Mi; do
	expect_fail "invalid size '$size': .*K, M, G, T or P suffix" xl-vd create "$size"
done
expect_fail "invalid extent size '4Mb'" xl-vd format "$WORK/fs.img" --extent-size 4Mb
expect_ok xl-vd create 4MiB && pass "4MiB is 4M"
vd=$(head -n 1 "$WORK/out" | tr -cd 0-9)
xl-vd show "$vd" | grep -q "4.0M" && pass "4MiB made a 4M VD" || fail "4MiB: $(xl-vd show "$vd")"

# Only format creates a database: an empty or missing one is refused by everything else.
mkdir -m 0700 "$WORK/damaged"
: >"$WORK/damaged/xenvd.db"
for cmd in list check gc pool-list "create 4M"; do
	# shellcheck disable=SC2086
	XENVD_DB="$WORK/damaged/xenvd.db" expect_fail \
		"database $WORK/damaged/xenvd.db is empty (0 bytes).*xl-vd format" xl-vd $cmd
done
[ ! -s "$WORK/damaged/xenvd.db" ] && pass "the empty database was left empty" ||
	fail "an empty database was initialised"
XENVD_DB="$WORK/damaged/none.db" expect_fail "create a pool first with 'xl-vd format" xl-vd check
[ ! -e "$WORK/damaged/none.db" ] && pass "check created no database" || fail "check created one"

# A database directory others can write is refused.
chmod 0777 "$WORK/db"
expect_fail "database directory $WORK/db is writable by everyone.*chmod go-w" xl-vd list
chmod 0700 "$WORK/db"
expect_ok xl-vd list && pass "back to 0700: accepted"

# gc on a --no-scrub pool zeroes nothing, and does not say it did.
mkdir -m 0700 "$WORK/ns"
make_device "$WORK/ns/pool.img" 64M
export XENVD_DB="$WORK/ns/xenvd.db"
expect_ok xl-vd format "$WORK/ns/pool.img" --extent-size 4M --no-scrub
expect_ok xl-vd create 8M
expect_ok xl-vd delete 1
expect_ok xl-vd gc
if grep -q "zeroed [1-9]" "$WORK/out"; then
	fail "gc on a --no-scrub pool claims it zeroed extents: $(cat "$WORK/out")"
elif grep -q "2 free extent(s) of --no-scrub devices made reusable WITHOUT zeroing" "$WORK/out"; then
	pass "gc on a --no-scrub pool: $(cat "$WORK/out")"
else
	fail "gc on a --no-scrub pool: $(cat "$WORK/out")"
fi
finish
