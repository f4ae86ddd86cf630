package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Playbook runs ansible-playbook (Debian's ansible-core) the way a user
// would and reads back what its default output says: each host's outcome of
// each task and the recap. The JSON callbacks live in collections Debian's
// ansible-core does not ship, so the suite reads the text every install has.
type Playbook struct {
	Dir       string   // the folder it runs in (ansible.cfg, inventory, playbook)
	Inventory string   // -i
	Playbook  string   // the playbook file
	Env       []string // added to this process's environment
}

// PlayResult is one run of a playbook.
type PlayResult struct {
	Exit   int    // ansible-playbook's exit code (2: a host failed)
	Output string // stdout and stderr as printed
	Play
}

// Play is what the default callback printed, read back.
type Play struct {
	Results []TaskResult            // in the order printed
	Recap   map[string]HostRecap    // PLAY RECAP, by host
	Fatal   map[string][]TaskResult // the fatal results, by host
}

// TaskResult is one host's outcome of one task.
type TaskResult struct {
	Task   string // "photonctl : Run photonctl setup"
	Host   string
	Status string // ok, changed, skipping, fatal, failed
	Msg    string // the result's "msg", for a fatal or failed one
}

// HostRecap is one host's line of the PLAY RECAP.
type HostRecap struct {
	OK, Changed, Unreachable, Failed, Skipped, Rescued, Ignored int
}

// Run runs the playbook with args, within d.
func (p *Playbook) Run(d time.Duration, args ...string) (*PlayResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	argv := append([]string{"-i", p.Inventory, p.Playbook}, args...)
	cmd := exec.CommandContext(ctx, "ansible-playbook", argv...)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0", "ANSIBLE_STDOUT_CALLBACK=default",
		"ANSIBLE_RETRY_FILES_ENABLED=0", "ANSIBLE_HOST_KEY_CHECKING=0")
	cmd.Env = append(cmd.Env, p.Env...)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	r := &PlayResult{Output: string(out)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("ansible-playbook %s: no end within %s\n%s", strings.Join(argv, " "), d, tail(out, 80))
	case errors.As(err, &ee):
		r.Exit = ee.ExitCode()
	case err != nil:
		return r, fmt.Errorf("ansible-playbook %s: %w", strings.Join(argv, " "), err)
	}
	play, perr := ParsePlay(r.Output)
	r.Play = play
	if perr != nil {
		return r, fmt.Errorf("ansible-playbook %s (exit %d): %w\n%s", strings.Join(argv, " "), r.Exit, perr, tail(out, 80))
	}
	return r, nil
}

var (
	taskRe   = regexp.MustCompile(`^(?:TASK|RUNNING HANDLER) \[(.*)\] \*+$`)
	resultRe = regexp.MustCompile(`^(ok|changed|skipping|fatal|failed): \[([^\]]+)\](.*)$`)
	recapRe  = regexp.MustCompile(`^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)\s*$`)
)

// ParsePlay reads the default callback's output. A run without a PLAY
// RECAP (ansible-playbook stopped before any play) is an error.
func ParsePlay(out string) (Play, error) {
	p := Play{Recap: map[string]HostRecap{}, Fatal: map[string][]TaskResult{}}
	task := ""
	inRecap := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "PLAY RECAP ") {
			inRecap = true
			continue
		}
		if m := taskRe.FindStringSubmatch(line); m != nil {
			task, inRecap = m[1], false
			continue
		}
		if inRecap {
			if m := recapRe.FindStringSubmatch(line); m != nil {
				n := make([]int, 7)
				for i := range n {
					n[i], _ = strconv.Atoi(m[i+2])
				}
				p.Recap[m[1]] = HostRecap{n[0], n[1], n[2], n[3], n[4], n[5], n[6]}
			}
			continue
		}
		m := resultRe.FindStringSubmatch(line)
		if m == nil || task == "" {
			continue
		}
		r := TaskResult{Task: task, Host: m[2], Status: m[1]}
		if r.Status == "fatal" || r.Status == "failed" {
			// "fatal: [h]: FAILED! => {...}", "failed: [h] (item=x) => {...}":
			// the result is one line of JSON.
			if _, doc, ok := strings.Cut(m[3], "=> {"); ok {
				var res struct {
					Msg string `json:"msg"`
				}
				if json.Unmarshal([]byte("{"+doc), &res) == nil {
					r.Msg = res.Msg
				} else {
					r.Msg = "{" + doc
				}
			}
			p.Fatal[r.Host] = append(p.Fatal[r.Host], r)
		}
		p.Results = append(p.Results, r)
	}
	if err := sc.Err(); err != nil {
		return p, err
	}
	if len(p.Recap) == 0 {
		return p, errors.New("no PLAY RECAP in ansible-playbook's output")
	}
	return p, nil
}

// Outcomes lists host's statuses for the tasks whose name ends with task
// (the role's prefix "photonctl : " may be left out), in order.
func (p Play) Outcomes(host, task string) []string {
	var out []string
	for _, r := range p.Results {
		if r.Host == host && (r.Task == task || strings.HasSuffix(r.Task, " : "+task)) {
			out = append(out, r.Status)
		}
	}
	return out
}
