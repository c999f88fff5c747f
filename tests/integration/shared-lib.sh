# Two "hosts" of one shared pool on this machine, for the shared-pool tests (sourced after
# lib.sh): each host has its own REAL sanlock daemon (own run directory, SANLOCK_RUN_DIR, no
# watchdog: -w 0; fencing is the QEMU bed's), configuration (host_id 1 and 2), local lock
# directory and database locator; a() and b() run a command as host 1 and host 2. Skips (77)
# where sanlock or root is missing or the daemon does not start.
command -v sanlock >/dev/null 2>&1 || {
	echo "SKIP: no sanlock here (apt-get install sanlock, or tests/install-deps)" >&2
	exit 77
}
[ "$(id -u)" = 0 ] || { echo "SKIP: sanlock daemons and loop devices need root" >&2; exit 77; }

IO_TIMEOUT=1
DAEMONS=""
stop_daemons() {
	for d in $DAEMONS; do
		SANLOCK_RUN_DIR=$d sanlock client shutdown -f 1 >/dev/null 2>&1
	done
	for d in $DAEMONS; do
		pid=$(cat "$d/daemon.pid" 2>/dev/null) || continue
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null
		for p in $(pgrep -f "sanlock daemon .*-e $(basename "$d")-$$" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null
		done
	done
	for r in "$WORK"/run.*; do
		pid=$(cat "$r/xenvd-leased.pid" 2>/dev/null) && kill -9 "$pid" 2>/dev/null
	done
}
trap 'stop_daemons; for l in $(cat "$WORK/loops" 2>/dev/null); do losetup -d "$l" 2>/dev/null; done; rm -rf "$WORK"' EXIT

# start_daemon DIR: a sanlock daemon of its own, answering in DIR, named <basename DIR>-<pid of
# the test> (so that a test can find it with pgrep). Unprivileged mode (SANLOCK_PRIVILEGED=0):
# it does not raise its memlock and rtprio limits, which a container may forbid; the lease I/O
# is the same.
start_daemon() {
	mkdir -p "$1"
	SANLOCK_RUN_DIR=$1 SANLOCK_PRIVILEGED=0 sanlock daemon -D -w 0 -l 0 \
		-e "$(basename "$1")-$$" >"$1/log" 2>&1 &
	echo $! >"$1/daemon.pid"
	DAEMONS="$DAEMONS $1"
	i=0
	until SANLOCK_RUN_DIR=$1 sanlock client status >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$(cat "$1/daemon.pid")" 2>/dev/null; then
			echo "SKIP: the sanlock daemon does not start here: $(tail -n 3 "$1/log")" >&2
			exit 77
		fi
		sleep 0.1
	done
}

printf 'host_id = 1\nlockspace_io_timeout = %s\n' $IO_TIMEOUT >"$WORK/a.conf"
printf 'host_id = 2\nlockspace_io_timeout = %s\n' $IO_TIMEOUT >"$WORK/b.conf"
a() {
	SANLOCK_RUN_DIR=$WORK/sl.a XENVD_CONF=$WORK/a.conf XENVD_RUN_DIR=$WORK/run.a \
		XENVD_DB=$WORK/db.a/xenvd.db "$@"
}
b() {
	SANLOCK_RUN_DIR=$WORK/sl.b XENVD_CONF=$WORK/b.conf XENVD_RUN_DIR=$WORK/run.b \
		XENVD_DB=$WORK/db.b/xenvd.db "$@"
}
unset XENVD_DB_STORAGE
VDSQL=${top_builddir:-.}/tests/vd-sql
