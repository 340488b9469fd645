package shim

import (
	"strconv"
	"strings"

	"github.com/sbshim/sbshim/isolation/policy"
)

// The held-back line names at most heldBackMaxNames variables and shows
// at most heldBackMaxName bytes of each name: the environment can come
// from a project's client config, and the line must stay a line.
const (
	heldBackMaxNames = 64
	heldBackMaxName  = 100
)

// heldBackLine returns the one stderr line that names the host variables
// the policy holds back as secrets (policy.Policy.EnvHeldBack), or ""
// when there are none. A variable held back for its value says what kind
// of credential the value holds; no value is ever shown. A name that is
// not plain printable ASCII (it came from the environment, which a
// project's client config can set) is quoted with Go escapes so that it
// cannot break the line or pass for something else.
func heldBackLine(held []policy.EnvHeld) string {
	if len(held) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("sbshim: environment: held back ")
	for i, h := range held {
		if i == heldBackMaxNames {
			b.WriteString(", and " + strconv.Itoa(len(held)-i) + " more")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(envName(h.Name))
		if kind, ok := strings.CutPrefix(h.Rule, "env.value "); ok {
			b.WriteString(" (its value holds " + kind + ")")
		}
	}
	b.WriteString("; pass one with --env-pass NAME\n")
	return b.String()
}

// envName is name as it is shown in heldBackLine: itself when it is made
// of printable ASCII without spaces or the line's separators, otherwise
// Go-quoted with every other byte escaped; a name longer than
// heldBackMaxName bytes is cut there and ends in "...".
func envName(name string) string {
	more := ""
	if len(name) > heldBackMaxName {
		name, more = name[:heldBackMaxName], "..."
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`,;()"\`, c) >= 0 {
			return strconv.QuoteToASCII(name) + more
		}
	}
	return name + more
}
