package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/fixture"
	"github.com/photonctl/photonctl/pkg/runner"
	"github.com/photonctl/photonctl/pkg/runner/runnertest"
)

func runConf(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	g := &globalOptions{
		In: strings.NewReader(""), Out: &out, Err: &errb,
		newRunner:  func(root string) runner.Runner { return runnertest.New(t) }, // strict: no command may run
		isTerminal: func() bool { return false },
	}
	code = run(g, args)
	return code, out.String(), errb.String()
}

const confGood = `[dpdk]
lcore_mask=2
port_list=0
pkt_tx_delay=0
pci_whitelist=03:00.0,03:00.2

[port0]
addr=192.168.1.2
netmask=255.255.255.0
broadcast=192.168.1.255
gateway=192.168.1.1
`

func TestConfCheckCommand(t *testing.T) {
	root := fixture.Host(t, "fstack-cx4").Root()
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.conf", confGood)
	wrong := write("wrong.conf", strings.Replace(strings.Replace(confGood, "pci_whitelist", "allow", 1), "lcore_mask=2", "lcore_mask=100", 1))
	broken := write("broken.conf", "[dpdk]\nlcore_mask 2\n[dpdk]\n")

	cases := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"passes", []string{"conf", "check", "--fstack-version", "1.24", good}, 0, good + ": no problems for F-Stack 1.24\n", ""},
		{"problems", []string{"--root", root, "conf", "check", "--fstack-version", "1.24", wrong}, 1,
			wrong + ":2: lcore_mask=100 names CPU 8, which this host lacks (online: 0-7)\n" +
				wrong + ":5: `allow`: F-Stack 1.24 reads the PCI allow-list from `pci_whitelist`; rename the key\n" +
				"2 problem(s) for F-Stack 1.24\n", ""},
		{"1.25 wants allow", []string{"--root", root, "conf", "check", "--fstack-version", "1.25", good}, 1,
			good + ":5: `pci_whitelist`: F-Stack 1.25 reads the PCI allow-list from `allow`; rename the key\n1 problem(s) for F-Stack 1.25\n", ""},
		{"unparsable", []string{"conf", "check", "--fstack-version", "1.24", broken}, 2, "",
			broken + `:2: "lcore_mask 2" is neither a comment, a [section] nor key=value` + "\n" +
				broken + ":3: section [dpdk] again (first at line 1); merge the two into one\n" +
				"photonctl: " + broken + " is not an f-stack.conf F-Stack can read: 2 line(s) above; nothing was checked further\n"},
		{"unreadable", []string{"conf", "check", "--fstack-version", "1.24", filepath.Join(dir, "none.conf")}, 2, "",
			"photonctl: reading " + filepath.Join(dir, "none.conf") + ": open " + filepath.Join(dir, "none.conf") + ": no such file or directory\n"},
		{"bad version", []string{"conf", "check", "--fstack-version", "2.0", good}, 2, "",
			"photonctl: fstack_version: \"2.0\": give a version such as 1.24\n"},
		{"host file under root", []string{"--root", root, "conf", "check", "--fstack-version", "1.24"}, 2, "",
			"photonctl: reading /etc/f-stack.conf: open " + root + "/etc/f-stack.conf: no such file or directory\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runConf(t, c.args...)
			if code != c.code || out != c.out || errs != c.err {
				t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout:\n%s\nstderr:\n%s", code, out, errs, c.code, c.out, c.err)
			}
		})
	}

	code, out, _ := runConf(t, "--root", root, "-o", "json", "conf", "check", "--fstack-version", "1.24", wrong)
	var rep struct {
		Schema   int
		Version  string `json:"fstack_version"`
		Problems []struct {
			Line    int
			Message string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if code != 1 || rep.Schema != 1 || rep.Version != "1.24" || len(rep.Problems) != 2 || rep.Problems[1].Line != 5 {
		t.Errorf("json: exit %d %+v", code, rep)
	}
}

// conf check and doctor take the same F-Stack version: on a host with DPDK
// 22.11 and no libfstack, 1.24 (23.11: 1.25); with nothing to go by, conf
// check says it cannot tell and lists the versions.
func TestOneFstackVersionEverywhere(t *testing.T) {
	h := fixture.Host(t, "base-centos7-2node")
	conf := "[dpdk]\nlcore_mask=2\nport_list=0\n\n[port0]\naddr=192.168.1.2\nnetmask=255.255.255.0\nbroadcast=192.168.1.255\ngateway=192.168.1.1\n"
	writeHostFile(t, h, "/etc/f-stack.conf", []byte(conf))
	code, _, errs := runConf(t, "--root", h.Root(), "conf", "check")
	if code != ExitUsage || !strings.Contains(errs, "cannot tell the F-Stack version") || !strings.Contains(errs, "1.21, 1.22, 1.23, 1.24, 1.25") {
		t.Errorf("nothing to go by: exit %d %s", code, errs)
	}
	for dpdk, want := range map[string]string{"22.11.4": "1.24", "23.11.1": "1.25"} {
		if err := os.MkdirAll(h.Path("/usr/local/lib64/pkgconfig"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeHostFile(t, h, "/usr/local/lib64/pkgconfig/libdpdk.pc", []byte("Name: DPDK\nVersion: "+dpdk+"\n"))
		_, out, _ := runConf(t, "--root", h.Root(), "conf", "check")
		if !strings.Contains(out, "for F-Stack "+want) {
			t.Errorf("DPDK %s: conf check says %q, want F-Stack %s", dpdk, out, want)
		}
		r := photonctl(t, "--root", h.Root(), "-o", "json", "doctor", "--only", "fstackconf")
		var rep struct{ Checks []struct{ ID, Detail string } }
		if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
			t.Fatalf("%v\n%s", err, r.out)
		}
		found := false
		for _, c := range rep.Checks {
			if c.ID == "fstackconf-file" {
				found = strings.Contains(c.Detail, "F-Stack "+want)
				if !found {
					t.Errorf("DPDK %s: doctor says %q, want F-Stack %s", dpdk, c.Detail, want)
				}
			}
		}
		if !found {
			t.Errorf("DPDK %s: no fstackconf-file check with F-Stack %s in %s", dpdk, want, r.out)
		}
	}
}
