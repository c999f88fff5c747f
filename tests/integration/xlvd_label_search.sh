#!/bin/sh
# The label search on real loop devices: a pool device that moved is adopted only when it shows
# the identity recorded at format time (for a loop device, its backing file); a copy of its
# label is only reported, and adopted on 'pool-relink' or 'check --repair'; a device a guest
# can write is never adopted and never blocks the real one. Needs root and loop devices.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for loop devices"; exit 77; }
probe=$(losetup -f 2>/dev/null) || { echo "SKIP: no free loop device (losetup -f)"; exit 77; }
[ -b "$probe" ] || { echo "SKIP: $probe is not a block device"; exit 77; }

attach() { # attach FILE: prints the new loop device
	losetup -f --show "$1" || { echo "losetup $1 failed" >&2; exit 1; }
}
detach() { losetup -d "$1"; }
cleanup() { # every loop device over a file of ours, however the test ended
	for f in "$WORK"/*.img; do
		for l in $(losetup -j "$f" | cut -d: -f1); do losetup -d "$l" 2>/dev/null; done
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
recorded() { xl-vd pool-list | awk 'NR == 2 { print $NF }'; }

make_device "$WORK/pool.img" 64M
make_device "$WORK/spacer.img" 1M
L1=$(attach "$WORK/pool.img")
expect_ok xl-vd format "$L1" --extent-size 4M --file-database && pass "formatted $L1"
expect_ok xl-vd create 8M --name data
[ "$(sqlite3 "$XENVD_DB" 'SELECT identity FROM pool_devices')" = "loop:$WORK/pool.img" ] &&
	pass "format recorded the loop device's backing file as its identity" ||
	fail "identity: $(sqlite3 "$XENVD_DB" 'SELECT identity FROM pool_devices')"
xl-vd pool-list --json | grep -q "\"identity\":\"loop:$WORK/pool.img\"" &&
	pass "pool-list --json shows the identity" || fail "pool-list --json: $(xl-vd pool-list --json)"

# Moved: the same backing file behind another loop device is adopted.
detach "$L1"
SPACER=$(attach "$WORK/spacer.img") # takes L1's number
L2=$(attach "$WORK/pool.img")
[ "$L2" != "$L1" ] || fail "the loop device did not move"
expect_ok xl-vd check && pass "moved from $L1 to $L2: adopted (same identity)"
[ "$(recorded)" = "$L2" ] && pass "new path $L2 recorded" || fail "recorded path: $(recorded)"

# A copy of the disk, with the real one present elsewhere: the real one wins, no denial.
cp "$WORK/pool.img" "$WORK/copy.img"
L3=$(attach "$WORK/copy.img")
L4=$(attach "$WORK/pool.img") # the same file again, so that the device moves on detach
detach "$L2"
expect_ok xl-vd check && pass "moved to $L4 while the copy $L3 exists: the copy did not block it"
[ "$(recorded)" = "$L4" ] && pass "adopted $L4, not the copy $L3" || fail "recorded: $(recorded)"

# Only the copy left: reported, not adopted.
detach "$L4"
expect_fail "$L3 carries its label but is not adopted.*pool-relink $L3" xl-vd check
[ "$(recorded)" = "$L4" ] && pass "the copy was not adopted" || fail "recorded: $(recorded)"

# The copy on a device a guest can write: never adopted, not even when asked.
G=$(basename "$L3")
XENVD_TEST_GUEST_WRITABLE="$G" expect_fail "except some a guest can write, never adopted: $L3" \
	xl-vd check
XENVD_TEST_GUEST_WRITABLE="$G" expect_fail "$L3 is never adopted as a pool device" \
	xl-vd pool-relink "$L3"
XENVD_TEST_GUEST_WRITABLE="$G" expect_fail "never adopted" xl-vd check --repair
[ "$(recorded)" = "$L4" ] && pass "a guest-writable device was adopted by nothing" ||
	fail "recorded: $(recorded)"

# The administrator says it is the disk: pool-relink adopts it, and says so.
expect_ok xl-vd pool-relink "$L3" && grep -q "Adopted $L3 as pool device" "$WORK/out" &&
	pass "pool-relink: $(cat "$WORK/out")" || fail "pool-relink: $(cat "$WORK/out" "$WORK/err")"
expect_ok xl-vd check && pass "consistent after pool-relink"
[ "$(sqlite3 "$XENVD_DB" 'SELECT identity FROM pool_devices')" = "loop:$WORK/copy.img" ] &&
	pass "pool-relink recorded the new identity" || fail "identity not updated"

# pool-relink of a copy while the pool device is at its recorded path: refused.
L5=$(attach "$WORK/pool.img")
expect_fail "is at its recorded path $L3; $L5 is a copy" xl-vd pool-relink "$L5"

# check --repair adopts the one disk that carries the label, and says so.
detach "$L3"
expect_fail "$L5 carries its label but is not adopted" xl-vd check
expect_ok xl-vd check --repair && grep -q "repaired: pool device .* adopted $L5" "$WORK/out" &&
	pass "check --repair: $(head -n 1 "$WORK/out")" ||
	fail "check --repair: $(cat "$WORK/out" "$WORK/err")"
[ "$(recorded)" = "$L5" ] && pass "check --repair recorded $L5" || fail "recorded: $(recorded)"
# A copy at the recorded path while the device itself is elsewhere (device names are not stable
# across reboots; a shared pool's recorded path is another host's): the label alone does not
# make the disk at the recorded path the device, its identity must match too.
detach "$L5"
losetup "$L5" "$WORK/copy.img" || fail "losetup $L5 copy.img"
L6=$(attach "$WORK/pool.img")
expect_ok xl-vd check && pass "a copy at the recorded path $L5, the device at $L6: checked"
[ "$(recorded)" = "$L6" ] && pass "the device at $L6 was adopted, not the copy at its recorded path" ||
	fail "recorded: $(recorded) (the copy at $L5 was taken for the device)"

# The device at its recorded path, but on a disk a guest can write: not used.
XENVD_TEST_GUEST_WRITABLE="$(basename "$L6")" expect_fail "never adopted" xl-vd check &&
	pass "a guest-writable disk at the recorded path is not used"
expect_ok xl-vd check && pass "the same disk, not guest-writable: used"
: "$SPACER"
finish
