#!/bin/sh
# Guest script of tests/debugkernel/selftest.sh (zpci.script=/zpci/splat.sh):
# load the module that makes the kernel print one atomic-sleep report, then
# run the ordinary smoke test, so that the console scan is the only check
# the run can fail.
if insmod /zpci/zpci_splat.ko; then
	echo "SPLAT: zpci_splat.ko loaded"
else
	echo "SPLAT: insmod zpci_splat.ko failed"
	exit 1
fi
exec sh /zpci/smoke.sh
