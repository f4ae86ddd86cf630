package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/photonctl/photonctl/pkg/engine"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printPlan shows what setup found and would do, before it does it.
func printPlan(w io.Writer, r *engine.Report, verbose bool) {
	fmt.Fprintln(w, "Plan:")
	printSteps(w, r, verbose)
}

func printSteps(w io.Writer, r *engine.Report, verbose bool) {
	for _, s := range r.Steps {
		fmt.Fprintf(w, "  %-10s %-16s %s\n", s.Name, s.Status, firstLine(s.Message))
		if s.Hint != "" {
			fmt.Fprintf(w, "      hint: %s\n", s.Hint)
		}
		if s.Status == engine.StatusOK && !verbose {
			continue
		}
		for _, c := range s.Changes {
			fmt.Fprintf(w, "      %s\n", c)
			if c.Before != "" || c.After != "" {
				fmt.Fprintf(w, "        - %s\n", orNone(c.Before))
				fmt.Fprintf(w, "        + %s\n", orNone(c.After))
			}
		}
		if rest := restLines(s.Message); rest != "" {
			fmt.Fprintf(w, "      %s\n", strings.ReplaceAll(rest, "\n", "\n      "))
		}
	}
}

func printSetupResult(w io.Writer, r *engine.Report, verbose bool) {
	if r.DryRun {
		if len(r.Finished) > 0 {
			fmt.Fprintf(w, "An interrupted run left step %s unfinished: the next setup finishes it first.\n", strings.Join(r.Finished, ", "))
		}
		fmt.Fprintln(w, "Plan (dry run: nothing was changed):")
		printSteps(w, r, verbose)
		if r.RebootRequired {
			fmt.Fprintln(w, "Applying this plan needs a reboot; photonctl setup carries on after it.")
		}
		return
	}
	if len(r.Resumed) > 0 {
		fmt.Fprintf(w, "Resumed after the reboot that %s asked for.\n", strings.Join(r.Resumed, ", "))
	}
	if len(r.Finished) > 0 {
		fmt.Fprintf(w, "Finished step %s, which an interrupted run left unfinished (its commands run again, its reboot recorded).\n", strings.Join(r.Finished, ", "))
	}
	if len(r.Removed) > 0 {
		fmt.Fprintf(w, "Removed %d temporary file(s) an interrupted run left", len(r.Removed))
		if verbose {
			fmt.Fprintf(w, ": %s", strings.Join(r.Removed, ", "))
		}
		fmt.Fprintln(w, ".")
	}
	fmt.Fprintln(w, "Result:")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "  %-10s %-16s %s\n", s.Name, s.Status, firstLine(s.Message))
		if s.Status == engine.StatusFailed || verbose {
			if rest := restLines(s.Message); rest != "" {
				fmt.Fprintf(w, "      %s\n", strings.ReplaceAll(rest, "\n", "\n      "))
			}
		}
	}
	if r.BackupID != "" {
		fmt.Fprintf(w, "Backups of the files replaced: photonctl rollback --id %s\n", r.BackupID)
	}
	if r.RebootRequired {
		fmt.Fprintln(w, "reboot, then run photonctl setup again")
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func restLines(s string) string {
	_, r, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(r)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
