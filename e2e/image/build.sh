#!/bin/sh
# Builds the e2e guest's disk image from Debian's packages, without a loop
# device: debootstrap into a folder, configure it, put it into an ext4
# filesystem at an offset behind an sfdisk partition table, then boot the
# guest once from its own kernel file to run grub-install and update-grub
# inside it (so every later boot goes BIOS -> GRUB -> the kernel line that
# update-grub wrote).
#
# Usage: build.sh OUT_DIR MIRROR SUITE
# OUT_DIR gets disk.raw (the image), id_ed25519{,.pub} (root's SSH key) and
# firstboot.log. The harness (e2e/image.go) passes the mirror it read from
# this machine's apt sources and caches OUT_DIR by this recipe's hash.
set -eu
out=$1 mirror=$2 suite=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$out/work
rm -rf "$work"; mkdir -p "$work"
rootfs=$work/rootfs

# The packages: a bootable Debian with udev, GRUB on BIOS, SSH, and the
# tools photonctl drives (update-grub, update-initramfs, systemctl, ip,
# lspci). ifupdown is the network configuration `--names scripts` rewrites.
# python3 and python3-apt: Ansible's modules run on the guest (TestAnsible;
# its apt module installs a .deb through python3-apt).
# dpdk-dev: DPDK 22.11's runtime libraries and PMDs (what a photonctl built
# with the F-Stack engine loads) and dpdk-testpmd (doctor --probe); Debian
# ships testpmd only in dpdk-dev (TestFstack).
pkgs=linux-image-amd64,systemd,systemd-sysv,udev,dbus,libpam-systemd,grub-pc,openssh-server,iproute2,pciutils,ifupdown,kmod,initramfs-tools,procps,iputils-ping,ethtool,python3,python3-apt,dpdk-dev

echo "== debootstrap $suite ($(date +%T))"
DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase --include="$pkgs" \
  "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

echo "== configure ($(date +%T))"
ssh-keygen -q -t ed25519 -N '' -C photonctl-e2e -f "$work/id_ed25519"
install -d -m 700 "$rootfs/root/.ssh"
install -m 600 "$work/id_ed25519.pub" "$rootfs/root/.ssh/authorized_keys"
echo photonctl-e2e >"$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 photonctl-e2e\n' >"$rootfs/etc/hosts"
echo '/dev/vda1 / ext4 errors=remount-ro 0 1' >"$rootfs/etc/fstab"
# No password anywhere: root logs in with the key only.
sed -i 's/^#\?PermitRootLogin.*/PermitRootLogin prohibit-password/' "$rootfs/etc/ssh/sshd_config"
echo 'UseDNS no' >>"$rootfs/etc/ssh/sshd_config"
# The serial console is the log the harness keeps; a short GRUB menu.
# no_timer_check: one boot under TCG with interrupt remapping panicked on it.
cat >"$rootfs/etc/default/grub" <<'GRUB'
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT="console=ttyS0,115200 no_timer_check"
GRUB_CMDLINE_LINUX=""
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB
# The initramfs holds the modules this machine needs, not most of them: the
# guest rebuilds it (setup --names keep, rollback) in a minute, not five.
echo 'MODULES=dep' >"$rootfs/etc/initramfs-tools/conf.d/photonctl-e2e"
install -m 755 "$here/firstboot" "$rootfs/usr/local/sbin/e2e-firstboot"
# Keep boots short: nothing waits for a network that is not configured.
ln -sf /dev/null "$rootfs/etc/systemd/system/systemd-networkd-wait-online.service"
kernel=$(ls "$rootfs"/boot/vmlinuz-* | tail -n 1)
initrd=$(ls "$rootfs"/boot/initrd.img-* | tail -n 1)
cp "$kernel" "$work/vmlinuz"; cp "$initrd" "$work/initrd.img"

echo "== disk image ($(date +%T))"
size_mb=3072
img=$work/disk.raw
rm -f "$img"; truncate -s ${size_mb}M "$img"
echo 'start=2048, type=83, bootable' | sfdisk -q "$img"
blocks=$(( (size_mb - 1) * 256 ))   # 4 KiB blocks after the first MiB
mke2fs -q -t ext4 -L root -d "$rootfs" -E offset=1048576 -b 4096 "$img" "$blocks"

echo "== first boot: grub-install, update-grub, network config ($(date +%T))"
timeout 600 qemu-system-x86_64 -machine q35,accel=tcg -cpu qemu64,vendor=GenuineIntel \
  -smp 2 -m 1024 -display none -no-reboot -nodefaults \
  -serial file:"$work/firstboot.log" \
  -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x2 \
  -device virtio-net-pci,bus=rp1,mac=52:54:00:e2:e0:01,netdev=mgmt \
  -netdev user,id=mgmt,restrict=on \
  -drive file="$img",if=virtio,format=raw \
  -kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
  -append "root=/dev/vda1 rw console=ttyS0,115200 no_timer_check panic=5 init=/usr/local/sbin/e2e-firstboot" || {
  tail -n 40 "$work/firstboot.log" >&2; exit 1; }
grep -q 'E2E-FIRSTBOOT-OK' "$work/firstboot.log" || {
  echo "first boot did not finish; its console:" >&2; tail -n 40 "$work/firstboot.log" >&2; exit 1; }

rm -rf "$rootfs"
mv "$img" "$work/id_ed25519" "$work/id_ed25519.pub" "$work/firstboot.log" "$out/"
rm -rf "$work"
echo "== image ready ($(date +%T))"
