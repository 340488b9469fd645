package audit

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Writer appends records to one server's log. It is safe for concurrent
// use, and several processes may append to the same file at once: every
// write(2), to a file opened with O_APPEND, holds whole lines.
type Writer struct {
	mu      sync.Mutex
	f       *os.File
	enc     zapcore.Encoder
	batch   []byte // WriteAll's lines, reused
	path    string
	server  string
	session string
}

// Open opens (creating it 0600, and its directory 0700, if need be) the
// log at path for appending. Records written through the Writer carry
// server and session.
func Open(path, server, session string) (*Writer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &Writer{
		f:       f,
		enc:     newEncoder(),
		path:    path,
		server:  server,
		session: session,
	}, nil
}

// newEncoder is zap's JSON encoder with only a time key: "ts", RFC 3339
// with nanoseconds, in UTC. The record supplies every other field.
func newEncoder() zapcore.Encoder {
	return zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		TimeKey:    "ts",
		LineEnding: "\n",
		EncodeTime: func(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
			enc.AppendString(t.UTC().Format(time.RFC3339Nano))
		},
	})
}

// Path is the file the Writer appends to.
func (w *Writer) Path() string { return w.path }

// Write appends r as one line. It fills TS (with the current time, if
// zero), Server and Session. Layers must marshal to JSON; Arguments that
// are not valid JSON (cut by truncation) are written as a JSON string.
func (w *Writer) Write(r Record) error {
	return w.WriteAll([]Record{r})
}

// WriteAll appends recs, each as Write would, in one write(2): a burst of
// records costs one system call. A record that cannot be written fails
// the whole batch, and nothing is written.
func (w *Writer) WriteAll(recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("audit: write %s: %w", w.path, os.ErrClosed)
	}
	w.batch = w.batch[:0]
	for _, r := range recs {
		if r.Type == "" {
			return errors.New("audit: record without a type")
		}
		if r.TS.IsZero() {
			r.TS = time.Now()
		}
		r.Server, r.Session = w.server, w.session
		r.keepBytes()
		if r.Layers != nil {
			// zap would report a marshalling error inside the line;
			// check it here, once, and hand zap the finished text.
			b, err := json.Marshal(r.Layers)
			if err != nil {
				return fmt.Errorf("audit: layers: %w", err)
			}
			r.Layers = json.RawMessage(b)
		}
		buf, err := w.enc.EncodeEntry(zapcore.Entry{Time: r.TS}, []zap.Field{zap.Inline(r)})
		if err != nil {
			return fmt.Errorf("audit: write %s: %w", w.path, err)
		}
		w.batch = append(w.batch, SafeJSON(buf.Bytes())...)
		buf.Free()
	}
	_, err := w.f.Write(w.batch)
	if cap(w.batch) > maxBatch {
		w.batch = nil
	}
	if err != nil {
		return fmt.Errorf("audit: write %s: %w", w.path, err)
	}
	return nil
}

// maxBatch is the largest line buffer a Writer keeps between batches.
const maxBatch = 1 << 20

// Close closes the file. Later writes fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("audit: close %s: %w", w.path, err)
	}
	return nil
}

// NewSessionID returns a short session id that sorts by start time: the
// UTC time to the second and 32 random bits, e.g. "20261122T101500-4f3a9c1e".
func NewSessionID() string {
	return sessionID(time.Now())
}

func sessionID(t time.Time) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported systems; fall back to
		// the clock's nanoseconds rather than panic.
		n := t.Nanosecond()
		b = [4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return t.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}
