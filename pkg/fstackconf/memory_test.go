package fstackconf

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/photonctl/photonctl/pkg/engine"
)

// Mbufs follows F-Stack 1.24's init_mem_pool term by term (worked by hand
// here from lib/ff_dpdk_if.c and lib/ff_memory.h).
func TestMbufs(t *testing.T) {
	for _, tc := range []struct{ lcores, ports, maxPort, want int }{
		// 1*1*2*512 + 1*1*2*1*32 + 1*1*2*1*512 + 256 + 2048+2048 + 2048 = 8512 -> 16384
		{1, 1, 0, 16384},
		// 2*1*2*512 + 1*1*2*2*32 + 1*1*2*2*512 + 512 + 4096 + 4096 = 12928 -> 16384
		{2, 1, 0, 16384},
		// 8*2*2*512 + 2*2*2*4*32 + 2*2*2*4*512 + 1024 + 8192 + 16384 = 59392 -> 65536
		{4, 2, 1, 65536},
		// port 3 alone: 1*4*2*512 + 1*4*2*1*32 + 1*4*2*1*512 + 256 + 4096 + 2048 = 10752 -> 16384
		{1, 1, 3, 16384},
		// 8 lcores, port 0: 8*2*512 + 2*8*32 + 2*8*512 + 2048 + 4096 + 16384 = 39424 -> 40960
		{8, 1, 0, 40960},
	} {
		got := Mbufs(tc.lcores, tc.ports, tc.maxPort)
		if got != tc.want {
			t.Errorf("Mbufs(%d lcores, %d ports, max port %d) = %d, want %d", tc.lcores, tc.ports, tc.maxPort, got, tc.want)
		}
	}
}

func TestNeedMemory(t *testing.T) {
	for _, tc := range []struct {
		lcores int
		ports  []int
		pageKB int
		want   int
	}{
		// 16384 mbufs x 2368 B + 64 messages x 10 KiB = 37.6 MiB -> 38, + 16 = 54 MB
		{1, []int{0}, 2048, 54},
		// one more message pool share: 38.25 MiB -> 39 + 16 = 55 -> 56 (2 MB pages)
		{2, []int{0}, 2048, 56},
		{1, []int{0}, 1048576, 1024},
		// 65536 x 2368 + 4 x 640 KiB = 150.5 MiB -> 151 + 16 = 167 -> 168
		{4, []int{0, 1}, 2048, 168},
	} {
		m := NeedMemory(tc.lcores, tc.ports, tc.pageKB)
		if m.MB != tc.want || m.MB%m.PageMB != 0 {
			t.Errorf("NeedMemory(%d, %v, %d kB) = %d MB, want %d", tc.lcores, tc.ports, tc.pageKB, m.MB, tc.want)
		}
	}
}

// setup writes memory=N unless the file already has N or more; a smaller
// value is raised.
func TestRenderMemory(t *testing.T) {
	env, _ := cx4Env(t, "fstack-cx4-vfs")
	env.Spec.FstackVersion = "1.24"
	r, err := Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := mustParse(t, r.Data).Get("dpdk", "memory"); got != "54" || r.MemoryMB != 54 {
		t.Errorf("memory = %q, want 54", got)
	}
	if s := summary(r); !strings.Contains(s, "[dpdk] memory=54 MB (memory=54 MB: 16384 mbufs of 2368 B for 1 lcore(s) and 1 port(s)") {
		t.Errorf("summary %q", s)
	}
	for _, tc := range []struct{ in, want string }{
		{"memory=1024", "1024"},
		{"memory=54", "54"},
		{"memory=32", "54"},
		{"memory=lots", "54"},
	} {
		withConf(t, env, "[dpdk]\nlcore_mask=2\nport_list=0\n"+tc.in+"\n")
		r, err := Render(env, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := mustParse(t, r.Data).Get("dpdk", "memory"); got != tc.want {
			t.Errorf("%s: memory = %q, want %s", tc.in, got, tc.want)
		}
	}
	// Two lcores (CPUs 1 and 2 of node 0... the fixture's node has 1-3).
	withConf(t, env, "[dpdk]\nlcore_mask=6\nport_list=0\n")
	r, err = Render(env, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := mustParse(t, r.Data).Get("dpdk", "memory"); got != "56" {
		t.Errorf("two lcores: memory = %q, want 56", got)
	}
}

// With the hugepages step in the spec, fewer hugepages than memory is bad
// input at plan time, naming both numbers and the --hugepages that fits.
func TestMemoryNeedsTheHugepages(t *testing.T) {
	env, _ := cx4Env(t, "fstack-cx4-vfs")
	env.Spec.FstackVersion = "1.24"
	p := env.Host.Path("/etc/f-stack.conf")
	env.Spec.Hugepages = 20
	steps := []engine.Step{&Step{}}
	_, err := engine.Run(context.Background(), env, steps, steps, engine.Options{})
	if !engine.IsBadInput(err) {
		t.Fatalf("err = %v, want bad input", err)
	}
	for _, w := range []string{"--hugepages 20 reserves 40 MB of 2M pages, less than [dpdk] memory=54 MB in /etc/f-stack.conf", "give --hugepages 27 or more"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v\nwant %q", err, w)
		}
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("the file was written: %v", err)
	}
	env.Spec.Hugepages = 27
	if _, err := Render(env, ""); err != nil {
		t.Errorf("27 pages: %v", err)
	}

	// A larger memory the file keeps is what the pages must hold.
	withConf(t, env, "[dpdk]\nlcore_mask=2\nport_list=0\nmemory=1024\n")
	if _, err := Render(env, ""); !engine.IsBadInput(err) || !strings.Contains(err.Error(), "the 1024 MB /etc/f-stack.conf already sets") || !strings.Contains(err.Error(), "--hugepages 512 or more") {
		t.Errorf("kept 1024: err = %v", err)
	}
	env.Spec.HugepageSize, env.Spec.Hugepages = "1G", 1
	if _, err := Render(env, ""); err != nil {
		t.Errorf("one 1G page for memory=1024: %v", err)
	}
}
