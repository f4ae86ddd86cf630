package mlnx

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// IBLink is one line of ibdev2netdev: "mlx5_0 port 1 ==> enp3s0f0 (Up)".
type IBLink struct {
	IBDev  string
	Port   int
	Netdev string
	State  string // "Up", "Down"
	PCI    string // with ibdev2netdev -v only
}

// ParseIbdev2netdev reads ibdev2netdev or ibdev2netdev -v output
// ("0000:03:00.0 mlx5_0 (MT4117 - MCX4121A-ACAT) CX4121A ... fw 14.32.1010
// port 1 (ACTIVE) ==> enp3s0f0 (Up)"). Lines it cannot read are skipped.
func ParseIbdev2netdev(r io.Reader) ([]IBLink, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var out []IBLink
	for sc.Scan() {
		left, right, ok := strings.Cut(sc.Text(), "==>")
		if !ok {
			continue
		}
		lf, rf := strings.Fields(left), strings.Fields(right)
		if len(lf) < 1 || len(rf) < 1 {
			continue
		}
		l := IBLink{Netdev: rf[0]}
		if len(rf) > 1 {
			l.State = strings.Trim(rf[1], "()")
		}
		i := 0
		if pciTokRe.MatchString(lf[0]) {
			l.PCI = normPCI(lf[0])
			i = 1
		}
		if i >= len(lf) {
			continue
		}
		l.IBDev = lf[i]
		for j := i + 1; j+1 < len(lf); j++ {
			if lf[j] == "port" {
				if n, err := strconv.Atoi(lf[j+1]); err == nil {
					l.Port = n
				}
			}
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading ibdev2netdev: %w", err)
	}
	return out, nil
}
