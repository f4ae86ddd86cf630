package dataplane

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/host"
)

func runCheck(t *testing.T, h *host.Host, id string) []doctor.Result {
	t.Helper()
	for _, c := range Checks() {
		if c.ID == id {
			if c.Group != doctor.GroupDataplane {
				t.Errorf("%s in group %s", id, c.Group)
			}
			return c.Run(context.Background(), &engine.Env{Host: h})
		}
	}
	t.Fatalf("no check %s", id)
	return nil
}

func TestParseProcNetTCP(t *testing.T) {
	h := fixture.Host(t, "dataplane-busy")
	for file, want := range map[string][]Socket{
		"/proc/net/tcp": {
			{Local: netip.MustParseAddrPort("127.0.0.1:8080"), State: TCPListen, Inode: 31337},
			{Local: netip.MustParseAddrPort("127.0.0.1:22"), State: 1, Inode: 4242},
		},
		"/proc/net/tcp6": {{Local: netip.MustParseAddrPort("[::1]:8080"), State: TCPListen, Inode: 31338}},
	} {
		f, err := os.Open(h.Path(file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseProcNetTCP(f)
		f.Close()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, %v; want %+v", file, got, err, want)
		}
	}
	for _, bad := range []string{"hdr\n 0: 0100007F:1F90\n", "hdr\n 0: 0100007F 0 0A a b c d e f 1\n", "hdr\n 0: 01007F:1F90 0 0A a b c d e f 1\n", "hdr\n 0: 0100007F:1F90 0 ZZ a b c d e f 1\n"} {
		if _, err := ParseProcNetTCP(strings.NewReader(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseProcNetTCP(f *testing.F) {
	f.Add([]byte("hdr\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseProcNetTCP(strings.NewReader(string(b))) })
}

func TestCheckPort(t *testing.T) {
	r := runCheck(t, fixture.Host(t, "dataplane-busy"), "dataplane-port")
	if len(r) != 1 || r[0].Status != doctor.Warn || !strings.Contains(r[0].Detail, "127.0.0.1:8080, [::1]:8080") || !strings.Contains(r[0].Fix, "ss -ltnp") {
		t.Errorf("busy port: %+v", r)
	}
	free := t.TempDir()
	os.MkdirAll(filepath.Join(free, "proc/net"), 0o755)
	os.WriteFile(filepath.Join(free, "proc/net/tcp"), []byte("hdr\n   1: 0100007F:0016 0100007F:D431 0A 0:0 0:0 0 0 0 4242 1\n"), 0o644)
	h, _ := host.New(free)
	if r := runCheck(t, h, "dataplane-port"); len(r) != 1 || r[0].Status != doctor.OK {
		t.Errorf("free port: %+v", r)
	}
	h, _ = host.New(t.TempDir())
	if r := runCheck(t, h, "dataplane-port"); len(r) != 1 || r[0].Status != doctor.Skip {
		t.Errorf("no procfs: %+v", r)
	}
}

func TestCheckLeftovers(t *testing.T) {
	h := fixture.Host(t, "dataplane-busy")
	r := runCheck(t, h, "dataplane-dpdk-leftovers")
	if len(r) != 2 {
		t.Fatalf("%d results: %+v", len(r), r)
	}
	if r[0].Status != doctor.Warn || !strings.Contains(r[0].Detail, `"container-photonctl": 3 runtime files`) || r[0].Fix != "rm -rf /var/run/dpdk/container-photonctl /dev/hugepages/container-photonctlmap_*" {
		t.Errorf("stale prefix: %+v", r[0])
	}
	if r[1].Status != doctor.OK || !strings.Contains(r[1].Detail, `"rte"`) {
		t.Errorf("prefix in use: %+v", r[1])
	}
	removed, err := CleanRuntime(h, FilePrefix)
	want := []string{"/var/run/dpdk/container-photonctl", "/dev/hugepages/container-photonctlmap_0", "/dev/hugepages/container-photonctlmap_1"}
	if err != nil || !reflect.DeepEqual(removed, want) {
		t.Errorf("CleanRuntime: %v, %v; want %v", removed, err, want)
	}
	if !h.Exists("/var/run/dpdk/rte/config") || !h.Exists("/dev/hugepages/rtemap_0") {
		t.Error("CleanRuntime removed another prefix's files")
	}
	if r := runCheck(t, h, "dataplane-dpdk-leftovers"); len(r) != 1 || r[0].Status != doctor.OK {
		t.Errorf("after cleaning: %+v", r)
	}
	if _, err := CleanRuntime(h, "../x"); err == nil {
		t.Error("a prefix with a slash was accepted")
	}
}

// A conf without file_prefix runs as DPDK's "rte": its leftovers are
// cleaned too, but never while a live process maps them.
func TestCleanIfUnused(t *testing.T) {
	h := fixture.Host(t, "dataplane-busy")
	if removed, err := CleanIfUnused(h, "rte"); err != nil || len(removed) != 0 {
		t.Errorf("CleanIfUnused(rte) with a live process mapping rtemap_0: removed %v, %v", removed, err)
	}
	if !h.Exists("/dev/hugepages/rtemap_0") {
		t.Error("CleanIfUnused removed hugepage files a live process maps")
	}
	removed, err := CleanIfUnused(h, FilePrefix)
	if err != nil || len(removed) != 3 {
		t.Errorf("CleanIfUnused(%s), no process: removed %v, %v; want its 3 files", FilePrefix, removed, err)
	}
}
