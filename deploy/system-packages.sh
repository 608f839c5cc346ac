#!/usr/bin/env bash
# Debian packages the integration and hil tiers start as real peers (../shared/facts/southbound.md,
# ../shared/facts/hil.md): hostapd, netconfd behind sshd, net-snmp, PostgreSQL, and the qemu guest's
# kernel tooling. Idempotent: installs only what is missing, and only as root with apt-get; otherwise
# it says what is missing and the tests that need it skip with that reason.
set -euo pipefail

# binary that proves it is installed -> Debian package
declare -A WANT=(
  [/usr/sbin/hostapd]=hostapd
  [/usr/sbin/netconfd]=netconfd
  [/usr/sbin/sshd]=openssh-server
  [/usr/sbin/snmpd]=snmpd
  [/usr/bin/snmpget]=snmp
  [/usr/lib/postgresql]=postgresql
  [/usr/sbin/iw]=iw
  [/lib/firmware/regulatory.db]=wireless-regdb
  [/usr/bin/qemu-system-x86_64]=qemu-system-x86
  [/bin/busybox]=busybox-static
  [/usr/bin/cpio]=cpio
  [/usr/bin/kmod]=kmod
  [/usr/sbin/wpa_supplicant]=wpasupplicant
)
missing=()
for path in "${!WANT[@]}"; do
  [ -e "$path" ] || missing+=("${WANT[$path]}")
done
[ ${#missing[@]} = 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-packages: missing ${missing[*]} (not root or no apt-get): the tests needing them will skip" >&2
  exit 0
fi
echo "system-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# A kernel image for the hil guest is looked up by the hil suite itself (hil_tests/), not here.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
