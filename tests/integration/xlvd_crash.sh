#!/bin/sh
# Crash consistency: kill -9 at random moments of format/create/resize/delete/gc; after every
# trial the database opens and check passes (every extent one owner or free, labels match).
. "$(dirname "$0")/lib.sh"

KILLS=${XENVD_CRASH_TRIALS:-100} # trials in which the command was really killed mid-way
make_device "$WORK/pool0.img" 64G
pool0="$WORK/pool0.img"
if [ -n "${XENVD_CRASH_LOOP:-}" ]; then
	# The first device a loop device: a block device, so the database lives on it.
	pool0=$(make_loop "$WORK/pool0.img") || exit 77
fi
expect_ok xl-vd format "$pool0" --extent-size 1M # 65k extents: format takes a while
# Devices the trials add: big enough that a format is often killed mid-way, but on a loop
# device, whose database area holds the map of 8 times its own extents, small enough for the
# ~400 formats of a 500-kill run.
added_size=16G
[ -n "${XENVD_CRASH_LOOP:-}" ] && added_size=512M
onpool=0
db_sql .journal >/dev/null 2>&1 && onpool=1
hot=0
rand() { echo $(( $(od -An -N4 -tu4 /dev/urandom) % $1 )); }

t=0
killed=0
while [ $killed -lt "$KILLS" ] && [ $t -lt $((KILLS * 5)) ]; do
	t=$((t + 1))
	case $(rand 5) in
	0)
		make_device "$WORK/dev$t.img" "$added_size"
		set -- xl-vd format "$WORK/dev$t.img" --extent-size 1M ;;
	1) set -- xl-vd create "$(( $(rand 512) + 1 ))M" --expire "$(rand 3)" ;;
	2) set -- xl-vd resize "$(( $(rand 30) + 1 ))" "$(( $(rand 512) + 1 ))M" ;;
	3) set -- xl-vd delete "$(( $(rand 30) + 1 ))" ;;
	4) set -- xl-vd gc ;;
	esac
	"$@" >/dev/null 2>&1 &
	pid=$!
	# Somewhere in the first 40 ms: opening, allocating, committing or zeroing.
	sleep "0.0$(rand 4)$(rand 10)"
	kill -9 $pid 2>/dev/null && killed=$((killed + 1))
	wait $pid 2>/dev/null
	# On-pool: a kill mid-transaction leaves a hot journal, which the next command (check,
	# here) rolls back before it reads.
	if [ $onpool = 1 ] && [ "$(db_sql .journal)" != 0 ]; then
		hot=$((hot + 1))
		xl-vd list >/dev/null 2>"$WORK/err" || { fail "trial $t: after a hot journal: $(cat "$WORK/err")"; break; }
		[ "$(db_sql .journal)" = 0 ] || { fail "trial $t: the hot journal was not rolled back"; break; }
	fi
	if ! xl-vd check >"$WORK/check" 2>&1; then
		fail "trial $t ($*): $(cat "$WORK/check")"
		break
	fi
done
[ $killed -ge "$KILLS" ] || fail "only $killed of $t trials killed a command mid-way"
pass "$t trials, $killed killed mid-command, check passed after every one"
[ $onpool = 1 ] && pass "on-pool database: $hot trials left a hot journal; the next command rolled each back"

# A format killed between its label and its row is redone by the next format of that device.
for f in "$WORK"/dev*.img; do
	[ -e "$f" ] || continue
	xl-vd pool-list | grep -q "$f" && continue
	xl-vd format "$f" --extent-size 1M >/dev/null 2>"$WORK/err" ||
		{ fail "re-format of interrupted $f: $(cat "$WORK/err")"; break; }
done
expect_ok xl-vd gc
expect_ok xl-vd check && pass "interrupted formats redone; still consistent"
finish
