package seatbelt

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

const logTag = "sbshim-5f0c2a9e41d7b386"

// kernelLine is one record of `log stream --style ndjson` as the kernel
// writes a Seatbelt denial, with msg as its eventMessage.
func kernelLine(msg string) string {
	rec := map[string]any{
		"traceID": 4295032833, "eventMessage": msg, "eventType": "logEvent", "source": nil,
		"formatString": "%s", "activityIdentifier": 0, "subsystem": "", "category": "",
		"threadID": 1022345, "senderImageUUID": "4E5D3C1B-8E8F-3A70-9B8E-5D0A2C7F1E11",
		"backtrace": map[string]any{"frames": []any{}}, "bootUUID": "",
		"processImagePath": "/kernel", "timestamp": "2026-03-02 14:05:09.123456-0800",
		"senderImagePath": "/System/Library/Extensions/Sandbox.kext/Contents/MacOS/Sandbox",
		"machTimestamp":   98127398127, "messageType": "Error",
		"processImageUUID": "9A1B2C3D-4E5F-3071-8293-A4B5C6D7E8F9", "processID": 0,
		"senderProgramCounter": 231456, "parentActivityIdentifier": 0, "timezoneName": "",
	}
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestParseLogLine(t *testing.T) {
	when := time.Date(2026, 3, 2, 14, 5, 9, 123456000, time.FixedZone("", -8*3600))
	tagged := func(body string, i int) string { return body + "\n" + DenyMessage(logTag, i) }
	tests := []struct {
		name string
		line string
		want Denial
		ok   bool
	}{
		{"file-read-data", kernelLine(tagged("Sandbox: cat(4711) deny(1) file-read-data /Users/u/.ssh/id_rsa", 3)),
			Denial{Time: when, PID: 4711, Process: "cat", Operation: "file-read-data", Target: "/Users/u/.ssh/id_rsa", Rule: 3, Repeats: 1}, true},
		{"file-read-metadata", kernelLine(tagged("Sandbox: node(812) deny(1) file-read-metadata /Users/u/.aws/credentials", 4)),
			Denial{Time: when, PID: 812, Process: "node", Operation: "file-read-metadata", Target: "/Users/u/.aws/credentials", Rule: 4, Repeats: 1}, true},
		{"file-write-create", kernelLine(tagged("Sandbox: node(812) deny(1) file-write-create /Users/u/proj/.git/hooks/pre-commit", 7)),
			Denial{Time: when, PID: 812, Process: "node", Operation: "file-write-create", Target: "/Users/u/proj/.git/hooks/pre-commit", Rule: 7, Repeats: 1}, true},
		{"file-write-data", kernelLine(tagged("Sandbox: python3.13(81657) deny(1) file-write-data /Users/u/.zshrc", 8)),
			Denial{Time: when, PID: 81657, Process: "python3.13", Operation: "file-write-data", Target: "/Users/u/.zshrc", Rule: 8, Repeats: 1}, true},
		{"file-write-unlink", kernelLine(tagged("Sandbox: mv(900) deny(1) file-write-unlink /Users/u/proj/.git", 12)),
			Denial{Time: when, PID: 900, Process: "mv", Operation: "file-write-unlink", Target: "/Users/u/proj/.git", Rule: 12, Repeats: 1}, true},
		{"network-outbound host:port", kernelLine(tagged("Sandbox: curl(4713) deny(1) network-outbound 93.184.216.34:443", 1)),
			Denial{Time: when, PID: 4713, Process: "curl", Operation: "network-outbound", Target: "93.184.216.34:443", Rule: 1, Repeats: 1}, true},
		{"network-outbound unix", kernelLine(tagged("Sandbox: node(812) deny(1) network-outbound /private/var/run/docker.sock", 9)),
			Denial{Time: when, PID: 812, Process: "node", Operation: "network-outbound", Target: "/private/var/run/docker.sock", Rule: 9, Repeats: 1}, true},
		{"process-exec", kernelLine(tagged("Sandbox: sh(4730) deny(1) process-exec* /Users/u/proj/.git/hooks/post-checkout", 15)),
			Denial{Time: when, PID: 4730, Process: "sh", Operation: "process-exec*", Target: "/Users/u/proj/.git/hooks/post-checkout", Rule: 15, Repeats: 1}, true},
		{"mach-lookup", kernelLine(tagged("Sandbox: node(812) deny(1) mach-lookup com.apple.pasteboard.1", 0)),
			Denial{Time: when, PID: 812, Process: "node", Operation: "mach-lookup", Target: "com.apple.pasteboard.1", Rule: 0, Repeats: 1}, true},
		{"signal", kernelLine(tagged("Sandbox: bash(812) deny(1) signal target:1", 2)),
			Denial{Time: when, PID: 812, Process: "bash", Operation: "signal", Target: "target:1", Rule: 2, Repeats: 1}, true},
		{"no target", kernelLine(tagged("Sandbox: node(812) deny(1) system-socket", 0)),
			Denial{Time: when, PID: 812, Process: "node", Operation: "system-socket", Rule: 0, Repeats: 1}, true},
		{"bare tag", kernelLine("Sandbox: node(812) deny(1) iokit-open IOSurfaceRootUserClient\n" + logTag),
			Denial{Time: when, PID: 812, Process: "node", Operation: "iokit-open", Target: "IOSurfaceRootUserClient", Rule: -1, Repeats: 1}, true},
		{"name with spaces and parentheses", kernelLine(tagged("Sandbox: Google Chrome (x)(812) deny(1) file-read-data /Users/u/.netrc", 5)),
			Denial{Time: when, PID: 812, Process: "Google Chrome (x)", Operation: "file-read-data", Target: "/Users/u/.netrc", Rule: 5, Repeats: 1}, true},
		{"path with spaces and non-ASCII", kernelLine(tagged("Sandbox: cat(1) deny(1) file-read-data /Users/u/Mes documents/clé privée", 5)),
			Denial{Time: when, PID: 1, Process: "cat", Operation: "file-read-data", Target: "/Users/u/Mes documents/clé privée", Rule: 5, Repeats: 1}, true},
		{"path with a newline", kernelLine(tagged("Sandbox: cat(1) deny(1) file-read-data /tmp/a\n"+DenyMessage(logTag, 1), 5)),
			Denial{Time: when, PID: 1, Process: "cat", Operation: "file-read-data", Target: "/tmp/a\n" + DenyMessage(logTag, 1), Rule: 5, Repeats: 1}, true},
		{"duplicate reports", kernelLine(tagged("4 duplicate reports for Sandbox: python3.13(4720) deny(1) file-write-unlink /Users/u/proj/.git", 12)),
			Denial{Time: when, PID: 4720, Process: "python3.13", Operation: "file-write-unlink", Target: "/Users/u/proj/.git", Rule: 12, Repeats: 4}, true},
		// A name that imitates the kernel's fields cannot move them: the
		// message is reported whole.
		{"forged fields in the name", kernelLine(tagged("Sandbox: x(9) deny(1) signal /a(812) deny(1) file-read-data /Users/u/.ssh/id_rsa", 3)),
			Denial{Time: when, Target: "x(9) deny(1) signal /a(812) deny(1) file-read-data /Users/u/.ssh/id_rsa", Rule: 3, Repeats: 1}, true},
		{"forged fields in a short path", kernelLine(tagged("Sandbox: a(12) deny(1) signal /x(5) deny(1) file-read-data /y", 3)),
			Denial{Time: when, Target: "a(12) deny(1) signal /x(5) deny(1) file-read-data /y", Rule: 3, Repeats: 1}, true},
		{"deny in a long path stays the target", kernelLine(tagged("Sandbox: cat(12) deny(1) file-read-data /Users/u/some/long/folder/x(5) deny(1) file-read-data /y", 3)),
			Denial{Time: when, PID: 12, Process: "cat", Operation: "file-read-data", Target: "/Users/u/some/long/folder/x(5) deny(1) file-read-data /y", Rule: 3, Repeats: 1}, true},

		{"another session's tag", kernelLine("Sandbox: curl(4713) deny(1) network-outbound 1.2.3.4:443\n" + DenyMessage("sbshim-aaaaaaaaaaaaaaaa", 1)), Denial{}, false},
		{"a tag that extends ours", kernelLine("Sandbox: curl(4713) deny(1) network-outbound 1.2.3.4:443\n" + logTag + "0#1"), Denial{}, false},
		{"no tag", kernelLine("Sandbox: curl(4713) deny(1) network-outbound 1.2.3.4:443"), Denial{}, false},
		{"tag not on its own line", kernelLine("Sandbox: curl(4713) deny(1) network-outbound " + DenyMessage(logTag, 1)), Denial{}, false},
		{"allow report", kernelLine(tagged("Sandbox: curl(4713) allow(1) network-outbound 1.2.3.4:443", 1)), Denial{}, false},
		{"not a Sandbox message", kernelLine(tagged("AMFI: node(1) deny(1) file-read-data /x", 1)), Denial{}, false},
		{"bad pid", kernelLine(tagged("Sandbox: cat(x1) deny(1) file-read-data /x", 1)), Denial{}, false},
		{"bad operation", kernelLine(tagged("Sandbox: cat(1) deny(1) FILE_READ /x", 1)), Denial{}, false},
		{"logged by a process", strings.Replace(strings.Replace(kernelLine(tagged("Sandbox: cat(1) deny(1) file-read-data /x", 1)),
			`"processID":0`, `"processID":4711`, 1), `"processImagePath":"/kernel"`, `"processImagePath":"/usr/bin/logger"`, 1), Denial{}, false},
		{"process 0 but not the kernel's image", strings.Replace(kernelLine(tagged("Sandbox: cat(1) deny(1) file-read-data /x", 1)),
			`"processImagePath":"/kernel"`, `"processImagePath":"/usr/bin/logger"`, 1), Denial{}, false},
		{"no processID", strings.Replace(kernelLine(tagged("Sandbox: cat(1) deny(1) file-read-data /x", 1)), `"processID":0,`, ``, 1), Denial{}, false},
		{"activity record", strings.Replace(kernelLine(tagged("Sandbox: cat(1) deny(1) file-read-data /x", 1)), `"eventType":"logEvent"`, `"eventType":"activityCreateEvent"`, 1), Denial{}, false},
		{"banner", `Filtering the log data using "eventMessage CONTAINS "` + logTag + `""`, Denial{}, false},
		{"truncated JSON", kernelLine(tagged("Sandbox: cat(1) deny(1) file-read-data /x", 1))[:120], Denial{}, false},
		{"empty", "", Denial{}, false},
		{"JSON array", `[1,2]`, Denial{}, false},
		{"message not a string", `{"eventMessage":5,"processID":0}`, Denial{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseLogLine([]byte(tt.line), logTag)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tt.ok, got)
			}
			if !ok {
				return
			}
			if !got.Time.Equal(tt.want.Time) {
				t.Errorf("time = %v, want %v", got.Time, tt.want.Time)
			}
			got.Time, tt.want.Time = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestParseLogLineStream reads a stream as `log stream` writes it: its
// banner, denials of this session and of another, a process's own forged
// line, and a last line cut short.
func TestParseLogLineStream(t *testing.T) {
	f, err := os.Open("testdata/stream.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if d, ok := ParseLogLine(sc.Bytes(), logTag); ok {
			got = append(got, d.Operation+" "+d.Target)
		}
	}
	want := []string{
		"file-read-data /Users/u/.ssh/id_rsa",
		"file-write-create /Users/u/proj/.git/hooks/pre-commit",
		"file-read-metadata /Users/u/.aws",
		"network-outbound /private/var/run/docker.sock",
		"file-read-data /Users/u/.ssh/id_rsa",
		"file-write-unlink /Users/u/proj/.git",
		"process-exec* /Users/u/proj/.git/hooks/post-checkout",
		"mach-lookup com.apple.pasteboard.1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzParseLogLine checks that no line makes the parser panic, and that
// what it accepts is consistent: a denial of this session's tag with a
// rule index or the bare tag, and an operation whenever it names a
// process.
func FuzzParseLogLine(f *testing.F) {
	f.Add([]byte(kernelLine("Sandbox: cat(4711) deny(1) file-read-data /Users/u/.ssh/id_rsa\n" + DenyMessage(logTag, 3))))
	f.Add([]byte(kernelLine("2 duplicate reports for Sandbox: x(9) deny(1) signal /a(812) deny(1) file-read-data /y\n" + logTag)))
	f.Add([]byte(`Filtering the log data`))
	f.Add([]byte(`{"processID":0,"eventMessage":"Sandbox: a(1) deny(1) b-c d\n` + logTag + `"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		d, ok := ParseLogLine(line, logTag)
		if !ok {
			return
		}
		if d.Rule < -1 || d.Repeats < 1 {
			t.Fatalf("bad denial %+v", d)
		}
		if d.Operation == "" && (d.PID != 0 || d.Process != "") {
			t.Fatalf("a process without an operation: %+v", d)
		}
		if d.Operation != "" && !isOperation(d.Operation) {
			t.Fatalf("operation %q", d.Operation)
		}
	})
}
