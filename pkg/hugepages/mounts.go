package hugepages

import (
	"bufio"
	"io"
	"strings"
)

// Mount is one line of /proc/mounts.
type Mount struct {
	Source, Target, FSType string
	Options                []string
}

// Option returns the value of a mount option ("pagesize" -> "1G").
func (m Mount) Option(name string) (string, bool) {
	for _, o := range m.Options {
		k, v, _ := strings.Cut(o, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}

// ParseMounts reads /proc/mounts (or /etc/mtab). Malformed lines are skipped.
func ParseMounts(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		out = append(out, Mount{Source: unescape(f[0]), Target: unescape(f[1]), FSType: f[2], Options: strings.Split(f[3], ",")})
	}
	return out, sc.Err()
}

// unescape undoes the octal escapes /proc/mounts uses for spaces and tabs.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOct(s[i+1]) && isOct(s[i+2]) && isOct(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOct(c byte) bool { return c >= '0' && c <= '7' }
