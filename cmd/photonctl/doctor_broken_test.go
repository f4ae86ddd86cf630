package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/golden"
	"github.com/photonctl/photonctl/pkg/host"
)

// want is one result a broken variant must give.
type want struct {
	id, status string
	fix        string // the fix must contain this
}

// TestDoctorBrokenHosts breaks the healthy host one way per case (an
// overlay fixture, a file edit or a tool's answer) and runs the whole
// doctor: the case's results are exactly the non-ok ones, each with its fix,
// and every other check stays ok.
func TestDoctorBrokenHosts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		overlay string // testdata/hosts/<overlay>.txtar over healthy-cx4
		edit    func(t *testing.T, h *host.Host)
		answers map[string]string // tool answers replaced
		want    []want
		// also are other results the break rightly changes (not ok), by ID:
		// checked for status only.
		also map[string]string
	}{
		{name: "no-iommu-args", overlay: "healthy-cx4-no-iommu-args",
			want: []want{{"kernel-iommu-args", "fail", "photonctl setup --only grub"}}},
		{name: "mmio-log", answers: map[string]string{"dmesg": healthyDmesg + "[   40.998812] mlx5_core 0000:03:00.1: not enough MMIO resources for SR-IOV\n"},
			want: []want{{"kernel-mmio", "fail", "photonctl setup --pci-realloc"}}},
		{name: "numvfs-0", edit: removeVFs,
			want: []want{{"sriov-numvfs", "fail", "photonctl setup --only sriov --pf 0000:03:00.0 --vfs 4"}},
			// Without VFs, f-stack.conf's allow-listed VF 0000:03:00.2 is gone
			// too, there are no VFs to describe, and the boot unit would
			// make 4 where there are none.
			also: map[string]string{"fstackconf-allow-list": "fail", "flow-isolate": "fail", "sriov-vfs": "skip", "sriov-unit": "warn"}},
		{name: "firmware-vfs-low", answers: map[string]string{"mstconfig": mstconfigOn(t, 2)},
			want: []want{{"mlnx-firmware", "fail", "mstconfig -d 0000:03:00.0 -y set SRIOV_EN=1 NUM_OF_VFS=4"}}},
		{name: "stale-udev-rule", overlay: "healthy-cx4-stale-rule",
			want: []want{{"names-rules", "fail", "photonctl setup --only names --names keep"}}},
		{name: "hugetlbfs-unmounted", overlay: "healthy-cx4-hp-unmounted",
			want: []want{{"hugepages-mounted", "fail", "mount -t hugetlbfs nodev /dev/hugepages"}}},
		{name: "pkt-tx-delay", edit: setConf("pkt_tx_delay=0", "pkt_tx_delay=100"),
			want: []want{{"fstackconf-pkt-tx-delay", "warn", "set pkt_tx_delay=0 in [dpdk]: photonctl setup --only fstack"}}},
		{name: "dpdk-mismatch", answers: map[string]string{"pkg-config-modversion": "21.11.2\n"},
			want: []want{{"dpdk-version", "fail", "install DPDK 22.11 for F-Stack 1.24"}}},
		{name: "pkg-config-0.27", answers: map[string]string{"pkg-config-version": "0.27.1\n"},
			want: []want{{"pkg-config-version", "warn", "install pkg-config 0.29 or later"}}},
		{name: "no-flow-isolate", edit: func(t *testing.T, h *host.Host) {
			writeHostFile(t, h, "/usr/local/lib/libfstack.a.1.24", fakeLibfstack(false))
		}, want: []want{{"flow-isolate", "warn", "rebuild F-Stack with FF_FLOW_ISOLATE=1"}}},
		{name: "no-libmlx5", edit: func(t *testing.T, h *host.Host) {
			for _, p := range []string{"/usr/lib64/libmlx5.so.1", "/usr/lib64/libmlx5.so.1.24.44.0"} {
				if err := os.Remove(h.Path(p)); err != nil {
					t.Fatal(err)
				}
			}
		}, want: []want{{"mlx5-userspace", "fail", "install rdma-core's libraries"}}},
		{name: "stale-dpdk-files", overlay: "healthy-cx4-stale-dpdk",
			want: []want{{"dpdk-stale-files", "warn", "rm -f /dev/hugepages/rtemap_* && rm -rf /run/dpdk/rte"},
				{"dataplane-dpdk-leftovers", "warn", "rm -rf /var/run/dpdk/rte /dev/hugepages/rtemap_*"}}},
		{name: "port-busy", overlay: "healthy-cx4-port-busy",
			want: []want{{"dataplane-port", "warn", "ss -ltnp 'sport = :8080'"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h *host.Host
			if tc.overlay != "" {
				h = healthyHost(t, tc.overlay)
			} else {
				h = healthyHost(t)
			}
			if tc.edit != nil {
				tc.edit(t, h)
			}
			r := runHealthyDoctor(t, h, healthyFake(t, false, tc.answers), "-o", "json", "doctor")
			var rep doctorJSON
			if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
				t.Fatalf("%v:\n%s%s", err, r.out, r.err)
			}
			wantCode := 0
			byID := map[string]want{}
			for _, w := range tc.want {
				byID[w.id] = w
				if w.status == "fail" {
					wantCode = 1
				}
			}
			for _, st := range tc.also {
				if st == "fail" {
					wantCode = 1
				}
			}
			if r.code != wantCode {
				t.Errorf("exit %d, want %d; stderr %s", r.code, wantCode, r.err)
			}
			// A check may give several results (one per device): those of a
			// wanted ID are ok or the wanted status, and one at least is.
			seen := map[string]bool{}
			for _, c := range rep.Checks {
				wantStatus, fix := tc.also[c.ID], ""
				if w, ok := byID[c.ID]; ok {
					wantStatus, fix = w.status, w.fix
				}
				switch {
				case wantStatus != "" && c.Status == wantStatus:
					seen[c.ID] = true
					if fix != "" && !strings.Contains(c.Fix, fix) {
						t.Errorf("%s: fix %q, want one with %q", c.ID, c.Fix, fix)
					}
				case c.Status != "ok":
					t.Errorf("%s: %s: %s (fix %q); want ok%s", c.ID, c.Status, c.Detail, c.Fix, map[bool]string{true: " or " + wantStatus}[wantStatus != ""])
				}
			}
			for id, w := range byID {
				if !seen[id] {
					t.Errorf("no %s result is %s", id, w.status)
				}
			}
			for id, st := range tc.also {
				if !seen[id] {
					t.Errorf("no %s result is %s", id, st)
				}
			}
			// The text a person reads, whole.
			r = runHealthyDoctor(t, h, healthyFake(t, false, tc.answers), "doctor")
			golden.Assert(t, filepath.Join("testdata", "doctor-broken", tc.name+".golden"), []byte(strings.ReplaceAll(r.out, h.Root(), "$ROOT")))
		})
	}
}

// removeVFs plays echo 0 > sriov_numvfs on the PF: its VFs are gone.
func removeVFs(t *testing.T, h *host.Host) {
	t.Helper()
	pf := "/sys/devices/pci0000:00/0000:00:02.0/0000:03:00.0"
	if err := os.WriteFile(h.Path(pf+"/sriov_numvfs"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		vf := fmt.Sprintf("0000:03:00.%d", i+2)
		for _, p := range []string{fmt.Sprintf("%s/virtfn%d", pf, i), "/sys/devices/pci0000:00/0000:00:02.0/" + vf,
			"/sys/bus/pci/devices/" + vf, fmt.Sprintf("/sys/class/net/enp3s0f0v%d", i)} {
			if err := os.RemoveAll(h.Path(p)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// writeHostFile writes a file under the host root (test setup only).
func writeHostFile(t *testing.T, h *host.Host, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(h.Path(p), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// setConf replaces a line of /etc/f-stack.conf.
func setConf(old, new string) func(t *testing.T, h *host.Host) {
	return func(t *testing.T, h *host.Host) {
		t.Helper()
		b, err := h.ReadFile("/etc/f-stack.conf")
		if err != nil || !strings.Contains(string(b), "\n"+old+"\n") {
			t.Fatalf("f-stack.conf lacks %q: %v", old, err)
		}
		if err := os.WriteFile(h.Path("/etc/f-stack.conf"), []byte(strings.Replace(string(b), "\n"+old+"\n", "\n"+new+"\n", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
