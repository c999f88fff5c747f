#!/bin/bash
# dom0 side of the two-host bed (make e2e-shared, tests/e2e/shared-run.sh): two Xen hosts, A and
# B, in two QEMUs that share the pool disk, sanlock and wdmd (xen_wdt) in each dom0.
#   shared.sh --agent        dom0's init runs it: host setup, then every "step NAME LIMIT ARGS"
#                            line read from the virtio-serial port "ctl" (the host driver writes
#                            them) runs as a step (lib.sh's e2e_step: verdict lines on the console)
#   shared.sh --step N-FUNC ARGS   one step (what the runner calls): step_FUNC ARGS
# The host driver orchestrates: which host runs what, in which order, and what the results mean
# across hosts. Values a step hands to the driver: "XENVD-E2E: value KEY VALUE" lines.
E2E_SCRIPT=/e2e/shared.sh
. /e2e/env
. /e2e/lib.sh
export PATH=/usr/sbin:/usr/bin

# this host: A or B, its host id, the lockspace io_timeout (kernel command line, from the driver)
for w in $(cat /proc/cmdline); do
	case "$w" in
	e2e.host=*) E2E_HOST=${w#*=} ;;
	e2e.hostid=*) E2E_HOSTID=${w#*=} ;;
	e2e.io=*) E2E_IO=${w#*=} ;;
	esac
done
E2E_HOST=${E2E_HOST:-A} E2E_HOSTID=${E2E_HOSTID:-1} E2E_IO=${E2E_IO:-10}
# the shared disks, by the serials the driver gives them (their /dev names differ between hosts)
POOL=$(disk_by_serial e2e-pool)
PHY=$(disk_by_serial e2e-phy)
LEASE=$(disk_by_serial e2e-lease)
value() { echo "XENVD-E2E: value $1 $2"; }

# ---------------------------------------------------------------- host setup (before the agent)
# xenvd.conf: the packaged file plus this host's id and the shortened io_timeout, if this xenvd
# knows those keys (an unknown key is an error: then the stock file stays, and the steps that need
# a host id fail saying so)
host_setup() {
	local conf=/etc/xen/xenvd.conf
	hostname "host$E2E_HOST" 2>/dev/null
	# wdmd gives its socket to group sanlock; no user sanlock: the sanlock daemon runs as root and
	# opens the pool devices, root's alone in this dom0
	grep -q '^sanlock:' /etc/group || echo "sanlock:x:179:" >>/etc/group
	cp $conf /tmp/xenvd.conf.stock
	{
		cat /tmp/xenvd.conf.stock
		echo "# two-host test bed: host $E2E_HOST"
		echo "host_id = $E2E_HOSTID"
		echo "lockspace_io_timeout = $E2E_IO"
	} >/tmp/xenvd.conf.host
	if out=$(XENVD_CONF=/tmp/xenvd.conf.host "$XL_VD" pool-list 2>&1) ||
		! echo "$out" | grep -qi 'key'; then
		cp /tmp/xenvd.conf.host $conf
		e2e_log "host $E2E_HOST: $conf has host_id = $E2E_HOSTID, lockspace_io_timeout = $E2E_IO"
	else
		e2e_log "host $E2E_HOST: this xl-vd refuses host_id/lockspace_io_timeout ($(echo "$out" | head -1)): $conf left as packaged"
	fi
	e2e_log "host $E2E_HOST (id $E2E_HOSTID): pool=$POOL phy=$PHY lease=$LEASE"
}

agent() {
	local ctl line
	host_setup
	ctl=$(vport_by_name ctl) || { e2e_log "no virtio port named ctl: no driver"; return 1; }
	exec 4<>"$ctl"
	echo "XENVD-E2E: agent ready host=$E2E_HOST uptime=$(e2e_now)"
	while IFS= read -r line <&4; do
		line=${line%$'\r'}
		set -- $line
		case "${1:-}" in
		step) shift; e2e_step "$@" ;;
		end) break ;;
		"") ;;
		*) e2e_log "agent: unknown command: $line" ;;
		esac
	done
	echo "XENVD-E2E: agent done host=$E2E_HOST"
}

# ---------------------------------------------------------------- infrastructure
# up: Xen, the shared disks, entropy, the watchdog, wdmd and sanlock running
step_up() {
	run xl list >/dev/null || fail "xl list fails"
	value boot-to-xl "$(e2e_now)"
	xl info | grep -q 'virt_caps.*hvm' || fail "Xen offers no HVM (virt_caps: $(xl info | grep virt_caps)): PVH guests cannot run"
	[ -b "$POOL" ] && [ -b "$PHY" ] && [ -b "$LEASE" ] ||
		fail "shared disks missing: pool=[$POOL] phy=[$PHY] lease=[$LEASE] ($(ls /sys/block | tr '\n' ' '))"
	info "shared disks: pool $POOL, phy $PHY, lease $LEASE"
	info "hw_random: $(cat /sys/class/misc/hw_random/rng_current 2>/dev/null), entropy $(cat /proc/sys/kernel/random/entropy_avail)"
	[ -c /dev/watchdog ] || fail "no /dev/watchdog (xen_wdt not loaded: $(lsmod | grep -c wdt))"
	info "watchdog: $(cat /sys/class/watchdog/watchdog0/identity 2>/dev/null)"
	mkdir -p /run/wdmd /run/sanlock /var/log /etc/sanlock
	[ -e /run/wdmd/wdmd.pid ] || run wdmd || fail "wdmd does not start"
	n=0
	until [ -S /run/wdmd/wdmd.sock ] || [ $n -gt 40 ]; do sleep 0.25; n=$((n + 1)); done
	[ -S /run/wdmd/wdmd.sock ] || fail "wdmd has no socket after 10 s"
	# the watchdog through wdmd (-w 1, sanlock's default): a host that loses its leases is reset
	[ -e /run/sanlock/sanlock.pid ] || run sanlock daemon -w 1 || fail "sanlock daemon does not start"
	n=0
	until sanlock client status >/dev/null 2>&1 || [ $n -gt 120 ]; do sleep 0.5; n=$((n + 1)); done
	sanlock client status >/dev/null 2>&1 || { tail -n 20 /var/log/sanlock.log; fail "sanlock does not answer after 60 s"; }
	info "wdmd pid $(cat /run/wdmd/wdmd.pid), sanlock pid $(cat /run/sanlock/sanlock.pid)"
	value daemons-up "$(e2e_now)"
	return 0
}

# sanlock alone, across the hosts, on the small shared lease disk: lockspace e2els, resource r1
LS=e2els
RES() { echo "$LS:r1:$LEASE:1048576"; }
step_sl_init() {
	run sanlock direct init -s "$LS:0:$LEASE:0" || fail "sanlock direct init of lockspace $LS failed"
	run sanlock direct init -r "$(RES)" || fail "sanlock direct init of resource r1 failed"
}
step_sl_join() {
	local t0=$EPOCHREALTIME
	run sanlock client add_lockspace -o "$E2E_IO" -s "$LS:$E2E_HOSTID:$LEASE:0" || {
		tail -n 15 /var/log/sanlock.log
		fail "sanlock add_lockspace $LS host $E2E_HOSTID failed"
	}
	value sl-join-secs "$(secs_between "$t0" "$EPOCHREALTIME")"
}
# sl_hosts N: wait until sanlock sees N live hosts in the lockspace
step_sl_hosts() {
	local want=${1:-2} n end out
	end=$((SECONDS + 60))
	while :; do
		out=$(sanlock client gets -h 1 2>&1)
		n=$(echo "$out" | grep -c '^h .*LIVE')
		[ "$n" -ge "$want" ] && break
		[ $SECONDS -ge $end ] && { echo "$out"; fail "sanlock sees $n live hosts in $LS, not $want"; }
		sleep 2
	done
	echo "$out"
}
# sl_hold: a process holding r1 exclusively (sanlock client command: registered, leases acquired
# for it, then the command runs)
step_sl_hold() {
	setsid sanlock client command -r "$(RES)" -c /usr/bin/sleep 100000 >/tmp/e2e/sl-hold.log 2>&1 </dev/null &
	echo $! >/tmp/e2e/sl-hold.pid
	local end=$((SECONDS + 30))
	until sanlock client status 2>/dev/null | grep -q "^r $LS:r1:"; do
		[ $SECONDS -ge $end ] && { cat /tmp/e2e/sl-hold.log; fail "r1 not held after 30 s"; }
		sleep 0.5
	done
	sanlock client status
}
# sl_refused: r1 is held by the other host: the acquire fails
step_sl_refused() {
	out=$(sanlock client command -r "$(RES)" -c /usr/bin/true 2>&1)
	rc=$?
	echo "$out"
	[ $rc -ne 0 ] || fail "r1 acquired on host $E2E_HOST while the other host holds it"
	return 0
}
# sl_acquire [SECS]: r1 can be acquired here (retrying for SECS: after the holder's host died)
step_sl_acquire() {
	local end=$((SECONDS + ${1:-0})) t0=$EPOCHREALTIME
	until out=$(sanlock client command -r "$(RES)" -c /usr/bin/true 2>&1); do
		[ $SECONDS -ge $end ] && { echo "$out"; fail "r1 cannot be acquired on host $E2E_HOST"; }
		sleep 2
	done
	value sl-acquire-secs "$(secs_between "$t0" "$EPOCHREALTIME")"
}
step_sl_release() {
	kill "$(cat /tmp/e2e/sl-hold.pid)" 2>/dev/null
	local end=$((SECONDS + 20))
	while sanlock client status 2>/dev/null | grep -q "^r $LS:r1:"; do
		[ $SECONDS -ge $end ] && fail "r1 still held 20 s after its holder was killed"
		sleep 0.5
	done
	return 0
}

# ---------------------------------------------------------------- guests and migration
# guest_start NAME KIND [SPEC]: a PVH guest booted by vdloader, writing and reading back its disk
# every 2 s; KIND phy (the shared phy disk, stock block script) or vd (SPEC = the VD id)
step_guest_start() {
	local g=$1 kind=$2 disk
	case $kind in
	phy) disk="'vdev=xvda,access=rw,target=$PHY'" ;;
	vd) disk="'vdev=xvda,access=rw,script=block-vd,target=vd:$3'" ;;
	*) fail "guest_start: unknown kind $kind" ;;
	esac
	guest_cfg "$g" "$disk" \
		"e2e.name=$g e2e.expect=xvda e2e.write=xvda e2e.tick=1 e2e.period=2 e2e.life=3600" \
		bootloader 128 pvh
	guest_create "$g" || fail "xl create $g ($kind) failed"
	guest_wait "$g" "E2E-GUEST $g TICK" 240 || fail "$g does not write and read back its disk"
	value "$g-domid" "$(guest_domid "$g")"
}
# mig_recv: the receiving end of the next migration, in the background (mig_recv_wait collects it)
step_mig_recv() {
	rm -f /tmp/e2e/mig-recv.log
	setsid bash /e2e/mig-relay.sh receive -vvv >/tmp/e2e/mig-recv.log 2>&1 </dev/null &
	echo $! >/tmp/e2e/mig-recv.pid
	info "xl migrate-receive waits on the port mig ($(vport_by_name mig))"
}
# mig_send NAME: xl migrate NAME to the other host, through the port. Values: the whole command,
# and the guest's pause as the sender sees it: from libxl's suspend request to "Target reports
# successful startup" (the target unpauses the domain before it reports)
step_mig_send() {
	local g=$1 log=/tmp/e2e/$1.migrate.log t0 t1 rc ts te
	guest_exists "$g" || fail "no guest $g here"
	t0=$EPOCHREALTIME
	{ xl -vvv migrate -s "" "$g" "/e2e/mig-relay.sh send" 2>&1; echo "xl-exit $?"; } | stamp_lines >"$log"
	t1=$EPOCHREALTIME
	rc=$(awk '$2 == "xl-exit" {print $3}' "$log")
	cut -d' ' -f2- "$log" | grep -v 'debug:' | grep -aiE 'migrat|rror|fail' | tail -n 20 | sed 's/^/    xl: /'
	[ "${rc:-1}" = 0 ] || fail "xl migrate $g to the other host failed (exit ${rc:-?})"
	ts=$(grep -a -m1 -iE 'suspend request|suspending domain' "$log" | cut -d' ' -f1)
	te=$(grep -a -m1 'Target reports successful startup' "$log" | cut -d' ' -f1)
	value "$g-migrate-total" "$(secs_between "$t0" "$t1")"
	[ -n "$ts" ] && [ -n "$te" ] && value "$g-migrate-pause" "$(secs_between "$ts" "$te")"
	guest_exists "$g" && fail "$g still exists here after the migration"
	return 0
}
step_mig_recv_wait() {
	local pid end
	pid=$(cat /tmp/e2e/mig-recv.pid 2>/dev/null)
	end=$((SECONDS + 60))
	while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.5; done
	grep -v 'debug:' /tmp/e2e/mig-recv.log | grep -aiE 'migrat|rror|fail|exited' | tail -n 15 | sed 's/^/    recv: /'
	grep -q 'migrate-receive exited 0' /tmp/e2e/mig-recv.log || fail "xl migrate-receive did not succeed"
}
# guest_alive NAME: the guest runs here and goes on writing and reading back its disk
step_guest_alive() {
	local g=$1 n
	guest_exists "$g" || fail "no guest $g here"
	n=$(guest_console_all "$g" | grep -c "E2E-GUEST $g TICK")
	guest_wait_more "$g" "E2E-GUEST $g TICK" "$n" 60 || fail "$g does not write and read back its disk here"
	guest_console_all "$g" | grep "E2E-GUEST $g TICK" | tail -n 2
	xl list "$g"
}
step_guest_gone() { # NAME: no such guest here, no vbd backend left
	local l
	guest_exists "$1" && fail "guest $1 still runs here"
	l=$(vbd_left)
	[ -z "$l" ] || fail "vbd backends left in xenstore: $l"
	return 0
}
step_guest_stop() { guest_destroy "$1" || fail "xl destroy $1 failed"; }
guest_wait_more() { # NAME EREGEX COUNT SECS
	local end=$((SECONDS + $4))
	while [ $SECONDS -lt $end ]; do
		[ "$(guest_console_all "$1" | grep -cE "$2")" -gt "$3" ] && return 0
		sleep 0.5
	done
	echo "no new '$2' on $1's consoles within $4s; their tails:"
	guest_console_all "$1" | tail -n 15 | sed "s/^/    $1: /"
	return 1
}

case "${1:-}" in
--agent) agent ;;
--step)
	fn=step_$(echo "${2#*-}" | tr '-' '_')
	shift 2
	$fn "$@"
	exit $? ;;
*) echo "usage: shared.sh --agent | --step N-FUNC [ARGS]" >&2; exit 2 ;;
esac
