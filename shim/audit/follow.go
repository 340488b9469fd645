package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// DefaultInterval is how often a Follower looks for new lines.
const DefaultInterval = 200 * time.Millisecond

// Follower tails the logs in a directory: new lines in the files there,
// and files that appear later. It polls, which works on every platform
// and for every file system; the interval bounds the delay.
type Follower struct {
	Dir    string
	Filter Filter
	// Interval between looks; DefaultInterval when zero.
	Interval time.Duration
	// FromEnd skips what the files hold when Run starts.
	FromEnd bool
	// OnBad, if set, is told of each line that is not a record.
	OnBad func(BadLine)

	files map[string]*tailState
}

// tailState is how far a Follower has read one file.
type tailState struct {
	info     os.FileInfo
	offset   int64  // bytes consumed, pending included
	pending  []byte // the start of a line whose newline has not come yet
	skipping bool   // inside a line longer than MaxLine
	line     int    // lines seen
}

// Run calls fn with each record the filter selects: first those the
// files already hold (unless FromEnd), ordered by time, then the new
// ones, in time order within each look. It returns when ctx is done (with
// nil), when fn returns an error (with it), or when the directory cannot
// be read. A directory that does not exist yet is waited for.
func (fl *Follower) Run(ctx context.Context, fn func(Entry) error) error {
	interval := fl.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	fl.files = map[string]*tailState{}
	if err := fl.poll(fn, fl.FromEnd); err != nil {
		return err
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := fl.poll(fn, false); err != nil {
				return err
			}
		}
	}
}

// poll reads what is new in every file and hands the selected records to
// fn; skip consumes without handing anything on.
func (fl *Follower) poll(fn func(Entry) error, skip bool) error {
	paths, err := LogFiles(fl.Dir)
	if err != nil {
		return err
	}
	var batch []Entry
	seen := make(map[string]bool, len(paths))
	for _, p := range paths {
		seen[p] = true
		got, err := fl.readNew(p, skip)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed between listing and opening
			}
			return err
		}
		batch = append(batch, got...)
	}
	for p := range fl.files {
		if !seen[p] {
			delete(fl.files, p)
		}
	}
	slices.SortStableFunc(batch, func(a, b Entry) int { return a.Record.TS.Compare(b.Record.TS) })
	for _, e := range batch {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// readNew reads path from where the last look stopped.
func (fl *Follower) readNew(path string, skip bool) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	st := fl.files[path]
	if st == nil || !os.SameFile(st.info, info) || info.Size() < st.offset {
		// New, replaced or truncated: start from the beginning.
		st = &tailState{}
		fl.files[path] = st
	}
	st.info = info
	if info.Size() == st.offset {
		return nil, nil
	}
	if _, err := f.Seek(st.offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, info.Size()-st.offset))
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	st.offset += int64(len(data))
	var out []Entry
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if !st.skipping {
				st.pending = append(st.pending, data...)
				if len(st.pending) > MaxLine {
					st.pending, st.skipping = nil, true
				}
			}
			break
		}
		chunk := data[:i]
		data = data[i+1:]
		st.line++
		if st.skipping {
			st.skipping = false
			fl.bad(BadLine{File: path, Line: st.line, Err: fmt.Errorf("line longer than %d bytes", MaxLine)})
			continue
		}
		line := chunk
		if len(st.pending) > 0 {
			line = append(st.pending, chunk...)
			st.pending = nil
		}
		if skip || len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(line) > MaxLine {
			fl.bad(BadLine{File: path, Line: st.line, Err: fmt.Errorf("line longer than %d bytes", MaxLine)})
			continue
		}
		e, keep, err := decodeLine(path, st.line, line, fl.Filter)
		if err != nil {
			fl.bad(BadLine{File: path, Line: st.line, Err: err})
		}
		if keep {
			out = append(out, e)
		}
	}
	return out, nil
}

func (fl *Follower) bad(b BadLine) {
	if fl.OnBad != nil {
		fl.OnBad(b)
	}
}
