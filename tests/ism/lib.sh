# Sourced by tests/ism/run.sh (stage 1) and tests/ism/run-l2.sh (stage 2)
# after tests/vm/lib.sh.

# ism_l0_boot QEMU DIR DISK_SIZE APPEND: boot the test QEMU (L0) with the
# ISM model functions of FUNCS ("id fid pchid" each: zpci with pft 5,
# relaxed alignment and maxstbl 4096, the group of a real ISM, and a
# zpci-ism behind it), the kernel append APPEND, a results disk of
# DISK_SIZE and hostctl.py on QMP and the control port (--ism per
# function); files in DIR, results in $res (console.log, hostctl.log,
# qemu-stdout.log, the disk's archive).  Uses SMP, MEM, ZPCI_VMLINUZ,
# INITRD, TIMEOUT; sets qemu_pid and ctl_pid while they run (the callers'
# exit traps kill them).  Returns vm_wait_qemu's status.
ism_l0_boot() {
	local qemu=$1 dir=$2 size=$3 append=$4
	local disk=$dir/results.img qargs f id fid pchid rc=0 ism_ids=()
	rm -rf "$res"
	mkdir -p "$res"
	rm -f "$disk" "$dir/qmp.sock" "$dir/ctl.sock" "$dir/hostctl.out"
	truncate -s "$size" "$disk"
	qargs=(-M s390-ccw-virtio -cpu max -accel tcg,thread=single $(vm_clock_args) -smp "$SMP" -m "$MEM"
		-L /usr/share/qemu -display none -monitor none -no-reboot
		-serial "file:$res/console.log"
		-kernel "$ZPCI_VMLINUZ" -initrd "$INITRD"
		-append "$append"
		-qmp "unix:$dir/qmp.sock,server=on,wait=off"
		-drive "file=$disk,format=raw,if=none,id=results"
		-device virtio-blk-ccw,drive=results,serial=zpci-results
		-chardev "socket,id=ctl,path=$dir/ctl.sock,server=on,wait=off"
		-device virtio-serial-ccw -device virtserialport,chardev=ctl,name=zpci.ctl)
	for f in "${FUNCS[@]}"; do
		read -r id fid pchid <<<"$f"
		qargs+=(-device "zpci,id=zpci-$id,uid=$fid,fid=$fid,target=$id,pft=5,relaxed-align=on,maxstbl=4096"
			-device "zpci-ism,id=$id,pchid=$pchid")
		ism_ids+=(--ism "$id")
	done
	printf '%q ' "$qemu" "${qargs[@]}" >"$dir/qemu-cmdline.txt"
	echo >>"$dir/qemu-cmdline.txt"
	"$qemu" "${qargs[@]}" </dev/null >"$dir/qemu-stdout.log" 2>&1 &
	qemu_pid=$!
	python3 "$VM_SRC/hostctl.py" --qmp "$dir/qmp.sock" --ctl "$dir/ctl.sock" \
		--log "$res/hostctl.log" --stats-dir "$res" "${ism_ids[@]}" \
		>>"$dir/hostctl.out" 2>&1 &
	ctl_pid=$!
	vm_wait_qemu "$qemu_pid" "$res/console.log" "$TIMEOUT" || rc=$?
	qemu_pid=
	sleep 0.2
	kill "$ctl_pid" 2>/dev/null || true
	wait "$ctl_pid" 2>/dev/null || true
	ctl_pid=
	cp "$dir/qemu-stdout.log" "$res/qemu-stdout.log"
	tar -xf "$disk" -C "$res" 2>/dev/null || log "boot: no results archive on the disk"
	vm_mark_clock "$res"
	rm -f "$disk"
	return $rc
}

# ism_report SCRIPT NAME RC SUMMARY: the end of a stage's run: each
# phase's wall time, the summary JSON if there is one, and "NAME: PASS"
# or "NAME: FAIL" with the results directory.  Returns RC.
ism_report() {
	local script=$1 name=$2 rc=$3 summary=$4 verdict=PASS
	echo "---- $script wall time per phase"
	printf '  %s\n' "${PHASE_LOG[@]}"
	if [ -s "$summary" ]; then
		sed 's/^/  /' "$summary"
	fi
	[ "$rc" -eq 0 ] || verdict=FAIL
	echo "$name: $verdict results in $res"
	return "$rc"
}

# ism_args SCRIPT [ARG]: a stage takes no arguments; --help prints its
# head comment (SCRIPT's lines up to the first one that is no comment).
ism_args() {
	local script=$1
	shift
	case "${1:-}" in
	-h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$script"; exit 0 ;;
	'') ;;
	*) echo "tests/ism/$(basename "$script"): no arguments (see --help)" >&2; exit 2 ;;
	esac
}
