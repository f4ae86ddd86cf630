package dataplane

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/host"
)

const labConf = `[dpdk]
lcore_mask=1
port_list=0
file_prefix=photonctl
; the lab: a tap device, and a PCI address that does not exist
pci_whitelist=net_tap0,0000:ff:1f.7

[port0]
# the lab's A side
addr=10.99.0.1
netmask=255.255.255.0
broadcast=10.99.0.255
gateway=10.99.0.2
`

// preflightHost is a host root with free hugepages and a PCI NIC.
func preflightHost(t *testing.T, free string) *host.Host {
	t.Helper()
	root := t.TempDir()
	for p, v := range map[string]string{
		"sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages":    free,
		"sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages": "0",
		"sys/bus/pci/devices/0000:03:00.0/vendor":                    "0x15b3",
		"proc/net/tcp": "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
			"   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1\n",
	} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := host.New(root)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func writeConf(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "f-stack.conf")
	os.WriteFile(p, []byte(s), 0o644)
	return p
}

func TestPreflightOK(t *testing.T) {
	h := preflightHost(t, "64")
	c, err := Preflight(h, writeConf(t, labConf), 8080)
	if err != nil {
		t.Fatal(err)
	}
	if c.DPDKPrefix() != FilePrefix {
		t.Errorf("prefix %q, want %q", c.DPDKPrefix(), FilePrefix)
	}
	if a, _ := c.Get("port0", "addr"); a != "10.99.0.1" {
		t.Errorf("addr %q", a)
	}
	nic := strings.Replace(labConf, "net_tap0,0000:ff:1f.7", "03:00.0", 1)
	if _, err := Preflight(h, writeConf(t, nic), 8080); err != nil {
		t.Errorf("a present NIC: %v", err)
	}
}

func TestPreflightCatches(t *testing.T) {
	for name, tc := range map[string]struct {
		conf, free string
		port       uint16
		want       string
	}{
		"no file":        {"", "64", 8080, "reading F-Stack's config"},
		"syntax":         {"[dpdk\nlcore_mask=1\n", "64", 8080, "section without ']'"},
		"no lcore_mask":  {strings.Replace(labConf, "lcore_mask=1", "", 1), "64", 8080, "[dpdk] has no lcore_mask"},
		"no addr":        {strings.Replace(labConf, "addr=10.99.0.1", "", 1), "64", 8080, "[port0] lacks addr"},
		"bad addr":       {strings.Replace(labConf, "addr=10.99.0.1", "addr=10.99.0", 1), "64", 8080, "is not an IPv4 address"},
		"no hugepages":   {labConf, "0", 8080, "no free hugepages"},
		"missing NIC":    {strings.Replace(labConf, "net_tap0,0000:ff:1f.7", "0000:04:00.0", 1), "64", 8080, "0000:04:00.0 is not on this host"},
		"only vdevs":     {strings.Replace(labConf, "net_tap0,0000:ff:1f.7", "net_tap0", 1), "64", 8080, "probe every PCI device"},
		"odd device":     {strings.Replace(labConf, "net_tap0,0000:ff:1f.7", "eth0", 1), "64", 8080, `"eth0" is not a PCI address`},
		"port taken":     {labConf, "64", 80, "TCP port 80 is taken"},
		"unknown key":    {strings.Replace(labConf, "lcore_mask=1", "lcore_mask=1\nlcores=1", 1), "64", 8080, "does not suit F-Stack 1.24"},
		"inline comment": {strings.Replace(labConf, "addr=10.99.0.1", "addr=10.99.0.1 # A", 1), "64", 8080, "trailing garbage"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "missing.conf")
			if tc.conf != "" {
				path = writeConf(t, tc.conf)
			}
			_, err := Preflight(preflightHost(t, tc.free), path, tc.port)
			if !errors.Is(err, ErrPreflight) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a preflight error with %q", err, tc.want)
			}
		})
	}
}

func FuzzParseFstackConf(f *testing.F) {
	f.Add([]byte(labConf))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseFstackConf(strings.NewReader(string(b)))
		if err == nil {
			c.AllowList()
			c.DPDKPrefix()
		}
	})
}
