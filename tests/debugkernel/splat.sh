#!/bin/sh
# Guest script of tests/debugkernel/run.sh's self-test
# (zpci.script=/zpci/splat.sh, zpci.splat=sleep|kasan, default sleep):
# load the module that makes the kernel print one report of that flavour
# (an atomic-sleep report or a KASAN out-of-bounds report), then run the
# ordinary smoke test, so that the console scan is the only check the run
# can fail.
flavour=sleep
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	zpci.splat=*) flavour=${arg#zpci.splat=} ;;
	esac
done
if insmod /zpci/zpci_splat.ko flavour="$flavour"; then
	echo "SPLAT: zpci_splat.ko loaded (flavour $flavour)"
else
	echo "SPLAT: insmod zpci_splat.ko flavour=$flavour failed"
	exit 1
fi
exec sh /zpci/smoke.sh
