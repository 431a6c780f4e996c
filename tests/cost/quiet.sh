#!/bin/sh
# Sourced by the measuring guest scripts (tests/cost/cost.sh,
# tests/peer/peer-guest.sh), which get it as /zpci/quiet.sh.
#
# wait_quiet MAX_S: wait until the kernel's crypto self-tests are done.
# Both guest kernels test their RSA and DH implementations at boot in
# cryptomgr_test kernel threads (mpi_powm); under TCG these run for about
# a second of guest time after /init starts, on the one vCPU the
# measurement uses.  On the 7.2 guest they were still running when the
# programs started: every call in a loop then shared the vCPU with them
# (make cost's medians left out the preempted windows; loop averages did
# not).  Prints how long it waited; returns 1 when they are still running
# after MAX_S seconds.  Sleeping costs no wall time under icount
# (sleep=off jumps the clock to the next timer).
crypto_tests_running() {
	for d in /proc/[0-9]*; do
		[ "$(cat "$d/comm" 2>/dev/null)" = cryptomgr_test ] && return 0
	done
	return 1
}

wait_quiet() {
	_q=0
	while crypto_tests_running; do
		if [ "$_q" -ge "$1" ]; then
			echo "crypto self-tests still running after $1 s"
			return 1
		fi
		sleep 1
		_q=$((_q + 1))
	done
	echo "crypto self-tests done (waited $_q s, uptime $(cut -d' ' -f1 /proc/uptime) s)"
}
