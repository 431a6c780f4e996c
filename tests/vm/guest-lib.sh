# Shell helpers for the scripts that run inside the s390x guests (busybox
# sh): sourced as /zpci/lib.sh (tests/vm/initramfs.sh puts it there).
# They print nothing and return non-zero on failure; callers say what
# failed in their own words.

# driver_of ADDR: the name of the driver bound to PCI device ADDR, or ""
driver_of() {
	if [ -e "/sys/bus/pci/devices/$1/driver" ]; then
		basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
	fi
}

# bind_to DRIVER ADDR: bind ADDR to DRIVER through driver_override,
# unbinding another driver first
bind_to() {
	_drv=$1 _a=$2 _d=/sys/bus/pci/devices/$2
	[ -e "$_d" ] || return 1
	_cur=$(driver_of "$_a")
	[ "$_cur" = "$_drv" ] && return 0
	if [ -n "$_cur" ]; then
		echo "$_a" >"$_d/driver/unbind" || return 1
	fi
	echo "$_drv" >"$_d/driver_override" || return 1
	[ "$(driver_of "$_a")" = "$_drv" ] || echo "$_a" >/sys/bus/pci/drivers_probe
	[ "$(driver_of "$_a")" = "$_drv" ]
}

# unbind_from DRIVER ADDR: release ADDR from DRIVER ("": from whatever
# driver it has, if any) and clear the override; a device that is gone
# (hot-unplugged) counts as released
unbind_from() {
	_drv=$1 _a=$2 _d=/sys/bus/pci/devices/$2
	[ -e "$_d" ] || return 0
	[ -n "$_drv" ] || _drv=$(driver_of "$_a")
	if [ -n "$_drv" ] && [ "$(driver_of "$_a")" = "$_drv" ]; then
		echo "$_a" >"/sys/bus/pci/drivers/$_drv/unbind" || return 1
	fi
	echo >"$_d/driver_override"
	[ -z "$_drv" ] || [ "$(driver_of "$_a")" != "$_drv" ]
}

# pins_outstanding: FOLL_PIN pages acquired and not released system-wide
# (after folding the per-cpu deltas), or "unknown"
pins_outstanding() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '/^nr_foll_pin_acquired /{a=$2} /^nr_foll_pin_released /{r=$2}
	     END { if (a == "" || r == "") print "unknown"; else print a - r }' /proc/vmstat
}

# kernel_reports: the kernel log lines of tests/vm/kernel-reports.ere
kernel_reports() {
	dmesg | grep -E -f /zpci/kernel-reports.ere
}
