#!/bin/sh
# The active-VD lease holder (xl-vd lease-hold) against a real sanlock daemon of its own (no
# watchdog: -w 0), on a lease area in a file: it registers, holds the pool's "active" lease
# (shared) once however many attaches ask, keeps it while a dm device of the pool exists,
# releases it after the last one, and survives sanlock's attempts to kill it when the lockspace
# is removed under it, keeping the lockspace (the watchdog's cue) until no dm device is left.
# Skips (77) without sanlock or root.
set -u
: "${top_builddir:=.}"
probe="$top_builddir/tests/holder-probe"
command -v sanlock >/dev/null 2>&1 || { echo "sanlock is not installed (apt-get install sanlock)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root (sanlock's daemon and its socket)"; exit 77; }
[ -x "$probe" ] || { echo "$probe is not built"; exit 77; }

WORK=$(mktemp -d /tmp/xenvd-holder.XXXXXX)
export SANLOCK_RUN_DIR="$WORK/sanlock" SANLOCK_PRIVILEGED=0 XENVD_RUN_DIR="$WORK/run"
export XENVD_CONF="$WORK/xenvd.conf" XENVD_HOLDER_FAKE_DM="$WORK/dm-devices"
mkdir -p "$SANLOCK_RUN_DIR" "$XENVD_RUN_DIR"
: >"$XENVD_HOLDER_FAKE_DM"
LS=0123456789abcdef0123456789abcdef
AREA="$WORK/leases"
RES="$LS:active:$AREA:2097152"
daemon_pid=
holder_pid=
FAILS=0

cleanup() {
	[ -n "$holder_pid" ] && kill -9 "$holder_pid" 2>/dev/null
	[ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null
	for p in $(pgrep -f "sanlock daemon.*-e xenvd-holder-test-$$" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
status() { sanlock client status 2>/dev/null; }
# lines of the lease held for the holder in sanlock's own status
held_lines() { status | grep -c "^r $RES:SH p $holder_pid\$"; }

sanlock daemon -D -w 0 -l 0 -L -1 -S -1 -e "xenvd-holder-test-$$" >"$WORK/daemon.log" 2>&1 &
daemon_pid=$!
i=0
until status | grep -q '^daemon'; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
		echo "the sanlock daemon did not start here: $(tail -n 3 "$WORK/daemon.log")"
		exit 77
	fi
	sleep 0.1
done

# The pool's lease area as 'xl-vd format --shared' lays it out: the lockspace in slot 0, the
# metadata lease in slot 1, the active-VD lease in slot 2 (1 MiB slots); io_timeout 1 s so
# that joining takes seconds, not tens of seconds.
truncate -s 4M "$AREA"
sanlock client init -o 1 -s "$LS:0:$AREA:0" >/dev/null &&
	sanlock client init -r "$LS:metadata:$AREA:1048576" >/dev/null &&
	sanlock client init -r "$RES" >/dev/null || { fail "cannot init the lease area"; exit 1; }
sanlock client add_lockspace -o 1 -s "$LS:1:$AREA:0" >/dev/null ||
	{ fail "cannot join the lockspace"; exit 1; }

# no holder: an attach is refused, naming the command that starts it
if "$probe" hold $LS "$AREA" 2>"$WORK/err"; then
	fail "hold succeeded without a holder"
elif grep -q "xl-vd lockspace-start" "$WORK/err"; then
	pass "without a holder: $(head -n1 "$WORK/err")"
else
	fail "hold without a holder: $(cat "$WORK/err")"
fi

start_holder() {
	xl-vd lease-hold >>"$WORK/holder.log" 2>&1 &
	holder_pid=$!
	i=0
	until "$probe" count $LS "$AREA" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && { fail "the holder did not start: $(cat "$WORK/holder.log")"; exit 1; }
		sleep 0.1
	done
}
start_holder
status | grep -q "^p $holder_pid" && pass "the holder (pid $holder_pid) is registered with sanlock" ||
	fail "sanlock does not list the holder: $(status)"
# a second holder refuses to run beside it
xl-vd lease-hold >"$WORK/second.log" 2>&1
grep -q "another xenvd-leased runs" "$WORK/second.log" && pass "one holder per host" ||
	fail "a second holder: $(cat "$WORK/second.log")"

# the first attach of the pool: held once (shared), however many attaches ask
"$probe" hold $LS "$AREA" || fail "hold: see above"
"$probe" hold $LS "$AREA" || fail "second hold: see above"
[ "$(held_lines)" = 1 ] && pass "sanlock shows the active lease held once for the holder" ||
	fail "held $(held_lines) times: $(status)"
[ "$("$probe" count $LS "$AREA")" = 1 ] || fail "inquire counts $("$probe" count $LS "$AREA")"

# the last detach (no dm device can exist here): released
[ "$("$probe" release $LS "$AREA")" = released ] && [ "$(held_lines)" = 0 ] &&
	pass "released after the last dm device" || fail "release: $(status)"
[ "$("$probe" release $LS "$AREA")" = kept ] || fail "a second release is not a no-op"

# The holder's own backstop: a remover that died between its dm remove and its release.
"$probe" hold $LS "$AREA" || fail "hold again"
kill -HUP "$holder_pid"
i=0
while [ "$(held_lines)" != 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(held_lines)" = 0 ] && pass "the holder releases a pool with no dm device on its own" ||
	fail "the holder kept an idle pool's lease: $(status)"

# A holder killed outright (the lease goes with it) while a dm device of the pool exists:
# the next holder takes the lease again at its start.
echo "XENVD-$LS-7" >"$XENVD_HOLDER_FAKE_DM"
"$probe" hold $LS "$AREA" || fail "hold before the holder's crash"
kill -9 "$holder_pid"
wait "$holder_pid" 2>/dev/null
start_holder
i=0
while [ "$(held_lines)" != 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(held_lines)" = 1 ] && pass "a restarted holder takes the lease of a pool with dm devices again" ||
	fail "the restarted holder holds nothing: $(status)"

# The lockspace removed (or lost) while a dm device of the pool exists: sanlock tries to kill
# the holder, which does not let go, so the lockspace stays (with wdmd, the host is reset).
sanlock client rem_lockspace -s "$LS:1:$AREA:0" >"$WORK/rem.log" 2>&1 &
rem_pid=$!
sleep 4
if kill -0 "$holder_pid" 2>/dev/null; then
	pass "the holder survives sanlock's kill attempts ($(grep -c 'from sanlock' "$WORK/holder.log") SIGTERMs)"
else
	fail "sanlock killed the holder: $(tail -n 5 "$WORK/daemon.log")"
fi
grep -q "kill $holder_pid sig 15\|from sanlock" "$WORK/holder.log" "$WORK/daemon.log" ||
	fail "sanlock sent the holder nothing: $(tail -n 5 "$WORK/holder.log")"
[ "$(held_lines)" = 1 ] && status | grep -q "^s $LS:1:" && kill -0 $rem_pid 2>/dev/null &&
	pass "the lease and the lockspace stay while the dm device exists" ||
	fail "lease or lockspace gone with a dm device left: $(status)"
grep -q "keeping their active-VD leases" "$WORK/holder.log" ||
	fail "the holder did not say why it keeps the lease"

# the device goes: at sanlock's next SIGTERM the holder lets go and the removal completes
: >"$XENVD_HOLDER_FAKE_DM"
i=0
while kill -0 $rem_pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $rem_pid 2>/dev/null; then
	fail "rem_lockspace still waits after the last dm device went: $(status)"
else
	status | grep -q "^s $LS" && fail "the lockspace is still there: $(status)" ||
		pass "no dm device left: the holder let go and the lockspace was removed"
fi
kill -0 "$holder_pid" 2>/dev/null && pass "the holder keeps running for the next lockspace" ||
	fail "the holder exited on sanlock's SIGTERM"

# an administrator's SIGTERM with nothing held ends it
kill -TERM "$holder_pid"
i=0
while kill -0 "$holder_pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$holder_pid" 2>/dev/null && fail "the holder ignores SIGTERM with nothing held" ||
	pass "SIGTERM with nothing held stops the holder"
holder_pid=

[ "$FAILS" = 0 ] || { echo "--- holder log"; cat "$WORK/holder.log"; exit 1; }
echo "all holder checks passed"
