package seatbelt

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Denial is one refusal that Seatbelt logged for a session: what the
// kernel's message says, and which rule of the session's profile refused
// it (from the message the rule carries, DenyMessage).
type Denial struct {
	// Time is when the log recorded it; zero if the line had no readable
	// timestamp.
	Time time.Time
	// PID and Process are the process that made the attempt and its
	// name as the kernel knows it (the executable's base name, possibly
	// truncated). The name is the sandbox's choice: only a label.
	PID     int
	Process string
	// Operation is Seatbelt's name of what was attempted, e.g.
	// file-read-data, file-write-create, file-write-unlink,
	// network-outbound, process-exec, mach-lookup, signal. "" when the
	// message could not be split unambiguously: Target then holds its
	// whole text after "Sandbox: ".
	Operation string
	// Target is what the operation was applied to: a path, host:port, a
	// unix socket's path, a service name, "" for none.
	Target string
	// Rule is the index in Profile.Rules of the rule that refused it, -1
	// when the message was the session's bare tag.
	Rule int
	// Repeats is how many attempts the line stands for: 1, or N when the
	// kernel folded repeats into "N duplicate reports for …".
	Repeats int
}

// logRecord is the part of one `log stream --style ndjson` record that the
// parser reads.
type logRecord struct {
	Timestamp        string `json:"timestamp"`
	EventMessage     string `json:"eventMessage"`
	EventType        string `json:"eventType"`
	ProcessID        *int64 `json:"processID"`
	ProcessImagePath string `json:"processImagePath"`
	SenderImagePath  string `json:"senderImagePath"`
}

// logTimeLayout is the timestamp of `log stream --style ndjson`, e.g.
// "2026-03-02 14:05:09.123456-0800".
const logTimeLayout = "2006-01-02 15:04:05.999999-0700"

// maxNameLen is the longest process name the kernel writes into a
// message (p_name: 2×MAXCOMLEN); the name is always the message's first
// field, so the real split lies within it of the start.
const maxNameLen = 32

// ParseLogLine parses one line of `log stream --style ndjson` output. It
// returns ok only for a Seatbelt denial that the kernel logged with a
// message of this session's tag (tag itself, or DenyMessage(tag, i)):
// any other line — the stream's banner, another session's denials, a
// process's own log messages, malformed or truncated JSON — is not one.
//
// The record must come from the kernel (process 0, /kernel): a process
// in the sandbox may write to the log too, and could know the tag, but
// cannot log as the kernel.
func ParseLogLine(line []byte, tag string) (Denial, bool) {
	line = bytes.TrimSpace(line)
	if tag == "" || len(line) == 0 || line[0] != '{' {
		return Denial{}, false
	}
	var rec logRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return Denial{}, false
	}
	if rec.EventType != "" && rec.EventType != "logEvent" {
		return Denial{}, false
	}
	if rec.ProcessID == nil || *rec.ProcessID != 0 ||
		rec.ProcessImagePath != "" && rec.ProcessImagePath != "/kernel" {
		return Denial{}, false
	}
	d, ok := ParseMessage(rec.EventMessage, tag)
	if !ok {
		return Denial{}, false
	}
	if t, err := time.Parse(logTimeLayout, rec.Timestamp); err == nil {
		d.Time = t
	}
	return d, true
}

// ParseMessage parses the text of a Seatbelt denial, as the kernel logs
// it: "Sandbox: NAME(PID) deny(N) OPERATION [TARGET]", possibly preceded
// by "K duplicate reports for ", and followed by a line with the
// message of the rule that refused it, which must be of this session's
// tag.
func ParseMessage(msg, tag string) (Denial, bool) {
	nl := strings.LastIndexByte(msg, '\n')
	if nl < 0 || tag == "" {
		return Denial{}, false
	}
	body, note := msg[:nl], strings.TrimSuffix(msg[nl+1:], "\r")
	d := Denial{Rule: -1, Repeats: 1}
	if note != tag {
		i, ok := RuleIndex(tag, note)
		if !ok {
			return Denial{}, false
		}
		d.Rule = i
	}
	if n, rest, ok := duplicates(body); ok {
		d.Repeats, body = n, rest
	}
	body, ok := strings.CutPrefix(body, "Sandbox: ")
	if !ok {
		return Denial{}, false
	}
	splits := candidateSplits(body)
	switch len(splits) {
	case 0:
		return Denial{}, false
	case 1:
		s := splits[0]
		d.Process, d.PID, d.Operation, d.Target = s.name, s.pid, s.op, s.target
	default:
		// The name (the sandbox's choice) or the target (also its
		// choice) imitates the kernel's fields: report the text whole
		// rather than guess which part is which.
		d.Target = body
	}
	return d, true
}

// duplicates splits "K duplicate reports for REST".
func duplicates(body string) (int, string, bool) {
	num, rest, ok := strings.Cut(body, " duplicate reports for ")
	if !ok || !allDigits(num) || len(num) > 9 {
		return 0, body, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 {
		return 0, body, false
	}
	return n, rest, true
}

// split is one reading of a message's body.
type split struct {
	name   string
	pid    int
	op     string
	target string
}

// candidateSplits returns every reading of body ("NAME(PID) deny(N) OP
// [TARGET]") whose name fits the kernel's bound and whose operation is a
// Seatbelt operation's name. The kernel's own reading is among them;
// there is more than one only when the name or target imitates it.
func candidateSplits(body string) []split {
	var out []split
	for from := 0; ; {
		i := strings.Index(body[from:], " deny(")
		if i < 0 {
			break
		}
		i += from
		from = i + 1
		head := body[:i] // NAME(PID)
		if !strings.HasSuffix(head, ")") {
			continue
		}
		open := strings.LastIndexByte(head, '(')
		if open <= 0 || open > maxNameLen {
			continue
		}
		pidText := head[open+1 : len(head)-1]
		if !allDigits(pidText) || len(pidText) > 9 {
			continue
		}
		pid, _ := strconv.Atoi(pidText)
		rest := body[i+len(" deny("):]
		count, rest, ok := strings.Cut(rest, ") ")
		if !ok || !allDigits(count) {
			continue
		}
		op, target, _ := strings.Cut(rest, " ")
		if !isOperation(op) {
			continue
		}
		out = append(out, split{name: head[:open], pid: pid, op: op, target: target})
	}
	return out
}

// isOperation says whether op has the shape of a Seatbelt operation's
// name: lower-case words joined by '-', at least two of them, optionally
// ending in '*' (file-read-data, network-outbound, process-exec*,
// mach-lookup), or one of the few one-word ones.
func isOperation(op string) bool {
	switch op {
	case "signal", "default", "sysctl", "syscall":
		return true
	}
	op = strings.TrimSuffix(op, "*")
	words := strings.Split(op, "-")
	if len(words) < 2 || len(op) > 48 {
		return false
	}
	for _, w := range words {
		if w == "" {
			return false
		}
		for _, c := range w {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
