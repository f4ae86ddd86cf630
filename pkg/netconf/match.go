package netconf

import "path"

// pathMatch is netplan's (fnmatch) match of an interface name pattern.
func pathMatch(pattern, name string) (bool, error) { return path.Match(pattern, name) }
