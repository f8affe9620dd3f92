// Package demo runs the real containment handler against an in-memory AWS
// seeded with a realistic victim, and shows what changed in that world.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/config"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// Account and Region of the demo world (those of the sample events).
const (
	Account = "123456789012"
	Region  = "us-east-1"
	// DefaultVictim is used when the first event names no valid instance.
	DefaultVictim = "i-0abc1234def567890"
)

// Load reads an event: a file path, or the name of a file in events/.
func Load(name string) ([]byte, error) {
	if b, err := os.ReadFile(name); err == nil {
		return b, nil
	}
	b, err := events.Load(strings.TrimPrefix(name, "events/"))
	if err != nil {
		return nil, fmt.Errorf("reading event %s: not a file, nor one of events/ (%s)", name, strings.Join(events.Names(), ", "))
	}
	return b, nil
}

// ForRelease reports whether an event goes to the release function: the
// files whose name says release (events.IsRelease).
func ForRelease(name string) bool { return events.IsRelease(filepath.Base(name)) }

// World seeds the demo world around the instance the first event names.
func World(first []byte) (*awsfake.World, awsfake.Demo) {
	victim := DefaultVictim
	if in, err := finding.Parse(first); err == nil && finding.ValidInstanceID(in.InstanceID()) {
		victim = in.InstanceID()
	} else if rel, err := finding.ParseRelease(first); err == nil {
		victim = rel.Targets[0]
	}
	w := awsfake.New(Account, Region)
	d := w.SeedDemo(victim)
	seedSecurityHub(w, first)
	return w, d
}

// Config is the handler configuration for the demo world: the environment's
// FIREBREAK_* settings, with the world's topic and bucket by default.
func Config(d awsfake.Demo, getenv func(string) string) (config.Config, error) {
	return config.FromEnv(func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		switch k {
		case contract.EnvTopicARN:
			return d.Topic
		case contract.EnvEvidenceBucket:
			return d.Bucket
		case "FIREBREAK_GUARD_TABLE":
			return d.GuardTable
		}
		return ""
	})
}

// prepare checks the format and reads the events (the default one when none is named).
func prepare(names []string, format string) ([]string, [][]byte, error) {
	if len(names) == 0 {
		names = []string{events.Default}
	}
	if format != "text" && format != "json" {
		return nil, nil, fmt.Errorf("FORMAT must be text or json, not %q", format)
	}
	raws := make([][]byte, len(names))
	for i, n := range names {
		b, err := Load(n)
		if err != nil {
			return nil, nil, err
		}
		raws[i] = b
	}
	return names, raws, nil
}

// Run processes the named events in order against one world and writes a
// summary per event (format "text") or one JSON report per line ("json").
func Run(ctx context.Context, names []string, format string, out io.Writer, log *slog.Logger) error {
	names, raws, err := prepare(names, format)
	if err != nil {
		return err
	}
	w, d := World(raws[0])
	cfg, err := Config(d, os.Getenv)
	if err != nil {
		return err
	}
	h := handler.New(cfg, awsfake.Factory{W: w}, log, handler.WithClock(w.Now))
	rel := handler.NewRelease(cfg, awsfake.Factory{W: w}, log, handler.WithClock(w.Now))
	if format == "text" {
		fmt.Fprintf(out, "Demo world: victim %s (2 interfaces, 2 volumes, in %s, %s, 2 target groups); bystander %s\n\n",
			d.Victim, d.ASG, d.ClassicLB, d.Bystander)
	}
	for i, raw := range raws {
		before := len(w.Published())
		handle := h.Handle
		if ForRelease(names[i]) {
			handle = rel.Handle
		}
		reports, err := handle(ctx, raw)
		if format == "json" {
			for _, r := range reports {
				b, _ := json.Marshal(r)
				fmt.Fprintln(out, string(b))
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", names[i], err)
			}
			continue
		}
		fmt.Fprintf(out, "== %s\n", names[i])
		if err != nil {
			fmt.Fprintf(out, "   handler error: %v\n", err)
		}
		for _, r := range reports {
			writeReport(out, r)
		}
		for _, m := range w.Published()[before:] {
			fmt.Fprintf(out, "   SNS: %q\n", m.Subject)
		}
		fmt.Fprintln(out)
	}
	if format == "text" {
		writeWorld(out, w, d)
	}
	return nil
}

func writeReport(out io.Writer, r *report.Report) {
	fmt.Fprintf(out, "   decision: %s  instance: %s  dry run: %v\n   reason:   %s\n", strings.ToUpper(string(r.Decision)), r.InstanceID, r.DryRun, r.Reason)
	if r.Finding != nil {
		fmt.Fprintf(out, "   finding:  %s (severity %g, role %q, count %d)\n", r.Finding.Type, r.Finding.Severity, r.Finding.ResourceRole, r.Finding.Count)
	}
	if x := r.Exfiltration; x != nil {
		fmt.Fprintf(out, "   for a person (never run by Firebreak), revoking every session of role %s: %s\n", x.Role, x.Suggested)
	}
	width := 11
	if r.Kind == report.KindRelease {
		width = 16
	}
	for _, s := range r.Steps {
		line := fmt.Sprintf("   %-*s %-14s %s", width, s.Name, s.Status, s.Detail)
		if s.Error != "" {
			line += " [" + s.Error + "]"
		}
		fmt.Fprintln(out, line)
	}
	if r.Evidence != nil {
		fmt.Fprintf(out, "   evidence: s3://%s/%s sha256 %s\n", r.Evidence.Bucket, r.Evidence.Key, r.Evidence.SHA256)
	}
	if g := r.Guard; g != nil {
		line := fmt.Sprintf("   guard:    %s (cap %d per %d min", g.Outcome, g.Cap, g.WindowMinutes)
		if g.Count != nil {
			line += fmt.Sprintf(", %d in the window", *g.Count)
		}
		line += ")"
		if g.Error != "" {
			line += " [" + g.Error + "]"
		}
		fmt.Fprintln(out, line)
	}
	if h := r.SecurityHub; h != nil {
		fmt.Fprintf(out, "   %-11s %-14s %s\n", "securityhub", h.Status, h.Detail)
	}
}

// writeWorld shows the state of the world, read from the fake, not from the reports.
func writeWorld(out io.Writer, w *awsfake.World, d awsfake.Demo) {
	fmt.Fprintln(out, "World after the events (read from the in-memory AWS):")
	for _, id := range d.VictimENIs {
		ni := w.NetworkInterface(id)
		var names []string
		for _, g := range ni.Groups {
			names = append(names, aws.ToString(g.GroupName))
		}
		fmt.Fprintf(out, "   victim %s groups: %s\n", id, strings.Join(names, ", "))
	}
	attrs := w.InstanceAttributes(d.Victim)
	fmt.Fprintf(out, "   victim termination protection: %v, shutdown behaviour: %s\n", attrs.DisableAPITermination, attrs.ShutdownBehavior)
	var tags []string
	for _, t := range w.Instance(d.Victim).Tags {
		if strings.HasPrefix(aws.ToString(t.Key), contract.TagPrefix) {
			tags = append(tags, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
		}
	}
	slices.Sort(tags)
	fmt.Fprintf(out, "   victim tags: %s\n", strings.Join(tags, " "))
	g := w.AutoScalingGroup(d.ASG)
	var members []string
	for _, in := range g.Instances {
		members = append(members, aws.ToString(in.InstanceId)+" ("+string(in.LifecycleState)+")")
	}
	fmt.Fprintf(out, "   %s: desired %d, members: %s\n", d.ASG, aws.ToInt32(g.DesiredCapacity), strings.Join(members, ", "))
	fmt.Fprintf(out, "   %s instances: %s\n", d.ClassicLB, strings.Join(w.ClassicLBInstances(d.ClassicLB), ", "))
	for _, tg := range []string{d.TargetGroup, d.IPTargetGroup} {
		var targets []string
		for _, t := range w.Targets(tg) {
			targets = append(targets, fmt.Sprintf("%s:%d (%s)", aws.ToString(t.Target.Id), aws.ToInt32(t.Target.Port), t.TargetHealth.State))
		}
		fmt.Fprintf(out, "   %s targets: %s\n", tg[strings.LastIndex(tg, ":")+1:], strings.Join(targets, ", "))
	}
	fmt.Fprintf(out, "   snapshots: %d, objects in the evidence bucket: %d, SNS messages: %d\n", len(w.Snapshots()), len(w.Objects()), len(w.Published()))
	writeSecurityHub(out, w)
	by := w.Instance(d.Bystander)
	var byGroups []string
	for _, g := range by.NetworkInterfaces[0].Groups {
		byGroups = append(byGroups, aws.ToString(g.GroupName))
	}
	fmt.Fprintf(out, "   bystander %s groups: %s (untouched)\n", d.Bystander, strings.Join(byGroups, ", "))
	writeCredentials(out, w, d)
	calls := w.Calls()
	total := 0
	for _, n := range calls {
		total += n
	}
	fmt.Fprintf(out, "   AWS calls: %d\n", total)
}

// writeCredentials shows what the deny does: a request signed with the
// victim's credentials (as copied off the instance) and one with the
// bystander's, which shares the role, each authorized against the role's policies.
func writeCredentials(out io.Writer, w *awsfake.World, d awsfake.Demo) {
	for _, who := range []struct{ name, id string }{{"victim", d.Victim}, {"bystander", d.Bystander}} {
		arn := fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", w.Region(), w.Account(), who.id)
		p := awsfake.Principal{Account: w.Account(), Role: d.Role, Session: who.id, SourceInstanceARN: arn}
		verdict := "allowed"
		if err := w.Authorize(p, "s3:GetObject"); err != nil {
			verdict = "DENIED (" + err.Error() + ")"
		}
		profile := "none"
		if ip := w.Instance(who.id).IamInstanceProfile; ip != nil {
			profile = aws.ToString(ip.Arn)
		}
		fmt.Fprintf(out, "   %s credentials (role %s, as copied off the instance): s3:GetObject %s; profile: %s\n", who.name, d.Role, verdict, profile)
	}
}
