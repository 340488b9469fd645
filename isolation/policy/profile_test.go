package policy

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseProfileErrors(t *testing.T) {
	const src = "/home/u/.config/sbshim/config.json"
	tests := []struct {
		name, in, want string
	}{
		{"bad mode", `{"network":{"mode":"nope"}}`,
			src + `: key "network.mode": got "nope", expected one of none, proxy, host`},
		{"unknown top key with suggestion", `{"filesytem":{}}`,
			src + `: key "filesytem": unknown key; did you mean "filesystem"? (valid keys here: description, filesystem, network, env, limits, report, audit, agent)`},
		{"unknown nested key", `{"network":{"allw":[]}}`,
			src + `: key "network.allw": unknown key; did you mean "network.allow"? (valid keys in "network": mode, allow, deny, allowPackageRegistries, allowUnixSockets)`},
		{"unknown key no suggestion", `{"audit":{"zzzzzzzzzz":true}}`,
			src + `: key "audit.zzzzzzzzzz": unknown key (valid keys in "audit": arguments, connections)`},
		{"case suggestion", `{"limits":{"tmpsizemb":1}}`,
			src + `: key "limits.tmpsizemb": unknown key; did you mean "limits.tmpSizeMB"? (valid keys in "limits": tmpSizeMB, pids, memoryMB)`},
		{"bool as string", `{"report":{"stderr":"yes"}}`,
			src + `: key "report.stderr": got "yes", expected true or false`},
		{"negative limit", `{"limits":{"pids":-1}}`,
			src + `: key "limits.pids": got -1, expected a whole number from 0 to 2147483647`},
		{"fractional limit", `{"limits":{"memoryMB":1.5}}`,
			src + `: key "limits.memoryMB": got 1.5, expected a whole number from 0 to 2147483647`},
		{"huge limit", `{"limits":{"tmpSizeMB":99999999999999999999}}`,
			src + `: key "limits.tmpSizeMB": got 99999999999999999999, expected a whole number from 0 to 2147483647`},
		{"list not list", `{"filesystem":{"denyRead":"~/.ssh"}}`,
			src + `: key "filesystem.denyRead": got "~/.ssh", expected a list of strings`},
		{"list element type", `{"filesystem":{"denyRead":["~/.ssh", 3]}}`,
			src + `: key "filesystem.denyRead[1]": got 3, expected a string`},
		{"relative path", `{"filesystem":{"allowWrite":["build"]}}`,
			src + `: key "filesystem.allowWrite[0]": got "build", a relative path, expected an absolute path or one starting with ~/, $WORKSPACE, $TMP or $CACHE`},
		{"unknown variable", `{"filesystem":{"denyWrite":["$HOME/x"]}}`,
			src + `: key "filesystem.denyWrite[0]": got "$HOME/x", unknown variable "$HOME", expected an absolute path or one starting with ~/, $WORKSPACE, $TMP or $CACHE`},
		{"variable glued", `{"filesystem":{"denyWrite":["$WORKSPACEX"]}}`,
			src + `: key "filesystem.denyWrite[0]": got "$WORKSPACEX", unknown variable "$WORKSPACEX", expected an absolute path or one starting with ~/, $WORKSPACE, $TMP or $CACHE`},
		{"variable in the middle", `{"filesystem":{"denyRead":["/home/$USER/x"]}}`,
			src + `: key "filesystem.denyRead[0]": got "/home/$USER/x", variables are allowed only as the first path component, expected an absolute path or one starting with ~/, $WORKSPACE, $TMP or $CACHE`},
		{"tilde user", `{"filesystem":{"denyRead":["~bob/.ssh"]}}`,
			src + `: key "filesystem.denyRead[0]": got "~bob/.ssh", ~user is not supported, expected an absolute path or one starting with ~/, $WORKSPACE, $TMP or $CACHE`},
		{"empty path", `{"network":{"allowUnixSockets":[""]}}`,
			src + `: key "network.allowUnixSockets[0]": got "", expected an absolute path or one starting with ~/, $WORKSPACE, $TMP or $CACHE`},
		{"host with scheme", `{"network":{"allow":["https://example.com"]}}`,
			src + `: key "network.allow[0]": got "https://example.com", a URL, expected a host like example.com, *.example.com, 10.0.0.1 or [::1], with an optional :port (drop the scheme)`},
		{"host with path", `{"network":{"deny":["example.com/x"]}}`,
			src + `: key "network.deny[0]": got "example.com/x", not a bare host, expected a host like example.com, *.example.com, 10.0.0.1 or [::1], with an optional :port (no path, user or spaces)`},
		{"host bad port", `{"network":{"allow":["example.com:0"]}}`,
			src + `: key "network.allow[0]": got "example.com:0", a bad port, expected a host like example.com, *.example.com, 10.0.0.1 or [::1], with an optional :port (port 1-65535)`},
		{"host port too big", `{"network":{"allow":["example.com:65536"]}}`,
			src + `: key "network.allow[0]": got "example.com:65536", a bad port, expected a host like example.com, *.example.com, 10.0.0.1 or [::1], with an optional :port (port 1-65535)`},
		{"ipv6 without brackets", `{"network":{"allow":["::1"]}}`,
			src + `: key "network.allow[0]": got "::1", an IPv6 address must be in brackets, expected a host like example.com, *.example.com, 10.0.0.1 or [::1], with an optional :port`},
		{"wildcard in the middle", `{"network":{"allow":["api.*.example.com"]}}`,
			src + `: key "network.allow[0]": got "api.*.example.com", a * other than a leading *., expected a host like example.com, *.example.com, 10.0.0.1 or [::1], with an optional :port`},
		{"double star", `{"network":{"allow":["**"]}}`,
			src + `: key "network.allow[0]": got "**", a * other than a leading *., expected a host like example.com, *.example.com, 10.0.0.1 or [::1], with an optional :port`},
		{"bad ipv4", `{"network":{"allow":["300.1.1.1"]}}`,
			src + `: key "network.allow[0]": got "300.1.1.1", not a valid IPv4 address, expected a host like example.com, *.example.com, 10.0.0.1 or [::1], with an optional :port`},
		{"env pattern with =", `{"env":{"pass":["A=B"]}}`,
			src + `: key "env.pass[0]": got "A=B", a name cannot hold '=', expected a variable name or a glob pattern like LC_* or *_TOKEN`},
		{"env bad glob", `{"env":{"deny":["[A"]}}`,
			src + `: key "env.deny[0]": got "[A", a malformed pattern, expected a variable name or a glob pattern like LC_* or *_TOKEN`},
		{"env set glob name", `{"env":{"set":{"A*":"x"}}}`,
			src + `: key "env.set": name "A*": expected a variable name (no =, spaces or glob characters)`},
		{"env set value type", `{"env":{"set":{"A":1}}}`,
			src + `: key "env.set.A": got 1, expected a string`},
		{"description type", `{"description":["x"]}`,
			src + `: key "description": got a list, expected a string`},
		{"section type", `{"network":"host"}`,
			src + `: key "network": got "host", expected an object`},
		{"top array", `[]`, src + `: got a list, expected a JSON object`},
		{"top null", `null`, src + `: got null, expected a JSON object`},
		{"empty", "  \n", src + `: empty file, expected a JSON object`},
		{"trailing garbage", "{}\n{}", src + `: invalid JSON at line 2, column 1: unexpected data after the top-level value`},
		{"trailing brace", "{}}", src + `: invalid JSON at line 1, column 3: unexpected data after the top-level value`},
		{"syntax", "{\n  \"network\": {,}\n}", src + `: invalid JSON at line 2, column 15: invalid character ','`},
		{"bad literal", `{"audit":{"arguments":tru}}`, src + `: invalid JSON at line 1, column 23: invalid character '}' in literal true (expecting 'e')`},
		{"truncated", `{"network":`, src + `: invalid JSON: unexpected end of text`},
		{"duplicate key", `{"limits":{"pids":1,"pids":2}}`, src + `: key "limits.pids": appears twice in one object`},
		{"trailing comma", `{"limits":{"pids":1,}}`, src + `: invalid JSON at line 1, column 21: invalid character '}' looking for beginning of object key string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseProfile(src, []byte(tt.in))
			if err == nil {
				t.Fatalf("no error, got %+v", p)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Source != src {
				t.Errorf("error %T is not a *ConfigError with the source", err)
			}
		})
	}
}

func TestParseProfileAccepts(t *testing.T) {
	in := `{
	  "description": "d",
	  "filesystem": {"denyRead": ["~", "~/.ssh", "/etc/shadow", "$WORKSPACE/.env", "~/.mozilla/*/cookies.sqlite", "/a/$5"], "allowWrite": [], "denyWrite": null},
	  "network": {"mode": "proxy", "allow": ["example.com", "*.example.org:443", "[::1]:8080", "[2001:db8::1]", "10.0.0.1:53", "Host_1.Example.COM"], "allowPackageRegistries": false, "allowUnixSockets": ["$TMP/x.sock"]},
	  "env": {"pass": ["PATH", "LC_*"], "set": {"K": "$CACHE/v", "E": ""}, "deny": ["*_TOKEN"]},
	  "limits": {"tmpSizeMB": 0, "pids": 10, "memoryMB": 2147483647},
	  "report": {"stderr": false, "notify": true, "annotate": false},
	  "audit": null
	}`
	p, err := ParseProfile("t.json", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	mode := NetProxy
	f, tr := false, true
	zero, ten, big := 0, 10, 2147483647
	d := "d"
	want := &Profile{
		Description: &d,
		Filesystem: &FilesystemProfile{
			DenyRead:   []string{"~", "~/.ssh", "/etc/shadow", "$WORKSPACE/.env", "~/.mozilla/*/cookies.sqlite", "/a/$5"},
			AllowWrite: []string{},
		},
		Network: &NetworkProfile{
			Mode:                   &mode,
			Allow:                  []string{"example.com", "*.example.org:443", "[::1]:8080", "[2001:db8::1]", "10.0.0.1:53", "Host_1.Example.COM"},
			AllowPackageRegistries: &f,
			AllowUnixSockets:       []string{"$TMP/x.sock"},
		},
		Env:    &EnvProfile{Pass: []string{"PATH", "LC_*"}, Set: map[string]string{"K": "$CACHE/v", "E": ""}, Deny: []string{"*_TOKEN"}},
		Limits: &LimitsProfile{TmpSizeMB: &zero, Pids: &ten, MemoryMB: &big},
		Report: &ReportProfile{Stderr: &f, Notify: &tr, Annotate: &f},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %s\nwant %s", mustJSON(t, p), mustJSON(t, want))
	}
	if p.Filesystem.DenyWrite != nil {
		t.Error("null list must be nil (not set)")
	}
	if p.Filesystem.AllowWrite == nil {
		t.Error("empty list must be set (non-nil)")
	}
	roundTrip(t, p)
}

func TestParseProfileNullIsNotSet(t *testing.T) {
	p, err := ParseProfile("x", []byte(`{"description":null,"filesystem":null,"network":{"mode":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Description != nil || p.Filesystem != nil || p.Network == nil || p.Network.Mode != nil {
		t.Errorf("got %+v", p)
	}
}

func TestValidateFlags(t *testing.T) {
	bad := NetworkMode("open")
	err := (&Profile{Network: &NetworkProfile{Mode: &bad}}).Validate("flags")
	if err == nil || err.Error() != `flags: key "network.mode": got "open", expected one of none, proxy, host` {
		t.Errorf("got %v", err)
	}
	n := -3
	err = (&Profile{Limits: &LimitsProfile{Pids: &n}}).Validate("flags")
	if err == nil || err.Error() != `flags: key "limits.pids": got -3, expected a whole number from 0 to 2147483647` {
		t.Errorf("got %v", err)
	}
	if err := (*Profile)(nil).Validate("flags"); err != nil {
		t.Errorf("nil profile: %v", err)
	}
}
