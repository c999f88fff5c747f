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
# sl_status: what this host's sanlock holds, and the lease holder
step_sl_status() {
	sanlock client status 2>&1
	ps 2>/dev/null | grep -E 'lease-hold' | grep -v grep
	dmsetup info -c --noheadings -o name,uuid 2>/dev/null | grep '^vd-'
	sanlock client log_dump 2>/dev/null | grep -aiE 'acquire|release|active' | tail -n 8
	return 0
}
# lease_held: a dm device of the shared pool exists here, so the lease holder (xl-vd lease-hold,
# registered with sanlock) holds the pool's "active" lease: without it, sanlock would not reset
# this host if it lost the lockspace while its guests write through their dm tables
step_lease_held() {
	local st pid
	st=$(sanlock client status 2>&1)
	echo "$st"
	[ -n "$(dm_vd_devices)" ] || fail "no vd dm device on host $E2E_HOST: nothing to hold a lease for"
	dmsetup info -c --noheadings -o name,uuid 2>/dev/null | grep '^vd-'
	pid=$(ps 2>/dev/null | awk '/lease-hold/ && !/awk/ {print $1; exit}')
	[ -n "$pid" ] || fail "no lease holder (xl-vd lease-hold) runs on host $E2E_HOST"
	echo "$st" | grep -qE "^p $pid( |$)" || fail "the lease holder (pid $pid) is not registered with sanlock"
	echo "$st" | grep -qE "^r [0-9a-f]+:active:.* p $pid$" || {
		sanlock client log_dump 2>/dev/null | grep -aiE 'acquire|release|active' | tail -n 8
		fail "host $E2E_HOST has vd dm devices but its lease holder (pid $pid) holds no 'active' lease (sanlock client status has no 'r ...:active:...' line): losing the lockspace would not reset it"
	}
	return 0
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
	guest_boot "$g" "E2E-GUEST $g TICK" 240 \
		"xl create $g ($kind) failed" || fail "$g does not write and read back its disk"
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

# ---------------------------------------------------------------- the shared pool (xl-vd)
# attachment lines of a VD in `xl-vd show` ("  [host H [(this host)] ]domain D VDEV ... mode M")
att_lines() { "$XL_VD" show "$1" 2>/dev/null | grep -E '^ +(host [0-9]+ .*)?domain [0-9]+ '; }
step_pool_format() {
	need_xlvd format pool-list
	local t0=$EPOCHREALTIME
	run "$XL_VD" format "$POOL" --extent-size 4M --shared || fail "xl-vd format --shared $POOL failed"
	value format-secs "$(secs_between "$t0" "$EPOCHREALTIME")"
	# not joined yet: the pool is refused, saying what to run
	out=$("$XL_VD" list 2>&1) && fail "xl-vd list works on a shared pool before lockspace-start"
	echo "$out"
	echo "$out" | grep -q "xl-vd lockspace-start" || fail "the refusal before joining does not name 'xl-vd lockspace-start'"
	return 0
}
step_pool_import() {
	need_xlvd pool-import
	local out
	out=$("$XL_VD" pool-import "$POOL" 2>&1) && { echo "$out"; return 0; }
	echo "$out"
	ls -la /var/lib/xenvd
	# a shared pool's database is read under its lease: a host that has not joined is told to
	# run lockspace-start (pool-import left the locator it needs), then pool-import again
	echo "$out" | grep -q "lockspace-start" && [ -e /var/lib/xenvd/xenvd.db ] ||
		fail "xl-vd pool-import $POOL failed on host $E2E_HOST"
	info "as told: lockspace-start, then pool-import again"
	local t0=$EPOCHREALTIME
	run "$XL_VD" lockspace-start || fail "xl-vd lockspace-start after the refused pool-import failed"
	value import-join-secs "$(secs_between "$t0" "$EPOCHREALTIME")"
	run "$XL_VD" pool-import "$POOL" || fail "xl-vd pool-import $POOL failed on host $E2E_HOST after lockspace-start"
}
step_ls_start() {
	need_xlvd lockspace-start
	local t0=$EPOCHREALTIME
	run "$XL_VD" lockspace-start || fail "xl-vd lockspace-start failed on host $E2E_HOST"
	value ls-start-secs "$(secs_between "$t0" "$EPOCHREALTIME")"
	run "$XL_VD" pool-list || fail "xl-vd pool-list fails after lockspace-start"
	ps 2>/dev/null | grep -E 'lease-hold|sanlock' | grep -v grep | sed 's/^/    ps: /'
	return 0
}
# host_list N: `xl-vd host-list` shows N live hosts (this one marked)
step_host_list() {
	need_xlvd host-list
	local want=${1:-2} n out end=$((SECONDS + 90))
	while :; do
		out=$("$XL_VD" host-list 2>&1)
		n=$(echo "$out" | grep -ciE '^[0-9]+\*? +live ')
		[ "$n" -ge "$want" ] && break
		[ $SECONDS -ge $end ] && { echo "$out"; fail "xl-vd host-list shows $n live hosts, not $want"; }
		sleep 3
	done
	echo "$out"
	echo "$out" | grep -qE "^$E2E_HOSTID\* " || fail "host-list does not mark this host ($E2E_HOSTID)"
	return 0
}
# vd_root: a bootable VD (ext4 with grub.cfg, the test kernel and initrd) made with create +
# import, and a small VD with dom0's marker for read-only sharing
step_vd_root() {
	need_xlvd create import list
	local r=/tmp/sh-root id ro
	rm -rf $r
	mkdir -p $r/boot/grub
	cp /e2e/guest/vmlinuz $r/boot/vmlinuz-$E2E_KVER
	cp /e2e/guest/initrd-vd.gz $r/boot/initrd.img-$E2E_KVER
	cat >$r/boot/grub/grub.cfg <<GRUB
set default=0
set timeout=0
menuentry 'xenvd e2e shared vd guest' {
	linux /boot/vmlinuz-$E2E_KVER root=/dev/xvda ro console=hvc0 e2e.origin=shroot-grub
	initrd /boot/initrd.img-$E2E_KVER
}
GRUB
	rm -f /tmp/sh-root.img
	truncate -s 64M /tmp/sh-root.img
	mke2fs -q -F -t ext4 -d $r -L shroot /tmp/sh-root.img 48M || fail "mke2fs of the root image failed"
	id=$(vd_create 64M --name sh-root) || fail "xl-vd create 64M --name sh-root failed"
	run "$XL_VD" import "$id" /tmp/sh-root.img || fail "xl-vd import $id failed"
	rm -f /tmp/sh-ro.img
	truncate -s 8M /tmp/sh-ro.img
	mark_write /tmp/sh-ro.img "DOM0MARK shro" || fail "cannot write the marker image"
	ro=$(vd_create 8M --name sh-ro) || fail "xl-vd create 8M --name sh-ro failed"
	run "$XL_VD" import "$ro" /tmp/sh-ro.img || fail "xl-vd import $ro failed"
	run "$XL_VD" list
	value root-id "$id"
	value ro-id "$ro"
}
# vd_listed ID NAME...: this host lists the VDs
step_vd_listed() {
	local out n
	out=$("$XL_VD" list 2>&1) || { echo "$out"; fail "xl-vd list fails on host $E2E_HOST"; }
	echo "$out"
	for n in "$@"; do
		echo "$out" | grep -qE "^[0-9]+ +$n " || fail "host $E2E_HOST does not list VD $n"
	done
	return 0
}
# churn N: create N VDs, then delete them, each command's failure a failure; values: the ids, time
step_churn() {
	need_xlvd create delete
	local n=$1 i id ids="" out t0=$EPOCHREALTIME t1
	for i in $(seq 1 "$n"); do
		out=$("$XL_VD" create 8M --name "churn-$E2E_HOST-$i" 2>&1) ||
			fail "xl-vd create #$i on host $E2E_HOST failed: $out"
		id=$(echo "$out" | grep -oE '[0-9]+' | tail -n 1)
		ids="$ids $id"
	done
	t1=$EPOCHREALTIME
	for id in $ids; do
		out=$("$XL_VD" delete "$id" 2>&1) || fail "xl-vd delete $id on host $E2E_HOST failed: $out"
	done
	value churn-ids "$(echo $ids)"
	value churn-create-secs "$(secs_between "$t0" "$t1")"
	value churn-delete-secs "$(secs_between "$t1" "$EPOCHREALTIME")"
	info "created $n VDs in $(secs_between "$t0" "$t1") s, deleted them in $(secs_between "$t1" "$EPOCHREALTIME") s"
}
# churn_local N: the same churn on an unshared, file-backed pool of this dom0 (the figures' base)
step_churn_local() {
	local n=$1 i id ids="" out t0 t1
	mkdir -p /tmp/local
	rm -f /tmp/local/*
	truncate -s 512M /tmp/local/pool.img
	export XENVD_DB=/tmp/local/xenvd.db
	run "$XL_VD" format /tmp/local/pool.img --file-database --extent-size 4M || fail "format of the local pool failed"
	t0=$EPOCHREALTIME
	for i in $(seq 1 "$n"); do
		out=$("$XL_VD" create 8M --name "local-$i" 2>&1) || fail "local create #$i failed: $out"
		ids="$ids $(echo "$out" | grep -oE '[0-9]+' | tail -n 1)"
	done
	t1=$EPOCHREALTIME
	for id in $ids; do
		out=$("$XL_VD" delete "$id" 2>&1) || fail "local delete $id failed: $out"
	done
	value local-create-secs "$(secs_between "$t0" "$t1")"
	value local-delete-secs "$(secs_between "$t1" "$EPOCHREALTIME")"
	rm -rf /tmp/local
}
step_check() {
	need_xlvd check
	run "$XL_VD" check || fail "xl-vd check fails on host $E2E_HOST"
}
step_gc() { run "$XL_VD" gc || fail "xl-vd gc fails on host $E2E_HOST"; }

# refuse_rw VD HOST DOMID: a guest here with VD rw is refused, the refusal naming the holder's host
# and domain (xl's output or dom0's hotplug log: hotplug-error is guest-readable); nothing left
step_refuse_rw() {
	local vd=$1 h=$2 d=$3 all
	guest_cfg p2 "'vdev=xvda,access=rw,script=block-vd,target=vd:$vd'" \
		"console=hvc0 e2e.name=p2 e2e.expect=xvda e2e.life=0" direct 128 pv
	: >/tmp/e2e/hotplug.mark
	if guest_create p2; then
		guest_destroy p2
		fail "VD $vd was attached rw to p2 on host $E2E_HOST while host $h's domain $d holds it rw"
	fi
	guest_exists p2 && { guest_destroy p2; fail "a refused xl create left domain p2 behind"; }
	all=$(cat /tmp/e2e/p2.create.log /var/log/xen/xen-hotplug.log 2>/dev/null)
	echo "$all" | grep -aiE "held|host $h" | tail -n 4 | sed 's/^/    refusal: /'
	echo "$all" | grep -aqE "host $h([^0-9]|$)" || fail "the refusal does not name host $h"
	echo "$all" | grep -aqE "domain $d([^0-9]|$)" || fail "the refusal does not name domain $d"
	[ -z "$(dm_vd_devices)" ] || fail "dm devices left after the refusal: $(dm_vd_devices)"
	[ -z "$(vbd_left)" ] || fail "vbd backends left after the refusal: $(vbd_left)"
	att_lines "$vd" | grep -qE "host $E2E_HOSTID " && fail "an attachment of host $E2E_HOSTID was left: $(att_lines "$vd")"
	return 0
}
# ro_attach GUEST VD: VD read-only into a running guest here, which reads dom0's marker
step_ro_attach() {
	run xl block-attach "$1" "vdev=xvdb,access=r,script=block-vd,target=vd:$2" ||
		fail "xl block-attach of vd:$2 (r) to $1 failed"
	guest_wait "$1" "DISK xvdb size=8388608 ro=1 mark=\[DOM0MARK shro\]" 60 ||
		fail "$1 does not read VD $2 read-only"
}
step_ro_detach() {
	run xl block-detach "$1" xvdb || fail "xl block-detach $1 xvdb failed"
	guest_wait "$1" "GONE xvdb" 30 || fail "xvdb did not go away in $1"
}
# ro_guest VD: a short-lived guest here reads VD read-only (while another host has it read-only)
step_ro_guest() {
	guest_cfg g3 "'vdev=xvda,access=r,script=block-vd,target=vd:$1'" \
		"console=hvc0 e2e.name=g3 e2e.expect=xvda e2e.life=0" direct 128 pv
	guest_boot g3 "DISK xvda size=8388608 ro=1 mark=\[DOM0MARK shro\]" 120 \
		"read-only sharing of VD $1 across hosts refused on host $E2E_HOST" ||
		fail "g3 does not read VD $1 shared read-only"
	att_lines "$1"
	guest_wait g3 "POWEROFF" 30
	guest_gone g3 60 || fail "g3 was not reaped"
	[ -z "$(dm_vd_devices)" ] || fail "dm devices left after g3: $(dm_vd_devices)"
}
# vd_held VD GUEST: the VD has exactly one attachment, GUEST's domain on this host, and its dm device
step_vd_held() {
	local d l
	d=$(guest_domid "$2") || fail "no guest $2 here"
	l=$(att_lines "$1")
	echo "$l"
	[ "$(echo "$l" | grep -c .)" = 1 ] || fail "VD $1 has $(echo "$l" | grep -c .) attachments, not 1"
	echo "$l" | grep -qE "host $E2E_HOSTID .*domain $d " ||
		fail "VD $1's attachment is not domain $d on host $E2E_HOSTID"
	[ -b /dev/mapper/vd-$1 ] || fail "no /dev/mapper/vd-$1 here"
}
# vd_not_here VD: no dm device and no attachment of this host for the VD
step_vd_not_here() {
	att_lines "$1"
	att_lines "$1" | grep -qE "host $E2E_HOSTID " && fail "host $E2E_HOSTID still has an attachment of VD $1"
	[ -b /dev/mapper/vd-$1 ] && fail "/dev/mapper/vd-$1 left on host $E2E_HOST"
	[ -z "$(vbd_left)" ] || fail "vbd backends left: $(vbd_left)"
	return 0
}
# vd_guest_start NAME VD: a PVH guest, kernel from dom0, VD as its rw disk (the failover's guest)
step_vd_guest_start() {
	guest_cfg "$1" "'vdev=xvda,access=rw,script=block-vd,target=vd:$2'" \
		"console=hvc0 e2e.name=$1 e2e.expect=xvda e2e.write=xvda e2e.tick=1 e2e.period=2 e2e.life=3600" \
		direct 128 pvh
	guest_boot "$1" "E2E-GUEST $1 TICK" 180 \
		"xl create $1 (vd:$2) failed" || fail "$1 does not write and read back VD $2"
	value "$1-domid" "$(guest_domid "$1")"
}
step_vd_create() { # NAME SIZE: value NAME-id
	local id
	id=$(vd_create "$2" --name "$1") || fail "xl-vd create $2 --name $1 failed"
	value "$1-id" "$id"
}
# map_refused VD HOST: `xl-vd map VD` (dom0 as a writer) is refused naming HOST
step_map_refused() {
	local out
	if out=$("$XL_VD" map "$1" 2>&1); then
		"$XL_VD" unmap "$1"
		fail "xl-vd map $1 succeeded on host $E2E_HOST while host $2 holds it rw"
	fi
	echo "$out"
	echo "$out" | grep -qE "host $2([^0-9]|$)" || fail "the refusal does not name host $2: $out"
}
# takeover VD DEADHOST SECS: try `xl-vd map VD` every 2 s until it works (at most SECS); each
# refusal and the dead host's state in host-list logged. Passes only if the first success came
# when host-list said DEADHOST dead. Values: takeover-secs (from the step's start), the state
# transitions of DEADHOST with their times.
step_takeover() {
	local vd=$1 dh=$2 lim=$3 t0=$EPOCHREALTIME end=$((SECONDS + $3)) st last="" out n=0
	while :; do
		st=$("$XL_VD" host-list 2>/dev/null | awk -v h="$dh" '$1 == h || $1 == h "*" {print tolower($2)}')
		if [ "$st" != "$last" ]; then
			info "+$(secs_between "$t0" "$EPOCHREALTIME") s: host $dh is ${st:-absent}"
			value "host$dh-$st-at" "$(secs_between "$t0" "$EPOCHREALTIME")"
			last=$st
		fi
		if out=$("$XL_VD" map "$vd" 2>&1); then
			value takeover-secs "$(secs_between "$t0" "$EPOCHREALTIME")"
			info "+$(secs_between "$t0" "$EPOCHREALTIME") s: xl-vd map $vd succeeded after $n refusals (host $dh: $st)"
			st=$("$XL_VD" host-list 2>/dev/null | awk -v h="$dh" '$1 == h {print tolower($2)}')
			[ "$st" = dead ] || fail "VD $vd was attached here while host $dh is '$st', not dead"
			return 0
		fi
		n=$((n + 1))
		[ $n -le 2 ] || [ $((n % 10)) -eq 0 ] && info "+$(secs_between "$t0" "$EPOCHREALTIME") s: refused: $(echo "$out" | head -1)"
		[ $SECONDS -ge $end ] && fail "VD $vd still refused after $lim s ($(echo "$out" | head -1))"
		sleep 2
	done
}
# stale_repair VD DEADHOST: check reports the dead host's attachment, check --repair clears it
step_stale_repair() {
	local out
	att_lines "$1"
	out=$("$XL_VD" check 2>&1)
	echo "$out"
	run "$XL_VD" check --repair || fail "xl-vd check --repair failed"
	att_lines "$1" | grep -qE "host $2 " && fail "host $2's stale attachment of VD $1 is still there after check --repair"
	run "$XL_VD" unmap "$1" || fail "xl-vd unmap $1 failed"
	run "$XL_VD" check || fail "xl-vd check fails after the repair"
}
# reimport: /var/lib/xenvd is lost; pool-import brings back every VD and every attachment
step_reimport() {
	need_xlvd pool-import
	local a b
	"$XL_VD" list | awk '{print $1, $2, $3, $4, $6}' >/tmp/e2e/list.before
	for id in $("$XL_VD" list | awk 'NR > 1 {print $1}'); do att_lines "$id"; done >/tmp/e2e/att.before
	cat /tmp/e2e/att.before
	rm -rf /var/lib/xenvd
	"$XL_VD" list >/dev/null 2>&1 && fail "xl-vd list still works without /var/lib/xenvd"
	run "$XL_VD" pool-import "$POOL" || fail "xl-vd pool-import $POOL failed"
	"$XL_VD" list | awk '{print $1, $2, $3, $4, $6}' >/tmp/e2e/list.after
	for id in $("$XL_VD" list | awk 'NR > 1 {print $1}'); do att_lines "$id"; done >/tmp/e2e/att.after
	cmp -s /tmp/e2e/list.before /tmp/e2e/list.after ||
		fail "VDs differ after the import: $(diff /tmp/e2e/list.before /tmp/e2e/list.after)"
	cmp -s /tmp/e2e/att.before /tmp/e2e/att.after ||
		fail "attachments differ after the import: $(diff /tmp/e2e/att.before /tmp/e2e/att.after)"
	[ -s /tmp/e2e/att.after ] || fail "no attachment at all (a guest runs here on a VD)"
	run "$XL_VD" host-list || fail "xl-vd host-list fails after the import"
	run "$XL_VD" check || fail "xl-vd check fails after the import"
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
