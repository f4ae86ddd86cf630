// Package e2e is photonctl's real-host suite: it builds a Debian guest from
// Debian's packages, boots it in QEMU as a q35 machine with an Intel IOMMU
// and an SR-IOV NIC (QEMU's igb, an 82576 with 7 VFs), and drives photonctl
// in it over SSH the way an operator would, across real reboots through
// BIOS, GRUB and the kernel line update-grub wrote.
//
// It is for what no fixture can show: that the kernel really boots with the
// arguments setup wrote, that udev really gives the names photonctl
// predicted, that VFs and their vfio-pci binding come back after a boot
// without photonctl. It is not for the logic of a single step: those tests
// live beside each package and run in seconds.
//
// The pieces, one file each: mirror.go finds the Debian mirror this machine
// already uses; image.go builds the guest image from the recipe in image/
// and caches it by the recipe's hash; qemu.go starts and stops one machine
// (always by its PID, also on failure or interrupt); guest.go is the one
// client the tests speak to the guest through, with a time bound on every
// call. The scenario is in scenario_test.go; `make e2e` runs it.
//
// The Ansible role (deploy/ansible) is tested here too: ansible.go runs
// ansible-playbook and reads back what it printed; ansible_test.go runs the
// role against a guest (TestAnsible) and ansible_role_test.go runs it on
// fixture hosts with no guest, in every `go test`.
package e2e
