package dpdkenv

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/photonctl/photonctl/pkg/doctor"
	"github.com/photonctl/photonctl/pkg/engine"
	"github.com/photonctl/photonctl/pkg/fstackconf"
	"github.com/photonctl/photonctl/pkg/host"
	"github.com/photonctl/photonctl/pkg/runner"
)

// pcDirs are where libdpdk.pc is looked for (fstackconf.PCDirs).
var pcDirs = fstackconf.PCDirs

// ParsePCVersion returns the Version field of a pkg-config .pc file; it is
// fstackconf's, which picks the F-Stack version from the same file.
func ParsePCVersion(b []byte) (string, bool) { return fstackconf.ParsePCVersion(b) }

// majorMinor is "20.11" of "20.11.3", or "" when v is no version.
var majorMinorRe = regexp.MustCompile(`^(\d+)\.(\d+)`)

func majorMinor(v string) string {
	m := majorMinorRe.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return ""
	}
	return m[1] + "." + m[2]
}

// findPCFile looks for libdpdk.pc in pcDirs. When none is found but one
// could not be read, denied names it and err says why.
func findPCFile(h *host.Host) (p, version, denied string, err error) {
	for _, d := range pcDirs {
		f := d + "/libdpdk.pc"
		b, rerr := h.ReadFile(f)
		if rerr != nil {
			if host.IsPermission(rerr) && denied == "" {
				denied, err = f, rerr
			}
			continue
		}
		if v, ok := ParsePCVersion(b); ok {
			return f, v, "", nil
		}
	}
	return "", "", denied, err
}

// fstackVersion is the F-Stack release of the host as every command resolves
// it (fstackconf.ResolveVersion), when that says what is installed: the flag,
// libfstack or $FF_PATH. A version guessed from f-stack.conf's keys or from
// the installed DPDK proves nothing about the DPDK it is checked against.
// "" when unknown; how says where it came from.
func fstackVersion(h *host.Host, env *engine.Env, o Options) (v, how string) {
	r, err := fstackconf.ResolveVersion(h, fstackconf.VersionQuery{Asked: env.Spec.FstackVersion, FFPath: o.FFPath, Conf: env.Spec.FstackConf})
	if err != nil || (r.From != fstackconf.FromFlag && r.From != fstackconf.FromInstalled) {
		return "", ""
	}
	if r.From == fstackconf.FromFlag {
		return r.Version.String(), "--fstack-version"
	}
	return r.Version.String(), r.How
}

func checkDPDK(ctx context.Context, env *engine.Env, o Options) []doctor.Result {
	o = o.onHost(env.Host)
	disk, none := diskDPDK(ctx, env, o)
	if o.Linked == nil {
		return disk
	}
	disk[0] = withHost(linkedDPDK(o.Linked), disk[0], none)
	return disk
}

// diskDPDK checks the DPDK installed on the host against F-Stack's version:
// what building F-Stack, or photonctl with make fstack, uses. The first
// result is dpdk-version's; none is set when no DPDK is installed (the
// result then fails).
func diskDPDK(ctx context.Context, env *engine.Env, o Options) (res []doctor.Result, none string) {
	h := env.Host
	fv, fvFrom := fstackVersion(h, env, o)
	if fv == "" && o.Linked != nil && o.Linked.Fstack != "" {
		fv, fvFrom = o.Linked.Fstack, "linked into this photonctl"
	}
	want := fstackconf.DPDKFor[fv]

	var ver, via, pcMiss string
	if _, err := env.Run.LookPath("pkg-config"); err == nil {
		out, err := env.Run.Run(ctx, "pkg-config", "--modversion", "libdpdk")
		if err == nil && majorMinor(string(out)) != "" {
			ver, via = strings.TrimSpace(string(out)), "pkg-config --modversion libdpdk"
		} else {
			pcMiss = "pkg-config does not find libdpdk"
		}
	} else {
		pcMiss = "pkg-config is not installed"
	}
	var pcFile string
	if ver == "" {
		f, v, denied, err := findPCFile(h)
		if f == "" {
			if denied != "" {
				return []doctor.Result{skipUnreadable(IDDPDKVersion, denied, err)}, ""
			}
			return []doctor.Result{{ID: IDDPDKVersion, Status: doctor.Fail,
					Detail: fmt.Sprintf("DPDK not installed: %s and no libdpdk.pc is in %s", pcMiss, strings.Join(pcDirs, ", ")),
					Fix:    installDPDKFix(want, fv)}},
				fmt.Sprintf("no DPDK development files on this host (%s, no libdpdk.pc in the pkgconfig folders): only rebuilding photonctl or F-Stack needs them", pcMiss)
		}
		pcFile, ver, via = f, v, f
	}
	got := majorMinor(ver)
	switch {
	case fv == "":
		res = append(res, doctor.Result{ID: IDDPDKVersion, Status: doctor.OK,
			Detail: fmt.Sprintf("DPDK %s (%s); F-Stack's version is unknown (no --fstack-version, no FF_PATH), so the match is not checked", ver, via)})
	case want == "":
		res = append(res, doctor.Result{ID: IDDPDKVersion, Status: doctor.OK,
			Detail: fmt.Sprintf("DPDK %s (%s); F-Stack %s (%s) is not one photonctl knows the DPDK release of (1.22 to 1.25), so the match is not checked", ver, via, fv, fvFrom)})
	case got != want:
		fix := installDPDKFix(want, fv)
		if other := fstackconf.ForDPDK(got); other != "" {
			fix += fmt.Sprintf(", or use F-Stack %s, which is built for DPDK %s", other, got)
		}
		res = append(res, doctor.Result{ID: IDDPDKVersion, Status: doctor.Fail,
			Detail: fmt.Sprintf("DPDK %s (%s), but F-Stack %s (%s) needs DPDK %s", ver, via, fv, fvFrom, want),
			Fix:    fix})
	default:
		res = append(res, doctor.Result{ID: IDDPDKVersion, Status: doctor.OK,
			Detail: fmt.Sprintf("DPDK %s (%s) fits F-Stack %s (%s)", ver, via, fv, fvFrom)})
	}
	if pcFile != "" {
		res = append(res, doctor.Result{ID: IDDPDKPCPath, Status: doctor.Warn,
			Detail: fmt.Sprintf("%s, though %s exists: building F-Stack will not find DPDK", pcMiss, pcFile),
			Fix:    pcPathFix(pcMiss, path.Dir(pcFile))})
	}
	return res, ""
}

// linkedDPDK judges the DPDK this photonctl loaded against the F-Stack
// linked into it: what its dataplane runs on.
func linkedDPDK(l *Linked) doctor.Result {
	r := doctor.Result{ID: IDDPDKVersion}
	if l.DPDK == "" {
		r.Status = doctor.Warn
		r.Detail = "this photonctl has F-Stack linked in, but its DPDK libraries did not say their release (rte_version())"
		r.Fix = "rebuild photonctl with make fstack FF_PATH=... against the DPDK its F-Stack was built with; see docs/dpdk-toolchain.md"
		return r
	}
	loaded := "DPDK " + l.DPDK + " loaded by this photonctl"
	if l.DPDKLib != "" {
		loaded += " (" + l.DPDKLib + ")"
	}
	want := fstackconf.DPDKFor[l.Fstack]
	got := majorMinor(l.DPDK)
	switch {
	case l.Fstack == "":
		r.Status = doctor.OK
		r.Detail = loaded + "; the F-Stack linked into it was not stamped at build (built without make fstack), so the match is not checked"
	case want == "":
		r.Status = doctor.OK
		r.Detail = fmt.Sprintf("%s; the F-Stack %s linked into it is not one photonctl knows the DPDK release of (1.22 to 1.25), so the match is not checked", loaded, l.Fstack)
	case got != want:
		r.Status = doctor.Fail
		r.Detail = fmt.Sprintf("%s, but the F-Stack %s linked into it needs DPDK %s", loaded, l.Fstack, want)
		r.Fix = fmt.Sprintf("install DPDK %s's runtime libraries where the dynamic loader finds them first (Debian 12: apt-get install dpdk), or rebuild photonctl with make fstack against an F-Stack built for DPDK %s", want, got)
		if other := fstackconf.ForDPDK(got); other != "" {
			r.Fix += " (F-Stack " + other + ")"
		}
	default:
		r.Status = doctor.OK
		r.Detail = fmt.Sprintf("%s fits the F-Stack %s linked into it", loaded, l.Fstack)
	}
	return r
}

// withHost is one result of a check in a photonctl with F-Stack linked in:
// linked, what it carries and loads, and disk, what the host has, which a
// rebuild would use (none: the host has nothing, which is no failure since
// photonctl already carries it). A warning or failure of either stands.
func withHost(linked, disk doctor.Result, none string) doctor.Result {
	r := linked
	switch {
	case none != "":
		r.Detail += "; " + none
		return r
	case disk.Status == doctor.Skip:
		r.Detail += "; on this host, for a rebuild: " + disk.Detail
		return r
	}
	r.Detail += "; on this host, for a rebuild: " + disk.Detail
	if rank(disk.Status) > rank(r.Status) {
		r.Status = disk.Status
	}
	var fixes []string
	for _, f := range []string{linked.Fix, disk.Fix} {
		if f != "" {
			fixes = append(fixes, f)
		}
	}
	r.Fix = strings.Join(fixes, "; ")
	return r
}

// rank orders statuses by how bad they are.
func rank(s doctor.Status) int {
	switch s {
	case doctor.Fail:
		return 2
	case doctor.Warn:
		return 1
	}
	return 0
}

func installDPDKFix(want, fv string) string {
	if want == "" {
		return "install the DPDK release your F-Stack is built for (F-Stack 1.22: 20.11, 1.23: 21.11, 1.24: 22.11, 1.25: 23.11): meson setup build && ninja -C build install; see docs/dpdk-toolchain.md"
	}
	return fmt.Sprintf("install DPDK %s for F-Stack %s: from dpdk-%s, meson setup build && ninja -C build install; see docs/dpdk-toolchain.md", want, fv, want)
}

func pcPathFix(pcMiss, dir string) string {
	if strings.Contains(pcMiss, "not installed") {
		return "install pkg-config 0.29 or later (yum install pkgconfig, apt-get install pkg-config), then export PKG_CONFIG_PATH=" + dir + ":$PKG_CONFIG_PATH"
	}
	return "export PKG_CONFIG_PATH=" + dir + ":$PKG_CONFIG_PATH before building F-Stack (or add " + dir + " to /etc/ld.so.conf.d and pkg-config's pc_path)"
}

// pkgConfigMin is the first pkg-config release that keeps gcc's
// -Wl,--whole-archive ... --no-whole-archive in order (0.27.1, CentOS 7's,
// reorders them and breaks linking against libfstack).
var pkgConfigMin = []int{0, 29}

func checkPkgConfig(ctx context.Context, env *engine.Env) []doctor.Result {
	if _, err := env.Run.LookPath("pkg-config"); err != nil {
		if errors.Is(err, runner.ErrNotFound) {
			return []doctor.Result{{Status: doctor.Skip, Detail: "pkg-config is not installed (building F-Stack needs 0.29 or later)"}}
		}
		return []doctor.Result{{Status: doctor.Skip, Detail: "cannot look for pkg-config: " + err.Error()}}
	}
	out, err := env.Run.Run(ctx, "pkg-config", "--version")
	v := strings.TrimSpace(string(out))
	if err != nil || v == "" {
		msg := "no output"
		if err != nil {
			msg = err.Error()
		}
		return []doctor.Result{{Status: doctor.Skip, Detail: "pkg-config --version did not answer: " + msg}}
	}
	nums, ok := versionInts(v)
	if !ok {
		return []doctor.Result{{Status: doctor.Skip, Detail: fmt.Sprintf("pkg-config --version said %q, which is no version", v)}}
	}
	if lessVersion(nums, pkgConfigMin) {
		return []doctor.Result{{Status: doctor.Warn,
			Detail: fmt.Sprintf("pkg-config %s reorders gcc's -Wl,--whole-archive flags (fixed in 0.29), so linking an F-Stack app fails", v),
			Fix:    "install pkg-config 0.29 or later, e.g. 0.29.2 from https://pkg-config.freedesktop.org/releases/ (./configure --with-internal-glib && make && make install)"}}
	}
	return []doctor.Result{{Status: doctor.OK, Detail: fmt.Sprintf("pkg-config %s handles --whole-archive", v)}}
}

func versionInts(v string) ([]int, bool) {
	var out []int
	for _, p := range strings.Split(v, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, len(out) > 0
}

func lessVersion(a, b []int) bool {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return x < y
		}
	}
	return false
}
