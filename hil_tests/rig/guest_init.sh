#!/bin/bash
# HIL guest stage 2 (PID 1 after switch_root; see guest_build.INIT_SCRIPT): mounts, then the rig agent.
# Kernel command-line values arrive as environment: hil_repo, hil_python, hil_work.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mkdir -p /var/run/hostapd /var/run/wpa_supplicant
ip link set lo up
echo "hil-init: stage 2 up $(cut -d' ' -f1 /proc/uptime)"
cd "$hil_repo" && "$hil_python" -S -m hil_tests.rig.guest_agent >"$hil_work/guest-agent.log" 2>&1
echo "hil-init: guest agent exited ($?), powering off"
echo o > /proc/sysrq-trigger
sleep 10
