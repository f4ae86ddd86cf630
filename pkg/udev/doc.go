// Package udev is the names step of photonctl setup and its doctor checks:
// interface names that survive the reboot that a driver install or kernel
// argument change brings.
//
// It holds a udev rules parser and renderer (Parse, File.Render: exact
// round trip of real rules files), the inventory of physical NICs through
// netlink and sysfs (Inventory), the prediction of the names systemd-udev's
// net_id builtin gives after the reboot (Predict), and the step itself
// (New): --names keep pins today's names to the MACs in
// /etc/udev/rules.d/85-net-persistent-names.rules, --names scripts accepts
// the predicted names and points the network configuration at them (through
// package netconf).
//
// It is not a general udev rule evaluator: it does not run rules, resolve
// substitutions or follow GOTO/LABEL; it reads only what pins a name to a
// MAC. It never renames a live interface unless asked (--apply-names-now).
package udev
