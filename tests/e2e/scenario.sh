#!/bin/bash
# The end-to-end scenario of issue 5, run inside the test bed's dom0 with the installed xenvd.
# `scenario.sh` runs every step in order, each in its own process under a time limit;
# `scenario.sh --step NAME` runs one step (what the runner calls). A step whose program is not
# installed yet reports SKIP naming it; it never passes without having done its checks.
E2E_SCRIPT=/e2e/scenario.sh
. /e2e/env
. /e2e/lib.sh
export PATH=/usr/sbin:/usr/bin

XVDA=51712 # devid of xvda; xvdb = 51728, xvdc = 51744
POOL2=/tmp/xenvd-pool2.img

# ---------------------------------------------------------------- boot: xenstored and xl
step_boot() {
	run xenstore-read /local/domain/0/name || fail "xenstored does not answer"
	run xl list || fail "xl list fails"
	xl list | grep -q '^Domain-0 ' || fail "xl list does not show Domain-0"
	echo "XENVD-E2E: time boot-to-xl-list $(e2e_now)s (dom0 uptime)"
	run xl info | grep -E 'xen_version|total_memory|free_memory|nr_cpus'
	run ls /usr/sbin/xl-vd /etc/xen/scripts/block-vd /usr/lib/xen-4.17/bin/vdloader \
		/usr/lib/xen-4.17/bin/vdloader-vd
	return 0
}

# ---------------------------------------------------------------- smoke: dm + stock block script
step_smoke() {
	truncate -s 64M /tmp/smoke.img
	loop=$(losetup -f --show /tmp/smoke.img) || fail "losetup failed"
	state_set smoke_loop "$loop"
	sz=$(blockdev --getsz "$loop")
	DM_DISABLE_UDEV=1 run dmsetup create e2e-smoke --table "0 $sz linear $loop 0" ||
		fail "dmsetup create failed"
	dev=/dev/mapper/e2e-smoke
	[ -b $dev ] || fail "no $dev after dmsetup create (DM_DISABLE_UDEV=1)"
	mark_write $dev "DOM0MARK smoke" || fail "cannot write the marker to $dev"
	guest_cfg smoke "'phy:$dev,xvda,w'" \
		"console=hvc0 e2e.name=smoke e2e.expect=xvda e2e.write=xvda e2e.life=4"
	t=$(e2e_now)
	guest_boot smoke "E2E-GUEST smoke BOOTED" 120 \
		"xl create smoke failed (stock block script on phy:$dev)" || fail "guest smoke did not boot"
	echo "XENVD-E2E: time smoke-create-to-marker $(awk -v a=$t -v b=$(e2e_now) 'BEGIN{print b-a}')s"
	be=$(vbd_backend smoke $XVDA) && {
		pd=$(xenstore-read $be/physical-device)
		want=$(stat -L -c %t:%T $dev)
		info "backend $be physical-device=$pd ($dev is $want)"
		[ "$pd" = "$want" ] || fail "stock block script wrote physical-device=$pd, expected $want"
	}
	guest_wait smoke "DISK xvda size=67108864 ro=0 mark=\[DOM0MARK smoke\]" 30 ||
		fail "guest smoke did not read dom0's marker on xvda"
	guest_wait smoke "WROTE xvda" 30 || fail "guest smoke could not write xvda"
	guest_wait smoke "POWEROFF" 30 || fail "guest smoke did not power off"
	guest_gone smoke 60 || fail "guest smoke was not reaped after powering off"
	got=$(mark_read $dev guest)
	info "dom0 reads back: [$got]"
	case "$got" in "GUESTMARK smoke xvda "*) ;; *) fail "guest's write not seen in dom0: [$got]" ;; esac
	DM_DISABLE_UDEV=1 run dmsetup remove e2e-smoke || fail "dmsetup remove failed"
	losetup -d "$loop"
	rm -f /tmp/smoke.img
	return 0
}

# ---------------------------------------------------------------- install layout
step_install() {
	missing=""
	for p in "$XL_VD" "$BLOCK_VD" "$VDLOADER"; do
		if [ -x "$p" ]; then info "installed: $p"; else missing="$missing $(basename $p)"; fi
	done
	[ -z "$missing" ] || skip "not built yet:$missing"
	run "$XL_VD" --help >/dev/null || fail "xl-vd --help fails"
	return 0
}

# ---------------------------------------------------------------- libdevmapper + loop, for real
# tests/unit/test_dm_live (skipped on hosts without device-mapper) in a kernel that has it. Runs
# before any VD exists here: its own database numbers its VD 1 too, as /dev/mapper/vd-1.
step_dm_live() {
	t=/usr/lib/xenvd-tests/test_dm_live
	[ -x $t ] || skip "test_dm_live not built (make e2e builds it)"
	[ -z "$(dm_vd_devices)" ] || fail "vd-* dm devices exist before the test: $(dm_vd_devices)"
	$t
	rc=$?
	[ $rc -eq 77 ] && fail "test_dm_live skipped in the test bed, which has device-mapper"
	[ $rc -eq 0 ] || fail "test_dm_live failed (exit $rc)"
	[ -z "$(dm_vd_devices)" ] || fail "test_dm_live left dm devices: $(dm_vd_devices)"
	return 0
}

# ---------------------------------------------------------------- 1. format pools, create VDs
step_vd_format() {
	need_xlvd format create
	[ -b /dev/vda ] || fail "no /dev/vda (virtio pool disk) in dom0"
	run "$XL_VD" format /dev/vda --extent-size 4M || fail "xl-vd format /dev/vda failed"
	truncate -s 256M $POOL2
	run "$XL_VD" format $POOL2 --extent-size 4M || fail "xl-vd format of a file-backed pool device failed"
	run "$XL_VD" pool-list
	id1=$(vd_create 64M --name e2e-root) || fail "xl-vd create 64M failed"
	id2=$(vd_create 16M --name e2e-data) || fail "xl-vd create 16M failed"
	[ -n "$id1" ] && [ -n "$id2" ] && [ "$id1" != "$id2" ] || fail "bad VD ids '$id1' '$id2'"
	state_set id1 "$id1"
	state_set id2 "$id2"
	run "$XL_VD" list || fail "xl-vd list failed"
	run "$XL_VD" check || fail "xl-vd check fails right after format/create"
	return 0
}

# ---------------------------------------------------------------- 2. populate VD 1 (and VD 2)
vd1_tree() {
	r=/tmp/vd1root
	rm -rf $r
	mkdir -p $r/boot/grub $r/etc
	cp /e2e/guest/vmlinuz $r/boot/vmlinuz-$E2E_KVER
	cp /e2e/guest/initrd-vd.gz $r/boot/initrd.img-$E2E_KVER
	ln -s boot/vmlinuz-$E2E_KVER $r/vmlinuz
	cat >$r/boot/grub/grub.cfg <<EOF
set default=0
set timeout=0
menuentry 'xenvd e2e guest' --class debian {
	linux /boot/vmlinuz-$E2E_KVER root=/dev/xvda ro console=hvc0 e2e.origin=vd1-grub
	initrd /boot/initrd.img-$E2E_KVER
}
EOF
	echo "/dev/xvda / ext4 defaults 0 1" >$r/etc/fstab
}
step_vd_populate() {
	need_step vd-format
	id1=$(state_get id1) id2=$(state_get id2)
	vd1_tree
	need_xlvd map unmap import
	# VD 1 through the dm device in dom0 (the VBD-HOWTO way), VD 2 with xl-vd import
	run "$XL_VD" map "$id1" || fail "xl-vd map $id1 failed"
	d1=/dev/mapper/vd-$id1
	[ -b $d1 ] || fail "no $d1 after xl-vd map $id1"
	run mke2fs -q -F -t ext4 -d /tmp/vd1root -L e2eroot $d1 48M || fail "mkfs.ext4 on $d1 failed"
	state_set size1 "$(blockdev --getsize64 $d1)"
	run "$XL_VD" unmap "$id1" || fail "xl-vd unmap $id1 failed"
	rm -f /tmp/vd2.img
	truncate -s 16M /tmp/vd2.img
	mark_write /tmp/vd2.img "DOM0MARK vd2" || fail "cannot write the marker into /tmp/vd2.img"
	run "$XL_VD" import "$id2" /tmp/vd2.img || fail "xl-vd import $id2 failed"
	rm -f /tmp/vd2.img
	state_set size2 16777216
	left=$(dm_vd_devices)
	[ -z "$left" ] || fail "dm devices left after unmap: $left"
	return 0
}

# ---------------------------------------------------------------- 3. boot a guest from VD 1
step_vd_boot() {
	need_step vd-populate
	need_prog "$BLOCK_VD" block-vd
	need_prog "$VDLOADER" vdloader
	id1=$(state_get id1) size1=$(state_get size1)
	guest_cfg g1 "'vdev=xvda,access=rw,script=block-vd,target=vd:$id1'" \
		"e2e.name=g1 e2e.expect=xvda e2e.write=xvda,xvdc e2e.life=900" bootloader
	t=$(e2e_now)
	guest_boot g1 "E2E-GUEST g1 BOOTED initrd=vd origin=vd1-grub" 120 \
		"xl create g1 (bootloader vdloader, vd:$id1) failed" ||
		fail "g1 did not boot the kernel/initrd/cmdline of VD $id1's grub.cfg"
	echo "XENVD-E2E: time vd-create-to-marker $(awk -v a=$t -v b=$(e2e_now) 'BEGIN{print b-a}')s"
	guest_wait g1 "DISK xvda size=[0-9]+ ro=0" 30 || fail "g1 does not see xvda writable"
	guest_console g1 | grep "DISK xvda"
	guest_wait g1 "WROTE xvda" 30 || fail "g1 cannot write its VD"
	be=$(vbd_backend g1 $XVDA) || fail "no backend for g1's xvda"
	p=$(xenstore-read $be/params)
	pd=$(xenstore-read $be/physical-device 2>/dev/null)
	info "backend $be params=[$p] physical-device=$pd"
	[ -b /dev/mapper/vd-$id1 ] || fail "no /dev/mapper/vd-$id1 while g1 runs"
	want=$(stat -L -c %t:%T /dev/mapper/vd-$id1)
	[ "$pd" = "$want" ] || fail "physical-device=$pd but /dev/mapper/vd-$id1 is $want"
	l=$(xenstore-list /local/domain/0/backend/vbd/0 2>/dev/null)
	[ -z "$l" ] || fail "the bootloader's dom0 attach was not cleaned up: backend/vbd/0: $l"
	ls /var/lib/xen/bootloader.* 2>/dev/null && fail "bootloader files left in /var/lib/xen"
	run "$XL_VD" list
	return 0
}

# ---------------------------------------------------------------- 4. runtime attach of VD 2 (ro)
count_lines() { guest_console "$1" | grep -cE "$2"; }
guest_wait_count() { # NAME EREGEX N SECS
	local end
	end=$((SECONDS + $4))
	while [ $SECONDS -lt $end ]; do
		[ "$(count_lines "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.5
	done
	echo "fewer than $3 '$2' on $1's console within $4s:"
	guest_console "$1" | tail -n 20 | sed "s/^/    $1: /"
	return 1
}
step_vd_attach() {
	need_step vd-boot
	id2=$(state_get id2) size2=$(state_get size2)
	run xl block-attach g1 "vdev=xvdb,access=r,script=block-vd,target=vd:$id2" ||
		fail "xl block-attach of vd:$id2 to g1 failed"
	guest_wait g1 "DISK xvdb size=$size2 ro=1 mark=\[DOM0MARK vd2\]" 40 ||
		fail "g1 does not see VD $id2 (size $size2, read-only, dom0's marker) as xvdb"
	be=$(vbd_backend g1 51728) || fail "no backend for xvdb"
	info "backend $be params=[$(xenstore-read $be/params)] mode=$(xenstore-read $be/mode)"
	run xl block-detach g1 xvdb || fail "xl block-detach g1 xvdb failed"
	guest_wait g1 "GONE xvdb" 30 || fail "xvdb did not go away in g1"
	n=0
	while [ -b /dev/mapper/vd-$id2 ] && [ $n -lt 20 ]; do sleep 0.5; n=$((n + 1)); done
	[ -b /dev/mapper/vd-$id2 ] && fail "/dev/mapper/vd-$id2 left after its only attachment went"
	return 0
}

# ---------------------------------------------------------------- 4b. xl-vd attach / detach
# The project's own commands, through libxl: a read-only VD with dom0's marker to the running g1,
# the guest reads it, xl-vd detach, the guest sees it go, nothing is left.
step_xlvd_attach() {
	need_step vd-boot
	need_xlvd attach detach map unmap
	local id d1 be
	id=$(vd_create 8M --name e2e-xlvd-ro) || fail "xl-vd create failed"
	run "$XL_VD" map "$id" || fail "xl-vd map $id failed"
	mark_write /dev/mapper/vd-$id "DOM0MARK xlvd" || fail "cannot write the marker to vd-$id"
	run "$XL_VD" unmap "$id" || fail "xl-vd unmap $id failed"
	d1=$(guest_domid g1)
	run "$XL_VD" attach g1 "$id" xvdd r || fail "xl-vd attach g1 $id xvdd r failed"
	guest_wait g1 "DISK xvdd size=8388608 ro=1 mark=\[DOM0MARK xlvd\]" 40 ||
		fail "g1 does not read VD $id (read-only, dom0's marker) as xvdd"
	be=$(vbd_backend g1 51760) || fail "no backend for g1's xvdd"
	info "backend $be params=[$(xenstore-read $be/params)] mode=$(xenstore-read $be/mode)"
	[ "$(vd_attachments "$id")" = "$d1 xvdd r" ] ||
		fail "VD $id attachments: [$(vd_attachments "$id")], expected one for domain $d1 (xvdd r)"
	run "$XL_VD" detach g1 xvdd || fail "xl-vd detach g1 xvdd failed"
	guest_wait g1 "GONE xvdd" 30 || fail "xvdd did not go away in g1"
	vbd_backend g1 51760 >/dev/null && fail "g1's xvdd backend is still in xenstore"
	[ -b /dev/mapper/vd-$id ] && fail "/dev/mapper/vd-$id left after xl-vd detach"
	[ -z "$(vd_attachments "$id")" ] || fail "attachments of VD $id left: $(vd_attachments "$id")"
	# a disk that is not there: the message names it
	out=$("$XL_VD" detach g1 xvdd 2>&1) && fail "xl-vd detach of a detached disk succeeded"
	info "detaching it again: $out"
	case "$out" in *"no disk xvdd"*) ;; *) fail "the second detach does not say g1 has no xvdd: $out" ;; esac
	run "$XL_VD" delete "$id" || fail "xl-vd delete $id failed"
	run "$XL_VD" check || fail "xl-vd check fails after xl-vd attach/detach"
	return 0
}

# a step that failed half-way may have left a disk attached to g1: detach it first
detach_leftover() { # VDEV DEVID
	if vbd_backend g1 "$2" >/dev/null; then
		info "$1 is still attached to g1 (an earlier step failed): detaching it"
		xl block-detach g1 "$1"
	fi
}

# ---------------------------------------------------------------- 5. sharing
step_vd_share() {
	need_step vd-boot
	id1=$(state_get id1) id2=$(state_get id2) size2=$(state_get size2)
	d1=$(guest_domid g1)
	detach_leftover xvdb 51728
	# a second writer of VD 1 is refused: xl's output (hotplug-error, which g2 can read too)
	# says another domain has it, dom0's hotplug log names the holder
	guest_cfg g2 "'vdev=xvda,access=rw,script=block-vd,target=vd:$id1'" \
		"console=hvc0 e2e.name=g2 e2e.expect=xvda e2e.life=0"
	if guest_create g2; then
		guest_destroy g2
		fail "VD $id1 was attached writable to g2 while g1 has it writable"
	fi
	guest_exists g2 && { guest_destroy g2; fail "a failed xl create left domain g2 behind"; }
	grep -q "another domain" /tmp/e2e/g2.create.log ||
		fail "the refusal does not say another domain holds VD $id1"
	! grep -iE "dom(ain|id)?[ =:]*$d1([^0-9]|$)" /tmp/e2e/g2.create.log ||
		fail "the refusal g2 can read names the holder (domain $d1)"
	grep -aE "already attached .*domain $d1([^0-9]|$)" /var/log/xen/xen-hotplug.log >/dev/null ||
		fail "dom0's hotplug log does not name the holder (domain $d1)"
	guest_exists g1 || fail "g1 died"
	# dom0 (xl-vd map) as a writer is refused too
	if run "$XL_VD" map "$id1"; then
		"$XL_VD" unmap "$id1"
		fail "xl-vd map $id1 succeeded while g1 has VD $id1 writable"
	fi
	# read-only sharing of VD 2 by g1 and g3
	run xl block-attach g1 "vdev=xvdb,access=r,script=block-vd,target=vd:$id2" ||
		fail "xl block-attach of vd:$id2 (r) to g1 failed"
	guest_wait_count g1 "DISK xvdb size=$size2 ro=1 mark=\[DOM0MARK vd2\]" 2 40 ||
		fail "g1 does not see VD $id2 again"
	guest_cfg g3 "'vdev=xvda,access=r,script=block-vd,target=vd:$id2'" \
		"console=hvc0 e2e.name=g3 e2e.expect=xvda e2e.life=0"
	guest_boot g3 "DISK xvda size=$size2 ro=1 mark=\[DOM0MARK vd2\]" 120 \
		"read-only sharing of VD $id2 by g1 and g3 was refused" ||
		fail "g3 does not read VD $id2 shared read-only"
	guest_wait g3 "POWEROFF" 30
	guest_gone g3 60 || fail "g3 was not reaped"
	run xl block-detach g1 xvdb || fail "xl block-detach g1 xvdb failed"
	guest_wait_count g1 "GONE xvdb" 2 30 || fail "xvdb did not go away in g1"
	foreign_backend_conflict
	return 0
}

# Another backend (the stock script's phy: on the raw pool device, as another domain would have
# it) among 150 unrelated ones, all in the real xenstored: block-vd must find it through its
# pipelined xenstore batches and refuse, saying another domain uses it (hotplug-error is
# guest-readable: the domain's id goes to dom0's log only); once it is gone the attach works.
foreign_backend_conflict() {
	local base=/local/domain/0/backend/vbd dev id be=backend/vbd/3998/51712 i err
	id=$(vd_create 8M --name e2e-foreign) || fail "xl-vd create failed"
	"$XL_VD" show "$id" | grep -q ' /dev/vda$' || { "$XL_VD" delete "$id" --force; info "VD $id not on /dev/vda: foreign-backend check skipped"; return 0; }
	dev=$(printf '%x:%x' $((0x$(stat -L -c %t /dev/vda))) $((0x$(stat -L -c %T /dev/vda))))
	local nodes="" doms=""
	i=0
	while [ $i -lt 150 ]; do # one xenstore-write for all: each fork costs ~50 ms here
		nodes="$nodes $base/$((4000 + i))/51712/physical-device fe:$i $base/$((4000 + i))/51712/mode w"
		doms="$doms $base/$((4000 + i))"
		i=$((i + 1))
	done
	xenstore-write $nodes || fail "xenstore-write of 150 unrelated backends failed"
	xenstore-write $base/3999/768/physical-device "$dev" $base/3999/768/mode w \
		$base/3999/768/frontend-id 3999
	# both domains as libxl describes them, of two VMs: a domain whose xenstore entries are gone
	# would count as the requester (the stock script's same_vm care)
	xenstore-write /local/domain/3999/vm /vm/00000000-0000-4000-8000-000000003999 \
		/local/domain/3998/vm /vm/00000000-0000-4000-8000-000000003998
	xenstore-write /local/domain/0/$be/params "vd:$id" /local/domain/0/$be/mode r \
		/local/domain/0/$be/frontend-id 3998
	if XENBUS_PATH=$be "$BLOCK_VD" add; then
		err=refused-not
	else
		err=$(xenstore-read /local/domain/0/$be/hotplug-error 2>/dev/null)
	fi
	info "with domain 3999 writing the raw pool device ($dev): $err"
	XENBUS_PATH=$be "$BLOCK_VD" remove
	xenstore-rm $base/3999
	ok=1
	case "$err" in *"3999"*) ok=0 ;; *"another domain"*) ;; *) ok=0 ;; esac
	XENBUS_PATH=$be "$BLOCK_VD" add || ok=2
	XENBUS_PATH=$be "$BLOCK_VD" remove
	xenstore-rm $base/3998
	xenstore-rm /local/domain/3998 /local/domain/3999
	xenstore-rm $doms
	"$XL_VD" delete "$id" --force >/dev/null
	[ $ok = 1 ] || fail "foreign phy: backend on the pool device: refusal [$err], attach after it went: $([ $ok = 2 ] && echo failed || echo -)"
}

# ---------------------------------------------------------------- 6. expired but attached
step_vd_expire() {
	need_step vd-boot
	need_xlvd refresh gc show
	detach_leftover xvdc 51744
	id3=$(vd_create 16M --name e2e-lease) || fail "xl-vd create failed"
	state_set id3 "$id3"
	run xl block-attach g1 "vdev=xvdc,access=rw,script=block-vd,target=vd:$id3" ||
		fail "xl block-attach of vd:$id3 to g1 failed"
	guest_wait g1 "WROTE xvdc" 40 || fail "g1 cannot write VD $id3"
	# grown while attached: the live dm device takes the new table and blkback publishes the
	# new size to the guest (xenstore "sectors"), as an online resize should
	be=$(vbd_backend g1 51744) || fail "no backend for g1's xvdc"
	run "$XL_VD" resize "$id3" 24M || fail "xl-vd resize $id3 24M (attached) failed"
	[ "$(disk_sectors /dev/mapper/vd-$id3)" = 49152 ] ||
		fail "vd-$id3 has $(disk_sectors /dev/mapper/vd-$id3) sectors after growing to 24M"
	n=0
	while [ "$(xenstore-read $be/sectors 2>/dev/null)" != 49152 ] && [ $n -lt 20 ]; do sleep 1; n=$((n + 1)); done
	info "backend $be sectors: $(xenstore-read $be/sectors 2>/dev/null)"
	[ "$(xenstore-read $be/sectors 2>/dev/null)" = 49152 ] || fail "blkback did not publish the new size of VD $id3"
	run "$XL_VD" refresh "$id3" --expire 1 || fail "xl-vd refresh $id3 --expire 1 failed"
	sleep 3
	run "$XL_VD" show "$id3"
	before=$(dmsetup table vd-$id3)
	run "$XL_VD" gc || fail "xl-vd gc failed"
	after=$(dmsetup table vd-$id3)
	info "table before gc: $before"
	info "table after gc:  $after"
	[ -n "$after" ] && [ "$before" = "$after" ] || fail "gc changed or removed vd-$id3 while attached"
	run "$XL_VD" show "$id3" || fail "VD $id3 no longer shown after gc although attached"
	c1=$(mark_read /dev/mapper/vd-$id3 guest)
	sleep 4
	c2=$(mark_read /dev/mapper/vd-$id3 guest)
	info "g1's writes on the expired VD: [$c1] then [$c2]"
	case "$c2" in "GUESTMARK g1 xvdc "*) ;; *) fail "g1's writes to VD $id3 not seen" ;; esac
	[ "${c1##* }" -lt "${c2##* }" ] 2>/dev/null || fail "g1 stopped writing to VD $id3 after gc"
	id4=$(vd_create 16M --name e2e-after-gc) || fail "xl-vd create after gc failed"
	run "$XL_VD" check || fail "xl-vd check fails after gc with an expired attached VD"
	run "$XL_VD" delete "$id4"
	run xl block-detach g1 xvdc || fail "xl block-detach g1 xvdc failed"
	return 0
}

# ---------------------------------------------------------------- 7. destroy, nothing left
step_vd_destroy() {
	need_step vd-boot
	guest_destroy g1 || fail "xl destroy g1 failed"
	# guests an earlier failed step left behind would keep their VDs attached: note and destroy
	for g in $(xl list | awk 'NR>2 {print $1}'); do
		info "destroying $g, left by an earlier step"
		guest_destroy "$g"
	done
	l=$(vbd_left)
	[ -z "$l" ] || fail "backends left in xenstore: $l"
	run dmsetup ls
	left=$(dm_vd_devices)
	[ -z "$left" ] || fail "dm devices left after xl destroy: $left"
	run "$XL_VD" check || fail "xl-vd check reports problems after xl destroy"
	run "$XL_VD" list
	return 0
}

# ---------------------------------------------------------------- 8. altered label
flip_byte() { # FILE OFFSET
	b=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	printf "\\$(printf %o $(( (b ^ 0x5a) & 255 )))" | dd of="$1" bs=1 seek="$2" count=1 conv=notrunc,fsync 2>/dev/null
}
step_vd_label_fault() {
	need_step vd-populate
	need_prog "$BLOCK_VD" block-vd
	need_prog "$VDLOADER" vdloader
	guest_exists g1 && guest_destroy g1
	id1=$(state_get id1)
	dd if=/dev/vda of=/tmp/vda.label bs=4096 count=1 2>/dev/null
	dd if=$POOL2 of=/tmp/pool2.label bs=4096 count=1 2>/dev/null
	# alter one byte of the label (inside its UUIDs) on both pool devices: VD 1 is on one of them
	flip_byte /dev/vda 20
	flip_byte $POOL2 20
	blockdev --flushbufs /dev/vda
	cmp -s /tmp/vda.label /dev/vda -n 4096 && fail "could not alter /dev/vda's label"
	guest_cfg g4 "'vdev=xvda,access=rw,script=block-vd,target=vd:$id1'" \
		"e2e.name=g4 e2e.expect=xvda e2e.life=0" bootloader
	ok=1
	if guest_create g4; then
		guest_destroy g4
		ok=0
		why="xl create g4 succeeded on VD $id1 whose pool label was altered"
	fi
	if [ $ok = 1 ] && ! grep -i "label" /tmp/e2e/g4.create.log; then
		ok=0
		why="xl's output does not say the label is wrong"
	fi
	guest_exists g4 && { guest_destroy g4; ok=0; why="${why:-domain g4 left behind}"; }
	left=$(dm_vd_devices)
	[ -z "$left" ] || { ok=0; why="${why:-dm devices left: $left}"; }
	l=$(vbd_left)
	for b in $l; do
		xenstore-ls -f /local/domain/0/backend/vbd/$b 2>&1 | sed 's/^/    left: /'
		case $b in
		0/*)
			# libxl 4.17 does not roll back a failed bootloader local attach: it leaves the dom0
			# vbd whatever the script (ctl-bootfail shows the same with the stock block script)
			e2e_log "libxl left the bootloader's dom0 vbd backend/vbd/$b after the refused attach (libxl 4.17 behaviour, same with the stock block script)"
			xenstore-rm /local/domain/0/backend/vbd/$b
			xenstore-rm /local/domain/0/device/vbd/${b#0/} 2>/dev/null
			xenstore-rm /libxl/0/device/vbd/${b#0/} 2>/dev/null ;;
		*)
			ok=0
			why="${why:-vbd backend left in xenstore after the refused xl create: $b}" ;;
		esac
	done
	ls -d /var/lib/xen/bootloader.* 2>/dev/null && { ok=0; why="${why:-bootloader files left}"; }
	losetup -a | grep -F "$POOL2" && info "note: a loop device still backs $POOL2"
	# put the labels back: the pool must be clean again
	dd if=/tmp/vda.label of=/dev/vda bs=4096 count=1 conv=notrunc,fsync 2>/dev/null
	dd if=/tmp/pool2.label of=$POOL2 bs=4096 count=1 conv=notrunc,fsync 2>/dev/null
	blockdev --flushbufs /dev/vda
	run "$XL_VD" check || { ok=0; why="${why:-xl-vd check fails after the labels were restored}"; }
	[ $ok = 1 ] || fail "$why"
	return 0
}

# diagnosis only (not in the default list): does libxl leave the bootloader's dom0 vbd behind when
# the STOCK block script fails? (control for the label-fault step)
step_ctl_bootfail() {
	need_prog "$VDLOADER" vdloader
	: >/tmp/e2e-not-a-block-device
	guest_cfg c1 "'vdev=xvda,access=rw,script=block,target=/dev/e2e-no-such-device'" "e2e.name=c1" bootloader
	guest_create c1 && { guest_destroy c1; fail "xl create with a missing phy: device succeeded"; }
	l=$(vbd_left)
	for b in $l; do xenstore-ls -f /local/domain/0/backend/vbd/$b 2>&1 | sed 's/^/    left: /'; done
	[ -z "$l" ] || fail "with the stock block script too, libxl leaves: $l"
	return 0
}

# diagnosis only (not in the default list): many short-lived busybox and host processes at once
step_stress() {
	for j in 1 2 3 4; do
		( for i in $(seq 1 30); do
			busybox cat /proc/uptime | busybox grep -q . || echo "busybox pipeline failed ($j/$i)"
		done ) &
	done
	wait
	for j in 1 2; do
		( for i in $(seq 1 30); do cat /proc/uptime | grep -q . || echo "host pipeline failed"; done ) &
	done
	wait
	n=$(dmesg | grep -c -E 'segfault|general protection')
	[ "$n" -eq 0 ] || fail "$n crashes: $(dmesg | grep -E 'segfault|general protection' | tail -3)"
}

# ---------------------------------------------------------------- pool device renamed
# A pool disk that shows up under another name (boot order, another port) is found by its
# label, used, and its new path recorded; renamed back, the same again.
step_vd_moved() {
	need_step vd-format
	need_xlvd map unmap pool-list
	id=$(vd_create 8M --name e2e-moved) || fail "xl-vd create failed"
	"$XL_VD" show "$id" | grep -q ' /dev/vda$' || { "$XL_VD" delete "$id" --force; skip "VD $id is not on /dev/vda"; }
	# found by its label, and adopted because it shows the identity recorded at format time
	# (the serial run.sh gives the disk, xenvd-e2e-pool)
	"$XL_VD" pool-list --json | grep -q '"identity":"[^"]*xenvd-e2e-pool"' ||
		fail "format did not record /dev/vda's serial as its identity: $("$XL_VD" pool-list --json)"
	mv /dev/vda /dev/vdmoved || fail "cannot rename /dev/vda"
	ok=""
	if run "$XL_VD" map "$id"; then
		"$XL_VD" pool-list | grep -q /dev/vdmoved && ok=recorded
		run "$XL_VD" unmap "$id" || ok=""
	fi
	mv /dev/vdmoved /dev/vda
	[ -n "$ok" ] || { "$XL_VD" delete "$id" --force; fail "VD $id on /dev/vda renamed /dev/vdmoved: not mapped, or the new path not recorded"; }
	run "$XL_VD" map "$id" || fail "VD $id not mapped after /dev/vda came back"
	run "$XL_VD" unmap "$id"
	run "$XL_VD" pool-list
	"$XL_VD" pool-list | grep -q '/dev/vda$\|/dev/vda ' || fail "the path /dev/vda was not recorded again"
	"$XL_VD" delete "$id" --force >/dev/null
	return 0
}

# ---------------------------------------------------------------- the pool carries its database
# vd-format made the pool on /dev/vda, a block device: its database lives there (and its
# second copy on $POOL2). dom0 loses /var/lib/xenvd; pool-import brings the pool back from its
# labels, and a guest boots from VD 1 through it.
step_vd_import() {
	need_step vd-populate
	need_xlvd pool-import
	need_prog "$BLOCK_VD" block-vd
	need_prog "$VDLOADER" vdloader
	guest_exists g1 && guest_destroy g1
	"$XL_VD" pool-list | tee /tmp/e2e-pool-list
	grep -q "^Database: on the pool's metadata area, /dev/vda@" /tmp/e2e-pool-list ||
		fail "the pool's database is not on /dev/vda"
	"$XL_VD" list | awk '{print $1, $2, $3, $4}' >/tmp/e2e-list.before
	rm -rf /var/lib/xenvd
	"$XL_VD" list >/dev/null 2>&1 && fail "xl-vd list still works without /var/lib/xenvd"
	run "$XL_VD" pool-import /dev/vda $POOL2 || fail "xl-vd pool-import /dev/vda $POOL2 failed"
	"$XL_VD" list | awk '{print $1, $2, $3, $4}' >/tmp/e2e-list.after
	cmp -s /tmp/e2e-list.before /tmp/e2e-list.after ||
		fail "VDs differ after the import: $(diff /tmp/e2e-list.before /tmp/e2e-list.after)"
	run "$XL_VD" check || fail "xl-vd check fails after the import"
	id1=$(state_get id1)
	guest_cfg g5 "'vdev=xvda,access=rw,script=block-vd,target=vd:$id1'" \
		"e2e.name=g5 e2e.expect=xvda e2e.life=4" bootloader
	guest_boot g5 "E2E-GUEST g5 BOOTED initrd=vd origin=vd1-grub" 120 \
		"xl create g5 (vd:$id1) failed after the import" ||
		fail "g5 did not boot VD $id1 after the import"
	guest_wait g5 "POWEROFF" 60 || fail "g5 did not power off"
	guest_gone g5 60 || { guest_destroy g5; fail "g5 was not reaped after powering off"; }
	[ -z "$(dm_vd_devices)" ] || fail "dm devices left after g5: $(dm_vd_devices)"
	run "$XL_VD" check || fail "xl-vd check fails after g5"
	return 0
}

# ---------------------------------------------------------------- 9. PVH guest: lifecycle
# A PVH guest (XEN-IN-QEMU.md: HVM-capable Xen under -cpu qemu64,+svm,+npt) booted by vdloader from
# VD 1, with VD 2 as a data disk, both writable; it writes and reads back both every second
# ("TICK"). Then: same-host live migration, save + restore, reboot (restart: vdloader again),
# destroy; after each, exactly one attachment per disk for the current domain and one dm device
# per VD, or nothing at all when no domain is left.
P1_DISKS=""
p1_init() {
	id1=$(state_get id1) id2=$(state_get id2)
	P1_DISKS="'vdev=xvda,access=rw,script=block-vd,target=vd:$id1', 'vdev=xvdb,access=rw,script=block-vd,target=vd:$id2'"
}
vm_uuid_of() { xl list -v "$1" 2>/dev/null | grep -oE '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' | head -1; }
tick_count() { guest_console_all "$1" | grep -c "E2E-GUEST $1 TICK"; }
# p1_back_after_emulation OLD_DOMID: an operation on p1 failed because domain OLD_DOMID died of
# the emulator (lib.sh's guest_died_of_emulation); on_reboot = restart brings p1 back: wait until
# it runs and ticks again, so the caller can try the operation once more
p1_back_after_emulation() {
	local end=$((SECONDS + 240)) n
	guest_died_of_emulation p1 "$1" || return 1
	while { [ -z "$(guest_domid p1)" ] || [ "$(guest_domid p1)" = "$1" ]; } &&
		[ $SECONDS -lt $end ]; do sleep 1; done
	n=$(tick_count p1)
	guest_wait_more p1 "E2E-GUEST p1 TICK" "$n" 240 || return 1
	echo "XENVD-E2E: note p1 restarted as domain $(guest_domid p1): trying once more"
}
# nothing of p1 left: no attachment, no dm device, no vbd backend, xl-vd check clean
p1_nothing_left() { # WHEN
	local id l
	for id in $id1 $id2; do
		[ -z "$(vd_attachments "$id")" ] || fail "$1: VD $id still attached: $(vd_attachments "$id")"
	done
	l=$(dm_vd_devices)
	[ -z "$l" ] || fail "$1: dm devices left: $l"
	l=$(vbd_left)
	[ -z "$l" ] || fail "$1: vbd backends left in xenstore: $l"
	run "$XL_VD" check || fail "$1: xl-vd check reports problems"
}
# p1 runs as domain DOMID of VM UUID: one attachment per disk, for that domain and VM; one dm
# device per VD; only its two vbd backends
p1_attached_to() { # DOMID UUID WHEN
	local id vdev l
	for id in $id1 $id2; do
		vdev=xvda
		[ "$id" = "$id2" ] && vdev=xvdb
		l=$(vd_attachments "$id")
		[ "$l" = "$1 $vdev w" ] || fail "$3: VD $id attachments [$l], expected one: domain $1 $vdev w"
		"$XL_VD" show "$id" | grep -q "VM $2" ||
			fail "$3: VD $id's attachment does not record p1's VM $2: $("$XL_VD" show "$id" | grep domain)"
	done
	l=$(dm_vd_devices | sort | tr '\n' ' ')
	[ "$l" = "$(printf 'vd-%s\nvd-%s\n' "$id1" "$id2" | sort | tr '\n' ' ')" ] ||
		fail "$3: dm devices [$l], expected vd-$id1 and vd-$id2"
	l=$(vbd_left | sort | tr '\n' ' ')
	[ "$l" = "$1/51712 $1/51728 " ] || fail "$3: vbd backends [$l], expected $1/51712 and $1/51728"
	info "$3: domain $1 (VM $2) holds VD $id1 as xvda and VD $id2 as xvdb; dm: $(dm_vd_devices | tr '\n' ' ')"
}
step_pvh_boot() {
	need_step vd-populate
	need_prog "$BLOCK_VD" block-vd
	need_prog "$VDLOADER" vdloader
	p1_init
	for g in $(xl list | awk 'NR>2 {print $1}'); do
		info "destroying $g, left by an earlier step"
		guest_destroy "$g"
	done
	xl info | grep -q 'virt_caps.*hvm' || fail "Xen offers no HVM (virt_caps: $(xl info | grep virt_caps)); QEMU needs -cpu ...,+svm,+npt"
	# what libxl will load is vdloader's copy: bit for bit the kernel and initrd put in VD 1
	rm -rf /tmp/e2e/p1-vdl && mkdir -p /tmp/e2e/p1-vdl
	"$VDLOADER" --vd="$id1" --output-format=simple --output=- \
		--output-directory=/tmp/e2e/p1-vdl >/tmp/e2e/p1-vdl/result || fail "vdloader --vd=$id1 failed"
	for f in kernel:vmlinuz ramdisk:initrd-vd.gz; do
		l=$(sed -n "s/^${f%%:*} //p" /tmp/e2e/p1-vdl/result)
		[ -n "$l" ] && cmp "$l" "/e2e/guest/${f#*:}" ||
			fail "vdloader --vd=$id1's ${f%%:*} ($l) is not /e2e/guest/${f#*:}"
	done
	rm -rf /tmp/e2e/p1-vdl
	E2E_ON_REBOOT=restart guest_cfg p1 "$P1_DISKS" \
		"e2e.name=p1 e2e.expect=xvda,xvdb e2e.write=xvda,xvdb e2e.tick=1 e2e.control=xvdb e2e.life=1800" \
		bootloader 128 pvh
	guest_boot p1 "E2E-GUEST p1 TICK" 240 \
		"xl create of the PVH guest p1 (vdloader from vd:$id1, vd:$id2) failed" ||
		fail "PVH guest p1 did not boot, or does not write and read back xvda and xvdb"
	guest_console p1 | grep -q "E2E-GUEST p1 BOOTED initrd=vd origin=vd1-grub" ||
		fail "PVH guest p1 did not boot VD $id1's grub.cfg entry"
	xl list -l p1 | grep -q '"type": "pvh"' || fail "p1 is not a PVH domain"
	p1_attached_to "$(guest_domid p1)" "$(vm_uuid_of p1)" "after boot"
	return 0
}
step_pvh_migrate() {
	need_step pvh-boot
	p1_init
	local old new uuid n c1 c2 figs
	old=$(guest_domid p1) uuid=$(vm_uuid_of p1) n=$(tick_count p1)
	c1=$(mark_read /dev/mapper/vd-$id2 guest)
	figs=$(xl_migrate_timed p1 /tmp/e2e/p1.migrate.log)
	rc=$?
	if [ $rc -ne 0 ] && p1_back_after_emulation "$old"; then
		old=$(guest_domid p1) n=$(tick_count p1)
		c1=$(mark_read /dev/mapper/vd-$id2 guest)
		figs=$(xl_migrate_timed p1 /tmp/e2e/p1.migrate.log)
		rc=$?
	fi
	grep -a -E 'migration|Migration|rror|block-vd|hotplug' /tmp/e2e/p1.migrate.log | cut -d' ' -f2- |
		grep -v 'debug:' | tail -n 25 | sed 's/^/    xl: /'
	[ $rc -eq 0 ] || fail "xl migrate of p1 to the same host failed (exit $rc)"
	info "xl migrate took ${figs% *} s (make e2e-bench measures the guest's pause)"
	new=$(guest_domid p1) || fail "no domain p1 after the migration"
	[ "$new" != "$old" ] || fail "p1 is still domain $old: it did not move"
	xl list | grep -E 'p1--(incoming|migratedaway)' && fail "a migration domain is left"
	[ "$(vm_uuid_of p1)" = "$uuid" ] || fail "p1's VM UUID changed: $uuid -> $(vm_uuid_of p1)"
	guest_wait_more p1 "E2E-GUEST p1 TICK" "$n" 60 ||
		fail "p1 does not write and read back its disks on domain $new"
	c2=$(mark_read /dev/mapper/vd-$id2 guest)
	info "p1's marker on VD $id2: [$c1] before, [$c2] after"
	[ "${c1##* }" -lt "${c2##* }" ] 2>/dev/null || fail "p1's writes to VD $id2 not seen after the migration"
	p1_attached_to "$new" "$uuid" "after xl migrate"
	return 0
}
step_pvh_save() {
	need_step pvh-boot
	p1_init
	local old new uuid n
	old=$(guest_domid p1) uuid=$(vm_uuid_of p1) n=$(tick_count p1)
	if ! run xl save p1 /tmp/p1.save; then
		rm -f /tmp/p1.save
		p1_back_after_emulation "$old" || fail "xl save p1 failed"
		old=$(guest_domid p1) n=$(tick_count p1)
		run xl save p1 /tmp/p1.save || { rm -f /tmp/p1.save; fail "xl save p1 failed"; }
	fi
	guest_exists p1 && fail "p1 still runs after xl save"
	p1_nothing_left "while p1 is saved"
	run xl restore /tmp/p1.save
	rc=$?
	rm -f /tmp/p1.save
	[ $rc -eq 0 ] || fail "xl restore of p1 failed"
	new=$(guest_domid p1) || fail "no domain p1 after xl restore"
	[ "$(vm_uuid_of p1)" = "$uuid" ] || fail "p1's VM UUID changed across save/restore"
	guest_wait_more p1 "E2E-GUEST p1 TICK" "$n" 60 ||
		fail "p1 does not write and read back its disks after xl restore"
	p1_attached_to "$new" "$uuid" "after xl save + xl restore"
	return 0
}
step_pvh_reboot() {
	need_step pvh-boot
	p1_init
	local old new nb nt re
	re="E2E-GUEST p1 BOOTED initrd=vd origin=vd1-grub"
	old=$(guest_domid p1) nb=$(guest_console_all p1 | grep -c "$re")
	nt=$(guest_console_all p1 | grep -c "E2E-GUEST p1 TICK 1 ")
	run xl reboot p1 || fail "xl reboot p1 failed"
	# on_reboot = "restart": xl destroys the domain and creates it again; vdloader runs again
	# (only vdloader gives the guest VD 1's grub.cfg command line)
	guest_wait_more p1 "$re" "$nb" 180 || fail "p1 did not boot again through vdloader after xl reboot"
	new=$(guest_domid p1) || fail "no domain p1 after the reboot"
	[ "$new" != "$old" ] || fail "p1 is still domain $old after the reboot"
	guest_console_all p1 | grep -q "E2E-GUEST p1 REBOOTING" || info "note: no REBOOTING line from p1"
	guest_wait_more p1 "E2E-GUEST p1 TICK 1 " "$nt" 60 || fail "p1 does not use its disks after the reboot"
	p1_attached_to "$new" "$(vm_uuid_of p1)" "after xl reboot"
	return 0
}
# p1's kernel crashes (dom0 writes the order on its data disk; on_crash = "destroy"): its disks go
# with it. (xl destroy of a running guest: vd-destroy.)
step_pvh_crash() {
	need_step pvh-boot
	p1_init
	local end st try domid
	guest_exists p1 || fail "p1 is not running"
	for try in 1 2; do
		domid=$(guest_domid p1)
		mark_write /dev/mapper/vd-$id2 "E2E-CRASH" || fail "cannot write the crash order to vd-$id2"
		end=$((SECONDS + 90))
		while [ "$(guest_domid p1)" = "$domid" ] && [ $SECONDS -lt $end ]; do sleep 1; done
		# a triple fault restarts p1 (on_reboot = restart) instead of crashing it: once more
		[ "$try" = 1 ] && ! guest_console_all p1 | grep -qaE 'CRASHING|Kernel panic' &&
			guest_died_of_emulation p1 "$domid" || break
		end=$((SECONDS + 240))
		while { [ -z "$(guest_domid p1)" ] || [ "$(guest_domid p1)" = "$domid" ]; } &&
			[ $SECONDS -lt $end ]; do sleep 1; done
		guest_exists p1 || fail "p1 was not restarted after its triple fault"
	done
	if guest_exists p1; then
		st=$(xl list p1 2>/dev/null | awk 'NR==2{print $5}')
		case "$st" in
		*c*) info "note: p1 crashed but xl's monitor did not reap it within 90 s: xl destroy"
			guest_destroy p1 ;;
		*) guest_destroy p1; fail "p1 did not crash (state $st)" ;;
		esac
	fi
	guest_console_all p1 | grep -aE 'CRASHING|Kernel panic' | tail -n 2 | sed 's/^/    p1: /'
	grep -a 'reason code' /var/log/xen/xl-p1.log 2>/dev/null | tail -n 2 | sed 's/^/    xl-p1.log: /'
	guest_console_all p1 | grep -qaE 'CRASHING|Kernel panic' ||
		fail "no sign on p1's console that it crashed"
	p1_nothing_left "after p1 crashed"
	# VD 2's own marker back
	"$XL_VD" map "$id2" >/dev/null && mark_write /dev/mapper/vd-$id2 "DOM0MARK vd2"
	"$XL_VD" unmap "$id2" >/dev/null
	return 0
}

steps="boot:60 smoke:180 install:20 dm-live:60 vd-format:90 vd-populate:120 vd-boot:200 vd-attach:120
xlvd-attach:180 vd-share:360 vd-expire:150 vd-destroy:90 vd-import:200 vd-label-fault:150 vd-moved:60 pvh-boot:300
pvh-migrate:300 pvh-save:240 pvh-reboot:360 pvh-crash:150"

if [ "${1:-}" = --step ]; then
	fn=step_$(echo "$2" | tr '-' '_')
	$fn
	exit $?
fi
e2e_run_steps $steps
# nothing may be left running
xl list | awk 'NR>1 && $1 != "Domain-0" {print "XENVD-E2E: note domain left at the end: " $1}'
exit 0
