package audit

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// ToolSummary is what the records say about one tool of one server. Tool
// "-" collects what was blocked while no call was in flight.
type ToolSummary struct {
	Server string `json:"server"`
	Tool   string `json:"tool"`
	// Calls counts tool_call records, whatever their outcome.
	Calls int `json:"calls"`
	// Errors counts the outcomes tool_error and rpc_error.
	Errors     int `json:"errors"`
	Cancelled  int `json:"cancelled"`
	NoResponse int `json:"no_response"`
	// Blocked is the sum of the calls' blocked counts, plus the blocked
	// records that no single call accounts for: those made while no call
	// was in flight (under tool "-") and those attributed to several
	// tools (counted for each).
	Blocked int `json:"blocked"`
	// P50MS and P95MS are duration percentiles (nearest rank) over the
	// calls that got a response; 0 when there is none.
	P50MS float64 `json:"p50_ms"`
	P95MS float64 `json:"p95_ms"`
	// Net counts connections to allowed destinations ("host:port").
	Net map[string]int `json:"net,omitempty"`
	// Refused counts refused network attempts by target.
	Refused map[string]int `json:"refused,omitempty"`
}

// Summary condenses a set of records.
type Summary struct {
	Tools    []ToolSummary `json:"tools"`
	Sessions int           `json:"sessions"`
	Records  int           `json:"records"`
	// Dropped counts the blocked attempts that blocked_summary records
	// count instead of listing them one by one (they are in the tools'
	// Blocked all the same).
	Dropped int `json:"dropped"`
	// BadLines is carried over from the Log by the caller.
	BadLines int `json:"bad_lines"`
	// StartFailures lists, per server, the sessions whose command never
	// started (start_failed records), sorted by server.
	StartFailures []StartFailure `json:"start_failures,omitempty"`
}

// StartFailure is what the records say about one server's failed starts:
// how many, and the last one's time, exit status and error.
type StartFailure struct {
	Server   string    `json:"server"`
	Count    int       `json:"count"`
	Last     time.Time `json:"last"`
	ExitCode int       `json:"exit_code"`
	Error    string    `json:"error"`
}

type toolKey struct{ server, tool string }

// Summarize condenses records into one ToolSummary per (server, tool),
// sorted by server, then tool.
func Summarize(recs []Record) Summary {
	acc := map[toolKey]*ToolSummary{}
	durations := map[toolKey][]float64{}
	sessions := map[[2]string]bool{}
	dropped := 0
	failed := map[string]*StartFailure{}
	get := func(server, tool string) *ToolSummary {
		k := toolKey{server, tool}
		ts := acc[k]
		if ts == nil {
			ts = &ToolSummary{Server: server, Tool: tool}
			acc[k] = ts
		}
		return ts
	}
	for _, r := range recs {
		if r.Session != "" {
			sessions[[2]string{r.Server, r.Session}] = true
		}
		switch r.Type {
		case TypeToolCall:
			name := NoTool
			if len(r.Tool) > 0 {
				name = r.Tool.String()
			}
			ts := get(r.Server, name)
			ts.Calls++
			switch r.Outcome {
			case OutcomeToolError, OutcomeRPCError:
				ts.Errors++
			case OutcomeCancelled:
				ts.Cancelled++
			case OutcomeNoResponse:
				ts.NoResponse++
			}
			if r.Outcome != OutcomeNoResponse && r.DurationMS >= 0 && !math.IsNaN(r.DurationMS) {
				k := toolKey{r.Server, name}
				durations[k] = append(durations[k], r.DurationMS)
			}
			ts.Blocked += max(r.Blocked, 0)
			for dest, n := range r.Net {
				if ts.Net == nil {
					ts.Net = map[string]int{}
				}
				ts.Net[dest] += n
			}
		case TypeSessionEnd:
			// Connections made while no call was in flight.
			if len(r.Net) > 0 {
				ts := get(r.Server, NoTool)
				if ts.Net == nil {
					ts.Net = map[string]int{}
				}
				for dest, n := range r.Net {
					ts.Net[dest] += n
				}
			}
		case TypeStartFailed:
			f := failed[r.Server]
			if f == nil {
				f = &StartFailure{Server: r.Server}
				failed[r.Server] = f
			}
			f.Count++
			if !r.TS.Before(f.Last) {
				f.Last, f.Error, f.ExitCode = r.TS, r.Error, 0
				if r.ExitCode != nil {
					f.ExitCode = *r.ExitCode
				}
			}
		case TypeBlockedSummary:
			dropped += max(r.Count, 0)
			// Calls count their own blocks in their tool_call
			// records; only attempts outside any call are added.
			if n := r.ByTool[NoTool]; n > 0 {
				get(r.Server, NoTool).Blocked += n
			}
		case TypeBlocked:
			tools := r.Tool
			if len(tools) == 0 {
				tools = Tools{NoTool}
			}
			for _, name := range tools {
				ts := get(r.Server, name)
				// Each call's own tool_call record counts what was
				// blocked during it (an attempt during several calls
				// counts for each); only attempts outside any call are
				// counted here.
				if name == NoTool {
					ts.Blocked += r.Times()
				}
				if r.Kind == "net" && r.Target != "" {
					if ts.Refused == nil {
						ts.Refused = map[string]int{}
					}
					ts.Refused[r.Target] += r.Times()
				}
			}
		}
	}
	s := Summary{Records: len(recs), Sessions: len(sessions), Dropped: dropped, Tools: make([]ToolSummary, 0, len(acc))}
	for k, ts := range acc {
		d := durations[k]
		slices.Sort(d)
		ts.P50MS, ts.P95MS = Percentile(d, 50), Percentile(d, 95)
		s.Tools = append(s.Tools, *ts)
	}
	slices.SortFunc(s.Tools, func(a, b ToolSummary) int {
		return cmp.Or(cmp.Compare(a.Server, b.Server), cmp.Compare(a.Tool, b.Tool))
	})
	for _, f := range failed {
		s.StartFailures = append(s.StartFailures, *f)
	}
	slices.SortFunc(s.StartFailures, func(a, b StartFailure) int { return cmp.Compare(a.Server, b.Server) })
	return s
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted,
// an ascending slice: the smallest value with at least p% of the values
// at or below it. It is 0 for an empty slice.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted)) / 100))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
