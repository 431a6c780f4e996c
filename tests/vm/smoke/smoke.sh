#!/bin/sh
# Infrastructure smoke test run by /init instead of guest.sh when run.sh is
# given --smoke: bind the functions to vfio-pci, write a pattern through the
# vfio BAR region, leave a manifest for run.sh's own byte check.
set -u
out=$ZPCI_RESULTS
rc=0
. /zpci/lib.sh	# bind_to (tests/vm/guest-lib.sh)
bind() { bind_to "$2" "$1"; }
for f in maxstbl pft function_id uid pfgid vfn pchid; do
	for a in $ZPCI_STRICT $ZPCI_ISM; do
		echo "$a $f $(cat /sys/bus/pci/devices/$a/$f 2>/dev/null)" >>"$out/sysfs.txt"
	done
done
cat "$out/sysfs.txt"
: >"$out/manifest-smoke.txt"
if [ "$ZPCI_MODE" = stock ]; then
	bind "$ZPCI_STRICT" vfio-pci || { echo "SMOKE FAIL bind $ZPCI_STRICT"; exit 1; }
	/zpci/vfio_poke "$ZPCI_STRICT" 4 0 0 0 || rc=1
else
	for a in $ZPCI_STRICT $ZPCI_ISM; do
		bind "$a" vfio-pci || { echo "SMOKE FAIL bind $a"; rc=1; continue; }
		name=strict; [ "$a" = "$ZPCI_ISM" ] && name=ism
		seed=$((0x31)); [ $name = ism ] && seed=$((0x52))
		# what the guest kernel learned through CLP, as vfio reports it
		want="pft 0 gid 255|imaxstbl 128 "
		[ $name = ism ] && want="pft 5 gid 224|imaxstbl 4096 "
		caps=$(/zpci/vfio_poke "$a" 2 0 0 0)
		echo "$caps"
		for w in "${want%%|*}" "${want#*|}"; do
			case "$caps" in
			*"$w"*) echo "SMOKE $name: '$w' ok" ;;
			*) echo "SMOKE FAIL: $name: vfio caps lack '$w'"; rc=1 ;;
			esac
		done
		# unaligned start and odd length: exercises 1/2/4/8-byte accesses.
		# vfio-pci writes with PCISTG, which the ISM-like function refuses
		# on BAR 2: there the bytes must NOT arrive (host checks zeros).
		if /zpci/vfio_poke "$a" 2 4099 1021 $seed; then
			if [ $name = ism ]; then
				echo "SMOKE FAIL: PCISTG to the ism data BAR was not refused"
				rc=1
			fi
			echo "$name 4099 1021 $seed" >>"$out/manifest-smoke.txt"
		elif [ $name = ism ]; then
			echo "$name 4099 1021 zero" >>"$out/manifest-smoke.txt"
		else
			rc=1
		fi
	done
fi

# control port: PING, then hot-unplug the ism function through QMP
if [ -n "${ZPCI_CTL:-}" ]; then
	exec 3<>"$ZPCI_CTL"
	echo PING >&3
	if read -t 10 reply <&3 && [ "$reply" = PONG ]; then
		echo "SMOKE ctl PING ok"
	else
		echo "SMOKE FAIL: no PONG on $ZPCI_CTL (got '${reply:-}')"
		rc=1
	fi
	if [ "$ZPCI_MODE" = patched ] && [ -n "$ZPCI_ISM" ]; then
		echo "DEVICE_DEL ism" >&3
		read -t 10 reply <&3
		echo "SMOKE ctl DEVICE_DEL ism -> $reply"
		[ "$reply" = "OK ism" ] || rc=1
		reply=
		read -t 60 reply <&3
		echo "SMOKE ctl event -> $reply"
		[ "$reply" = "DELETED ism" ] || rc=1
		if [ -e "/sys/bus/pci/devices/$ZPCI_ISM" ]; then
			echo "SMOKE FAIL: $ZPCI_ISM still present after DELETED"
			rc=1
		fi
		# plug it again: the guest must see fid 2 with pft 5 again
		echo "DEVICE_ADD ism" >&3
		reply=
		read -t 10 reply <&3
		echo "SMOKE ctl DEVICE_ADD ism -> $reply"
		[ "$reply" = "OK ism" ] || rc=1
		back=
		for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
			for d in /sys/bus/pci/devices/*; do
				[ "$(cat "$d/function_id" 2>/dev/null)" = 0x00000002 ] && back=$d
			done
			[ -n "$back" ] && break
			sleep 0.5
		done
		if [ -n "$back" ] && [ "$(cat "$back/pft")" = 0x05 ]; then
			echo "SMOKE re-plugged ism is back as ${back##*/} (pft 5)"
		else
			echo "SMOKE FAIL: re-plugged ism not seen (${back:-none})"
			rc=1
		fi
	fi
	exec 3<&-
else
	echo "SMOKE FAIL: no control port"
	rc=1
fi
echo "SMOKE rc=$rc"
exit $rc
