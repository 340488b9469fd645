package wrap

import (
	"fmt"
	"slices"
	"strings"
)

// The variables an entry's "env" sets are the user's explicit intent for
// that one server: the client puts them in the environment it starts
// sbshim with, and sbshim's env deny list would hold the secret-looking
// ones (GITHUB_PERSONAL_ACCESS_TOKEN, BRAVE_API_KEY) back. So wrap adds
// --env-pass NAME for each of them, which beats the deny list for exactly
// that name; unwrap removes it with the rest of sbshim's flags.
//
// From a project's file (untrusted), only a variable whose value is
// written in the file is passed: the project chose that value, so passing
// it hands the server nothing of the user's. A value that the client
// expands from the user's environment (${VAR}, ${env:VAR}, $VAR; Codex's
// env_vars) is not passed by name: a cloned repository could otherwise
// name AWS_SECRET_ACCESS_KEY and have the sandbox hand it over. Such a
// variable is left to sbshim's env rules (a secret-looking one is held
// back), and wrap says so. A variable sbshim itself reads (LD_PRELOAD,
// NODE_OPTIONS, HTTP_PROXY, npm_config_registry, ...) makes a project's
// entry Suspicious before this is reached (vet.go).

// envVar is one variable an entry sets for its server.
type envVar struct {
	name  string
	value string // the text of its value; "" when the file does not give it
	// fromHost marks a value the client takes from the environment it
	// runs in: a reference such as ${VAR}, or a Codex env_vars name.
	fromHost bool
}

// envVars lists the variables an entry sets: its "env" object (JSON, or a
// TOML inline table), TOML dotted keys env.NAME, a [mcp_servers.NAME.env]
// table, and the names in Codex's env_vars, which are forwarded from the
// client's environment.
func (e *entry) envVars() []envVar {
	var out []envVar
	add := func(v envVar) {
		for i := range out {
			if out[i].name == v.name {
				out[i] = v // the last one counts, as in the client
				return
			}
		}
		out = append(out, v)
	}
	if e.obj == nil {
		return nil
	}
	for _, m := range e.obj.members {
		switch {
		case m.key == "env" && m.value.kind == kindObject:
			for _, v := range m.value.members {
				add(e.envValue(v.key, v.value))
			}
		case strings.HasPrefix(m.key, "env.") && !strings.Contains(m.key[len("env."):], "."):
			add(e.envValue(m.key[len("env."):], m.value))
		case m.key == "env_vars" && m.value.kind == kindArray:
			for _, el := range m.value.elems {
				if el.kind == kindString {
					add(envVar{name: el.str, fromHost: true})
				}
			}
		}
	}
	for _, k := range e.extraEnv {
		// Codex takes a [mcp_servers.NAME.env] table's values as written.
		add(envVar{name: k})
	}
	return out
}

func (e *entry) envValue(name string, n *node) envVar {
	if n.kind == kindString {
		return envVar{name: name, value: n.str, fromHost: refersToEnv(n.str)}
	}
	return envVar{name: name, value: e.raw(n)}
}

// refersToEnv reports whether a client may expand part of v from the
// environment it runs in: ${NAME} or ${NAME:-default} (Claude Code,
// Gemini CLI), ${env:NAME} (VS Code, Cursor), $NAME (Gemini CLI). A VS
// Code ${input:ID} is a value the user types for this server when it
// starts, and does not count.
func refersToEnv(v string) bool {
	for i := 0; i+1 < len(v); i++ {
		if v[i] != '$' {
			continue
		}
		c := v[i+1]
		switch {
		case c == '{':
			end := strings.IndexByte(v[i:], '}')
			if end < 0 || !strings.HasPrefix(v[i+2:i+end], "input:") {
				return true
			}
			i += end
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			return true
		}
	}
	return false
}

// passableName reports whether sbshim can be given name with --env-pass:
// a plain variable name (no '=', blanks, control or glob characters, which
// sbshim would refuse or read as a pattern), not starting with '-'.
func passableName(name string) bool {
	if name == "" || name[0] == '-' {
		return false
	}
	for _, c := range []byte(name) {
		if c == '=' || c <= ' ' || c == 0x7f || c == '*' || c == '?' || c == '[' || c == '\\' {
			return false
		}
	}
	return true
}

// envPass returns the names wrap passes with --env-pass for an entry, in
// the order its env sets them, and what it says about the variables it
// does not pass.
func (o WrapOptions) envPass(e *entry) (names []string, notPassed []string) {
	for _, v := range e.envVars() {
		switch {
		case !passableName(v.name):
			notPassed = append(notPassed, fmt.Sprintf("%q is not passed: not a variable name sbshim can pass", v.name))
		case !o.Trusted && v.fromHost:
			notPassed = append(notPassed, fmt.Sprintf("%s is not passed by name: its value comes from your environment (%s), and a project's file may not hand your environment to its server; sbshim's env rules decide (a secret-looking one is held back). If you trust this server, set it in your own client config", v.name, describeValue(v)))
		case !slices.Contains(names, v.name):
			names = append(names, v.name)
		}
	}
	return names, notPassed
}

// describeValue is a short text for where a variable's value comes from,
// never the value itself when it could be a secret.
func describeValue(v envVar) string {
	if v.value == "" {
		return "env_vars"
	}
	if len(v.value) > 40 {
		return "a reference in its value"
	}
	return v.value
}

// envNotes says which variables wrap passes and why: the secret-looking
// ones (those sbshim's env rules would otherwise hold back) one by one,
// with the rule, the others together.
func (o WrapOptions) envNotes(e *entry) []string {
	names, notPassed := o.envPass(e)
	var notes, plain []string
	vals := map[string]envVar{}
	for _, v := range e.envVars() {
		vals[v.name] = v
	}
	for _, n := range names {
		rule := ""
		if o.HeldBack != nil {
			v := vals[n]
			value := v.value
			if v.fromHost {
				value = "" // not known until the client expands it
			}
			rule = o.HeldBack(n, value)
		}
		if rule == "" {
			plain = append(plain, n)
			continue
		}
		notes = append(notes, fmt.Sprintf("passes %s with --env-pass: it looks secret (%s), and its env sets it for this server", n, rule))
	}
	if len(plain) > 0 {
		them := "them"
		if len(plain) == 1 {
			them = "it"
		}
		notes = append(notes, "passes "+strings.Join(plain, ", ")+" with --env-pass: its env sets "+them+" for this server")
	}
	return append(notes, notPassed...)
}
