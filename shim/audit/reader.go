package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// MaxLine is the longest line the readers parse; a longer one is counted
// as bad and skipped.
const MaxLine = 16 << 20

// recordStart is how every line the Writer writes begins: zap puts the
// time key first.
var recordStart = []byte(`{"ts":`)

// ParseLine decodes one line (without its newline) into a Record. A line
// must be a JSON object with a "ts" time and a "type".
func ParseLine(line []byte) (Record, error) {
	var r Record
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return r, errors.New("not a JSON object")
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return Record{}, err
	}
	if r.Type == "" {
		return Record{}, errors.New(`no "type"`)
	}
	if r.TS.IsZero() {
		return Record{}, errors.New(`no "ts"`)
	}
	r.restoreBytes()
	return r, nil
}

// parseRecovering parses line; when that fails and a whole record starts
// later on the line (the tail of a torn write followed by the next
// record), it returns that record with recovered set.
func parseRecovering(line []byte) (r Record, recovered bool, err error) {
	r, err = ParseLine(line)
	if err == nil {
		return r, false, nil
	}
	for i := bytes.LastIndex(line, recordStart); i > 0; i = bytes.LastIndex(line[:i], recordStart) {
		if r2, err2 := ParseLine(line[i:]); err2 == nil {
			return r2, true, nil
		}
	}
	return Record{}, false, err
}

// Filter selects records. Zero fields select everything.
type Filter struct {
	// Server matches the record's server name, or the file name made of
	// it (SafeName).
	Server string
	// Tool matches a record whose tools include it ("-" for records made
	// while no call was in flight).
	Tool string
	// Session matches the session id exactly.
	Session string
	// Since keeps records at or after this time.
	Since time.Time
	// Types keeps only these record types.
	Types []string
}

// Match reports whether f selects r.
func (f Filter) Match(r Record) bool {
	if f.Server != "" && r.Server != f.Server && SafeName(r.Server) != SafeName(f.Server) {
		return false
	}
	if f.Tool != "" && !r.Tool.Has(f.Tool) {
		return false
	}
	if f.Session != "" && r.Session != f.Session {
		return false
	}
	if !f.Since.IsZero() && r.TS.Before(f.Since) {
		return false
	}
	if len(f.Types) > 0 && !slices.Contains(f.Types, r.Type) {
		return false
	}
	return true
}

// Entry is one record read from a log, with the line it came from.
type Entry struct {
	Record Record
	// Raw is the line, without its newline, as it is in the file (for a
	// recovered record, from where the record starts).
	Raw  []byte
	File string
	Line int
}

// BadLine says where a line that is not a record is, and why.
type BadLine struct {
	File string
	Line int
	Err  error
}

func (b BadLine) String() string { return fmt.Sprintf("%s:%d: %v", b.File, b.Line, b.Err) }

// maxBadKept bounds Log.BadLines; Log.Bad counts them all.
const maxBadKept = 20

// Log is what was read from one or more files.
type Log struct {
	// Files are the files read, in the order read.
	Files []string
	// Entries are the records the filter kept, ordered by time (stable:
	// lines with the same time keep their file order).
	Entries []Entry
	// Bad counts lines that were not records; BadLines details the first
	// few.
	Bad      int
	BadLines []BadLine
}

// Records returns the records of the entries.
func (l *Log) Records() []Record {
	out := make([]Record, len(l.Entries))
	for i, e := range l.Entries {
		out[i] = e.Record
	}
	return out
}

func (l *Log) bad(file string, line int, err error) {
	l.Bad++
	if len(l.BadLines) < maxBadKept {
		l.BadLines = append(l.BadLines, BadLine{File: file, Line: line, Err: err})
	}
}

// ReadDir reads every *.jsonl file in dir (sorted by name). A directory
// that does not exist is an empty log, not an error.
func ReadDir(dir string, f Filter) (*Log, error) {
	files, err := LogFiles(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{}
	for _, p := range files {
		if err := l.readFile(p, f); err != nil {
			return nil, err
		}
	}
	l.sort()
	return l, nil
}

// ReadFile reads one log file.
func ReadFile(path string, f Filter) (*Log, error) {
	l := &Log{}
	if err := l.readFile(path, f); err != nil {
		return nil, err
	}
	l.sort()
	return l, nil
}

// LogFiles lists the *.jsonl regular files in dir, sorted; none if dir
// does not exist.
func LogFiles(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit logs: %w", err)
	}
	var out []string
	for _, de := range des {
		if !strings.HasSuffix(de.Name(), Ext) || !de.Type().IsRegular() && de.Type()&fs.ModeSymlink == 0 {
			continue
		}
		out = append(out, filepath.Join(dir, de.Name()))
	}
	return out, nil
}

func (l *Log) readFile(path string, f Filter) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	defer fh.Close()
	l.Files = append(l.Files, path)
	err = scanLines(fh, func(n int, line []byte, tooLong bool) {
		l.add(path, n, line, tooLong, f)
	})
	if err != nil {
		return fmt.Errorf("audit log %s: %w", path, err)
	}
	return nil
}

// add parses line n of file and keeps the record if f selects it.
func (l *Log) add(file string, n int, line []byte, tooLong bool, f Filter) {
	if tooLong {
		l.bad(file, n, fmt.Errorf("line longer than %d bytes", MaxLine))
		return
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	e, keep, err := decodeLine(file, n, line, f)
	if err != nil {
		l.bad(file, n, err)
	}
	if keep {
		l.Entries = append(l.Entries, e)
	}
}

// decodeLine parses line n of file. keep says that it holds a record f
// selects; err, that the line is not a record, or is a torn line with a
// record after it (then the record may be kept too).
func decodeLine(file string, n int, line []byte, f Filter) (e Entry, keep bool, err error) {
	r, recovered, err := parseRecovering(line)
	if err != nil {
		return Entry{}, false, err
	}
	if recovered {
		err = errors.New("torn line before a record")
		line = line[bytes.LastIndex(line, recordStart):]
	}
	if !f.Match(r) {
		return Entry{}, false, err
	}
	return Entry{Record: r, Raw: bytes.Clone(line), File: file, Line: n}, true, err
}

func (l *Log) sort() {
	slices.SortStableFunc(l.Entries, func(a, b Entry) int { return a.Record.TS.Compare(b.Record.TS) })
}

// scanLines calls fn for each line of r, numbered from 1, without its
// newline; the last line is passed even without one. A line longer than
// MaxLine is skipped and reported with tooLong set.
func scanLines(r io.Reader, fn func(n int, line []byte, tooLong bool)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	n := 0
	skipping := false
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case err == bufio.ErrBufferFull:
			if !skipping {
				long = append(long, chunk...)
				if len(long) > MaxLine {
					skipping, long = true, nil
				}
			}
			continue
		case err != nil && err != io.EOF:
			return err
		}
		if len(chunk) > 0 || skipping || long != nil {
			n++
			line := bytes.TrimSuffix(chunk, []byte("\n"))
			if skipping {
				fn(n, nil, true)
			} else {
				if long != nil {
					line = append(long, line...)
				}
				if len(line) > MaxLine {
					fn(n, nil, true)
				} else {
					fn(n, line, false)
				}
			}
			skipping, long = false, nil
		}
		if err == io.EOF {
			return nil
		}
	}
}
