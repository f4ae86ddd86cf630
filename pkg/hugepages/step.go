package hugepages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/spec"
)

// SysctlFile persists a reservation of default-size pages.
const SysctlFile = "/etc/sysctl.d/80-photonctl-hugepages.conf"

// DefaultMount is where hugetlbfs of the default page size is mounted.
const DefaultMount = "/dev/hugepages"

// ErrShortfall is a reservation the kernel could not fill.
var ErrShortfall = errors.New("the kernel could not reserve all the hugepages asked for")

// Step is the `hugepages` setup step.
type Step struct {
	// Attempts bounds the reservation retries.
	Attempts int
	// Backoff is the wait before the first retry; it doubles.
	Backoff time.Duration
	// write writes a sysfs attribute and returns what it reads back; tests
	// wrap it to play a kernel that gives fewer pages.
	write func(ctx context.Context, h *host.Host, path, value string) (string, error)
	// mount mounts hugetlbfs; tests of fixture hosts record the call.
	mount func(target, options string) error
}

// NewStep returns the step as production runs it.
func NewStep() *Step {
	return &Step{Attempts: 5, Backoff: 200 * time.Millisecond, write: writeSysfs, mount: mountHugetlbfs}
}

func writeSysfs(ctx context.Context, h *host.Host, p, v string) (string, error) {
	return h.WriteSysfs(ctx, p, v, 0)
}

func mountHugetlbfs(target, options string) error {
	return unix.Mount("nodev", target, "hugetlbfs", 0, options)
}

// Name is the step's name.
func (s *Step) Name() string { return engine.StepHugepages }

// want is what the spec asks, resolved against the host.
type want struct {
	sizeKB   int
	node     int
	pages    int64
	defaultS bool // the size is the kernel's default hugepage size
}

type plan struct {
	want
	current    int64
	reserve    bool
	mountAt    string // "" = already mounted
	mountOpts  string
	persist    []byte // the sysctl file to write; nil = none or already so
	kernelArgs []string
}

func resolve(h *host.Host, sp spec.Spec) (want, Meminfo, error) {
	var w want
	kb, err := spec.HugepageKB(sp.HugepageSize)
	if err != nil {
		return w, Meminfo{}, engine.BadInput("%v", err)
	}
	w.sizeKB, w.pages, w.node = kb, int64(sp.Hugepages), AllNodes
	if sp.NUMANode != "all" && sp.NUMANode != "" {
		n, err := strconv.Atoi(sp.NUMANode)
		if err != nil {
			return w, Meminfo{}, engine.BadInput("--numa-node %q: give a node number or all", sp.NUMANode)
		}
		w.node = n
	}
	b, err := h.ReadFile("/proc/meminfo")
	if err != nil {
		return w, Meminfo{}, fmt.Errorf("reading /proc/meminfo: %w", err)
	}
	mi, err := ParseMeminfo(bytes.NewReader(b))
	if err != nil {
		return w, mi, err
	}
	w.defaultS = mi.HugepagesizeKB == 0 || mi.HugepagesizeKB == int64(kb)
	return w, mi, nil
}

// KernelArgs are the arguments that reserve the pages at boot where a sysctl
// cannot: pages of a size other than the default (1G), or on one NUMA node.
func (s *Step) KernelArgs(ctx context.Context, env *engine.Env) ([]string, error) {
	if env.Spec.Hugepages < 0 {
		return nil, nil
	}
	w, _, err := resolve(env.Host, env.Spec)
	if err != nil {
		return nil, nil // Check reports it
	}
	return bootArgs(w), nil
}

func bootArgs(w want) []string {
	if w.defaultS && w.node == AllNodes {
		return nil
	}
	count := strconv.FormatInt(w.pages, 10)
	if w.node != AllNodes {
		count = fmt.Sprintf("%d:%d", w.node, w.pages) // node form: Linux 5.16 and later
	}
	var args []string
	if w.sizeKB == 1024*1024 {
		args = append(args, "default_hugepagesz=1G")
	}
	return append(args, "hugepagesz="+SizeName(w.sizeKB), "hugepages="+count)
}

// Check says what the reservation, the mount and the persistence need.
func (s *Step) Check(ctx context.Context, env *engine.Env) (*engine.Plan, error) {
	if env.Spec.Hugepages < 0 {
		return &engine.Plan{Skip: "not asked for (--hugepages N)"}, nil
	}
	h := env.Host
	w, mi, err := resolve(h, env.Spec)
	if err != nil {
		return nil, err
	}
	if need := w.pages * int64(w.sizeKB); need > mi.MemTotalKB {
		return nil, engine.BadInput("%d × %s hugepages is %s, more than the %s of memory this host has; ask for fewer pages",
			w.pages, SizeName(w.sizeKB), human(need), human(mi.MemTotalKB))
	}
	pool, err := ReadPool(h, w.sizeKB, w.node)
	if err != nil {
		// No pool of that size or node: the request does not fit the host.
		// A pool whose files do not read: the host is broken.
		if errors.Is(err, ErrNoPool) {
			return nil, engine.BadInput("%v", err)
		}
		return nil, fmt.Errorf("%w; the kernel's hugepage files should read as numbers: check the kernel, nothing was changed", err)
	}
	p := &plan{want: w, current: pool.Nr, kernelArgs: bootArgs(w)}
	out := &engine.Plan{Data: p}
	where := "in all"
	if w.node != AllNodes {
		where = fmt.Sprintf("on NUMA node %d", w.node)
	}
	if pool.Nr != w.pages {
		p.reserve = true
		out.Changes = append(out.Changes, engine.SysfsChange(NrPath(w.sizeKB, w.node), strconv.FormatInt(pool.Nr, 10), strconv.FormatInt(w.pages, 10)))
	}

	target, opts := DefaultMount, ""
	if !w.defaultS {
		target, opts = DefaultMount+"-"+SizeName(w.sizeKB), "pagesize="+SizeName(w.sizeKB)
	}
	if w.pages > 0 {
		mounted, err := mountedFor(h, w.sizeKB, w.defaultS)
		if err != nil {
			return nil, err
		}
		if mounted == "" {
			p.mountAt, p.mountOpts = target, opts
			out.Changes = append(out.Changes, engine.MountChange(target, "not mounted", "mounted "+orDefault(opts, "(default page size)")))
		}
	}

	if w.defaultS && w.node == AllNodes {
		data := []byte(fmt.Sprintf("# Written by photonctl setup (hugepages step): %s pages for the DPDK dataplane.\nvm.nr_hugepages = %d\n", SizeName(w.sizeKB), w.pages))
		old, err := h.ReadFile(SysctlFile)
		if err != nil && !host.IsNotExist(err) {
			return nil, fmt.Errorf("reading %s: %w", SysctlFile, err)
		}
		// A file systemd-sysctl reads after ours would undo it at boot.
		if v, where, found, err := SysctlAfter(h, path.Base(SysctlFile), "vm.nr_hugepages"); err != nil {
			return nil, err
		} else if found && v != strconv.FormatInt(w.pages, 10) {
			return nil, fmt.Errorf("%s sets vm.nr_hugepages = %s, and systemd-sysctl reads it after %s, so at boot the reservation would be %s, not %d: "+
				"remove that line (or set it to %d) and run setup again", where, v, SysctlFile, v, w.pages, w.pages)
		}
		if !bytes.Equal(old, data) {
			p.persist = data
			out.Changes = append(out.Changes, engine.FileChange(SysctlFile, 0, sysctlLine(old), fmt.Sprintf("vm.nr_hugepages = %d", w.pages)))
		}
	}
	out.Message = fmt.Sprintf("%d × %s pages reserved %s, want %d", pool.Nr, SizeName(w.sizeKB), where, w.pages)
	if len(p.kernelArgs) > 0 {
		out.Message += fmt.Sprintf("\nat boot through kernel arguments (the grub step): %v", p.kernelArgs)
	}
	return out, nil
}

// mountedFor returns the mount point of a hugetlbfs for pages of sizeKB, or "".
func mountedFor(h *host.Host, sizeKB int, isDefault bool) (string, error) {
	b, err := h.ReadFile("/proc/mounts")
	if err != nil {
		return "", fmt.Errorf("reading /proc/mounts: %w", err)
	}
	ms, err := ParseMounts(bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		if m.FSType != "hugetlbfs" {
			continue
		}
		ps, ok := m.Option("pagesize")
		if !ok && isDefault {
			return m.Target, nil
		}
		if ok {
			if kb, err := spec.HugepageKB(ps); err == nil && kb == sizeKB {
				return m.Target, nil
			}
		}
	}
	return "", nil
}

// Apply reserves, mounts and persists, in that order, so that a reservation
// the kernel cannot fill fails the step before any file changes.
func (s *Step) Apply(ctx context.Context, env *engine.Env, pl *engine.Plan) (bool, error) {
	p := pl.Data.(*plan)
	h := env.Host
	reboot := false
	if p.reserve {
		path := NrPath(p.sizeKB, p.node)
		if err := env.Txn.RecordLive(host.Live{Path: path, Before: strconv.FormatInt(p.current, 10), After: strconv.FormatInt(p.pages, 10),
			Restore: true, How: fmt.Sprintf("echo %d > %s", p.current, path)}); err != nil {
			return false, err
		}
		if err := s.reserve(ctx, env, p); err != nil {
			if errors.Is(err, ErrShortfall) && !p.defaultS && len(p.kernelArgs) > 0 {
				// Pages of a non-default size are reserved at boot by the
				// kernel arguments; the reboot will do what this could not.
				env.Progressf("hugepages: %v; the kernel arguments will reserve them at boot", err)
				reboot = true
			} else {
				return false, err
			}
		}
	}
	if p.mountAt != "" {
		if err := env.Txn.MkdirAll(p.mountAt, 0o755); err != nil {
			return reboot, fmt.Errorf("creating %s: %w", p.mountAt, err)
		}
		if err := env.Txn.RecordLive(host.Live{Path: "mount: hugetlbfs on " + p.mountAt, Before: "not mounted", After: "mounted",
			How: "umount " + p.mountAt + " once no dataplane uses it"}); err != nil {
			return reboot, err
		}
		// The mount point with its links resolved inside the root: mount(2)
		// would follow an absolute one out of it.
		if err := s.mount(h.Path(h.Resolve(p.mountAt)), p.mountOpts); err != nil {
			return reboot, fmt.Errorf("mounting hugetlbfs on %s (mount -t hugetlbfs -o %q nodev %s): %w", p.mountAt, p.mountOpts, p.mountAt, err)
		}
	}
	if p.persist != nil {
		if _, err := env.Txn.WriteFile(SysctlFile, p.persist, 0o644); err != nil {
			return reboot, err
		}
	}
	if reboot {
		pl.RebootPending = true
	}
	return reboot, nil
}

// reserve writes the page count and reads back what the kernel gave,
// retrying a bounded number of times; short in the end, it puts the old count
// back.
func (s *Step) reserve(ctx context.Context, env *engine.Env, p *plan) error {
	attempts := s.Attempts
	if attempts < 1 {
		attempts = 1
	}
	path := NrPath(p.sizeKB, p.node)
	want := strconv.FormatInt(p.pages, 10)
	var got int64
	wait := s.Backoff
	for i := 1; i <= attempts; i++ {
		back, err := s.write(ctx, env.Host, path, want)
		if err != nil {
			return err
		}
		got, err = strconv.ParseInt(back, 10, 64)
		if err != nil {
			return fmt.Errorf("%s reads back %q, not a number", path, back)
		}
		if got == p.pages {
			return nil
		}
		if i == attempts {
			break
		}
		env.Progressf("hugepages: asked for %d × %s, the kernel gave %d; compacting memory and trying again (%d/%d)", p.pages, SizeName(p.sizeKB), got, i+1, attempts)
		if env.Host.Exists("/proc/sys/vm/compact_memory") {
			if _, err := s.write(ctx, env.Host, "/proc/sys/vm/compact_memory", "1"); err != nil {
				env.Progressf("hugepages: compacting memory did not work: %v", err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
	if _, err := s.write(ctx, env.Host, path, strconv.FormatInt(p.current, 10)); err != nil {
		return fmt.Errorf("%w (asked %d, got %d) and putting back the %d there were failed: %v", ErrShortfall, p.pages, got, p.current, err)
	}
	why := "free memory is too fragmented to find that many contiguous pages; free memory or reboot and run setup early"
	if p.sizeKB >= 1024*1024 {
		why = "1G pages are rarely free once the host runs: reserve them at boot (setup adds the kernel arguments)"
	}
	return fmt.Errorf("%w: asked for %d × %s pages, got %d after %d tries (%s); the count is back at %d",
		ErrShortfall, p.pages, SizeName(p.sizeKB), got, attempts, why, p.current)
}

// Verify reads the pool, the mount and the sysctl file again.
func (s *Step) Verify(ctx context.Context, env *engine.Env) error {
	w, _, err := resolve(env.Host, env.Spec)
	if err != nil {
		return err
	}
	pool, err := ReadPool(env.Host, w.sizeKB, w.node)
	if err != nil {
		return err
	}
	if pool.Nr != w.pages && (w.defaultS || len(bootArgs(w)) == 0) {
		return fmt.Errorf("%s reads %d, want %d", NrPath(w.sizeKB, w.node), pool.Nr, w.pages)
	}
	if w.pages > 0 {
		if m, err := mountedFor(env.Host, w.sizeKB, w.defaultS); err != nil || m == "" {
			return fmt.Errorf("no hugetlbfs for %s pages in /proc/mounts after mounting it", SizeName(w.sizeKB))
		}
	}
	return nil
}

func sysctlLine(b []byte) string {
	for _, l := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(bytes.TrimSpace(l), []byte("vm.nr_hugepages")) {
			return string(bytes.TrimSpace(l))
		}
	}
	return ""
}

func human(kb int64) string {
	switch {
	case kb >= 1024*1024:
		return fmt.Sprintf("%.1f GiB", float64(kb)/(1024*1024))
	case kb >= 1024:
		return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
	}
	return fmt.Sprintf("%d kB", kb)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
