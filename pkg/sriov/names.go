package sriov

import (
	"github.com/jaypipes/ghw"
	"github.com/jaypipes/pcidb"

	"github.com/photonctl/photonctl/pkg/host"
)

// pciIDsPaths are where distributions keep the PCI ID database, relative to
// the root (the same list pcidb searches).
var pciIDsPaths = []string{
	"/usr/share/hwdata/pci.ids",
	"/usr/share/misc/pci.ids",
	"/usr/share/hwdata/pci.ids.gz",
	"/usr/share/misc/pci.ids.gz",
}

// loadPCIDB opens the root's own pci.ids, never the network's: pcidb fetches
// from pci-ids.ucw.cz when PCIDB_ENABLE_NETWORK_FETCH is set in the
// environment and no local file is found, so the path and the switch are both
// given explicitly. It returns nil when the root has no pci.ids.
func loadPCIDB(h *host.Host) *pcidb.PCIDB {
	for _, p := range pciIDsPaths {
		if !h.Exists(p) {
			continue
		}
		full, off := h.Path(p), false
		db, err := pcidb.New(&pcidb.WithOption{Path: &full, EnableNetworkFetch: &off, CachePath: &full})
		if err == nil {
			return db
		}
	}
	return nil
}

// addNames fills in vendor and device names where the root's pci.ids knows
// them. It asks ghw first (chrooted at the host root, with that database,
// topology and external tools off), then looks up what ghw did not return
// in the database directly: ghw drops its whole device list when one
// function under /sys/bus/pci/devices lacks a readable modalias, which
// happens on partial trees and on hosts with odd bridges.
func addNames(h *host.Host, pfs []PF) {
	db := loadPCIDB(h)
	if db == nil || len(pfs) == 0 {
		return
	}
	type names struct{ vendor, device string }
	byAddr := map[string]names{}
	info, err := ghw.PCI(ghw.WithChroot(h.Root()), ghw.WithPCIDB(db), ghw.WithDisableTopology(),
		ghw.WithDisableWarnings(), ghw.WithDisableTools())
	if err == nil && info != nil {
		for _, d := range info.Devices {
			var n names
			if d.Vendor != nil {
				n.vendor = known(d.Vendor.Name)
			}
			if d.Product != nil {
				n.device = known(d.Product.Name)
			}
			byAddr[d.Address] = n
		}
	}
	for i := range pfs {
		n, ok := byAddr[pfs[i].Addr]
		if !ok {
			if v := db.Vendors[pfs[i].VendorID]; v != nil {
				n.vendor = v.Name
			}
			if p := db.Products[pfs[i].VendorID+pfs[i].DeviceID]; p != nil {
				n.device = p.Name
			}
		}
		pfs[i].Vendor, pfs[i].Device = n.vendor, n.device
	}
}

func known(name string) string {
	if name == "unknown" {
		return ""
	}
	return name
}
