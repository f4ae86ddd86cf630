// Package netconf reads and rewrites the network configuration files that
// name interfaces: EL ifcfg scripts (with their route- and rule- files),
// NetworkManager keyfiles, netplan YAML and Debian's /etc/network/interfaces.
//
// It is for one job: when interfaces will come back from a reboot under new
// names, point the configuration at the new names. Every rewrite is a
// minimal text edit (parse -> change -> render): only the tokens that name a
// renamed interface change, comments, order and quoting stay, and a rewrite
// that changes nothing returns the input byte for byte.
//
// It is not a network configuration manager: it does not validate addresses,
// routes or bonding options, it does not serialise YAML, and it does not
// restart anything. Reading files from a host lives in Find; every parser and
// rewriter takes bytes.
package netconf
