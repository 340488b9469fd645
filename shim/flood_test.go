package shim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbshim/sbshim/isolation"
	"github.com/sbshim/sbshim/isolation/policy"
	"github.com/sbshim/sbshim/shim/audit"
)

// floodSession is reportSession with an audit log; it returns the log's
// path.
func floodSession(t *testing.T) (s *Session, stderr *syncBuffer, log string) {
	t.Helper()
	s, _, stderr = reportSession(t, policy.ReportPolicy{Stderr: true, Notify: true})
	log = filepath.Join(t.TempDir(), "flood.jsonl")
	w, err := audit.Open(log, "flood", "S")
	if err != nil {
		t.Fatal(err)
	}
	s.audit = w
	return s, stderr, log
}

// readLog returns the records of the log at path, as generic JSON.
func readLog(t *testing.T, path string) (recs []map[string]any, size int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs, fi.Size()
}

// num is a JSON number field as an int (0 when absent).
func num(r map[string]any, k string) int {
	f, _ := r[k].(float64)
	return int(f)
}

// floodCounts tallies a log: blocked records, the attempts they stand for,
// the attempts blocked_summary records count, and the session_end record.
type floodCounts struct {
	blocked, listed, summaries, unlisted int
	byOp                                 map[string]int
	end                                  map[string]any
}

func tally(recs []map[string]any) floodCounts {
	c := floodCounts{byOp: map[string]int{}}
	for _, r := range recs {
		switch r["type"] {
		case "blocked":
			c.blocked++
			c.listed += max(num(r, "count"), 1)
		case "blocked_summary":
			c.summaries++
			c.unlisted += num(r, "count")
			ops, _ := r["by_op"].(map[string]any)
			for op, n := range ops {
				c.byOp[op] += int(n.(float64))
			}
		case "session_end":
			c.end = r
		}
	}
	return c
}

// A flood of distinct blocked attempts — 20,000 file names — does not
// flood the audit log or stderr: past the session's limits the attempts
// are counted, and blocked_summary records and session_end say how many
// were not listed. Nothing is lost from the totals.
func TestFloodIsCappedAndSummarised(t *testing.T) {
	const n = 20000
	s, stderr, log := floodSession(t)
	for i := range n {
		s.rep.event(isolation.Event{Kind: "file", Op: "read", Target: fmt.Sprintf("/home/me/.ssh/%0200d", i),
			Exe: "/usr/bin/node", PID: 42, Rule: "filesystem.denyRead ~/.ssh"})
	}
	s.finish(0)
	recs, size := readLog(t, log)
	c := tally(recs)
	if c.blocked > blockedPerSession {
		t.Errorf("%d blocked records for %d attempts, want at most %d", c.blocked, n, blockedPerSession)
	}
	if size > 2<<20 {
		t.Errorf("the audit log grew to %d bytes for %d attempts", size, n)
	}
	if c.listed+c.unlisted != n {
		t.Errorf("%d attempts listed and %d counted in summaries, want %d in all", c.listed, c.unlisted, n)
	}
	if c.summaries == 0 || c.byOp["file read"] != c.unlisted {
		t.Errorf("%d summaries, by_op %v, %d unlisted", c.summaries, c.byOp, c.unlisted)
	}
	if c.end == nil || num(c.end, "blocked") != n || num(c.end, "dropped") != c.unlisted {
		t.Errorf("session_end %v, want blocked %d dropped %d", c.end, n, c.unlisted)
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if len(lines) > blockedPerSession+3 {
		t.Errorf("%d stderr lines for %d attempts", len(lines), n)
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, fmt.Sprintf("%d more blocked attempts not listed one by one: %d file read", c.unlisted, c.unlisted)) {
		t.Errorf("last stderr line %q", last)
	}
}

// One class of attempt (kind, op, rule, tool) gets blockedPerClass
// records; another class still gets its own. Repeats of an attempt
// already listed are totals, not new records.
func TestFloodPerClass(t *testing.T) {
	s, _, log := floodSession(t)
	for i := range 3 * blockedPerClass {
		s.rep.event(isolation.Event{Kind: "file", Op: "read", Target: fmt.Sprintf("/home/me/.ssh/k%d", i), Rule: "filesystem.denyRead ~/.ssh"})
	}
	for i := range 20 {
		s.rep.event(isolation.Event{Kind: "net", Op: "connect", Target: fmt.Sprintf("h%d.example:443", i), Rule: "network.allow"})
		s.rep.event(isolation.Event{Kind: "net", Op: "connect", Target: fmt.Sprintf("h%d.example:443", i), Rule: "network.allow"})
	}
	s.finish(0)
	recs, _ := readLog(t, log)
	perOp := map[string]int{}
	for _, r := range recs {
		if r["type"] == "blocked" {
			perOp[r["op"].(string)]++
		}
	}
	// Each of the 20 hosts: its first attempt, and one total of its repeat.
	if perOp["read"] != blockedPerClass || perOp["connect"] != 40 {
		t.Errorf("blocked records per op %v, want read %d, connect 40", perOp, blockedPerClass)
	}
	c := tally(recs)
	if c.unlisted != 2*blockedPerClass || c.byOp["file read"] != 2*blockedPerClass || c.byOp["net connect"] != 0 {
		t.Errorf("summaries count %d (%v), want %d file read", c.unlisted, c.byOp, 2*blockedPerClass)
	}
}

// A flood of allowed connections to distinct destinations (an allow rule
// with a wildcard admits any number of names) is logged one by one only
// up to connectionRecords; the counts per destination stay whole but
// bounded in size.
func TestFloodConnections(t *testing.T) {
	const n = 5000
	s, _, log := floodSession(t)
	s.pol.Audit.Connections = true
	for i := range n {
		s.rep.connected(isolation.Event{Kind: "net", Op: "connect", Target: fmt.Sprintf("h%d.example.com:443", i), Rule: "network.allow *.example.com"})
	}
	s.finish(0)
	recs, size := readLog(t, log)
	conns, counted := 0, 0
	var end map[string]any
	for _, r := range recs {
		switch r["type"] {
		case "connection":
			conns++
		case "session_end":
			end = r
		}
	}
	net, _ := end["net"].(map[string]any)
	for _, v := range net {
		counted += int(v.(float64))
	}
	if conns > connectionRecords || len(net) > netKeys+1 || counted != n {
		t.Errorf("%d connection records, session_end counts %d connections under %d destinations (%d bytes of log)", conns, counted, len(net), size)
	}
}
