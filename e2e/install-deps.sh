#!/bin/sh
# Installs what the QEMU guest suite needs on a Debian 12 machine: QEMU >= 8
# (its igb NIC; Debian 12's own QEMU is 7.2, so it comes from
# bookworm-backports), debootstrap and the disk tools, an ssh client.
# The backports source is derived from this machine's own Debian entries:
# the same archive, only the suite's name changes.
set -eu
. /etc/os-release
codename=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
export DEBIAN_FRONTEND=noninteractive
src=/etc/apt/sources.list.d/photonctl-e2e-backports.sources
if [ "$codename" = bookworm ] && ! apt-cache policy qemu-system-x86 2>/dev/null | grep -q "$codename-backports"; then
  uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk -v s="$codename" '
      /^URIs:/ {u=$2} /^Suites:/ {for (i=2;i<=NF;i++) if ($i==s) ok=1}
      /^$/ {if (ok && u!="") {print u; exit} ok=0; u=""}
      END {if (ok && u!="") print u}' "$f" | head -n 1)
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk -v s="$codename" '$1=="deb" && $3==s {print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || { echo "no apt source for Debian $codename to derive $codename-backports from" >&2; exit 1; }
  printf 'Types: deb\nURIs: %s\nSuites: %s-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" "$codename" >"$src"
  apt-get update -qq
fi
target=""
[ "$codename" = bookworm ] && target="-t $codename-backports"
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $target qemu-system-x86 qemu-utils >/dev/null
# iputils-ping: TestFstack pings the guest's PF from the igb's wire.
apt-get install -y -qq --no-install-recommends debootstrap e2fsprogs fdisk openssh-client iputils-ping >/dev/null
qemu-system-x86_64 --version | head -n 1
