package policy

import (
	"strings"
	"testing"
)

// Secret-looking values, one of each kind credentialIn knows. They are
// made up: the right shape, no real account behind them.
const (
	fakeGitHub    = "ghp_" + "0123456789abcdefghijABCDEFGHIJ012345"
	fakeGitHubPAT = "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV"
	fakeGitLab    = "glpat-" + "abcdefghij0123456789"
	fakeSlack     = "xoxb-" + "1234567890-1234567890-abcdefghijABCDEFGHIJ"
	fakeOpenAI    = "sk-proj-" + "abcdefghijABCDEFGHIJ0123456789"
	fakeAnthropic = "sk-ant-api03-" + "abcdefghijABCDEFGHIJ0123456789-_AA"
	fakeAWSID     = "AKIA" + "ABCDEFGHIJ234567"
	fakeGoogle    = "AIza" + "SyA0123456789abcdefghijABCDEFGHIJ_-"
	fakeNpm       = "npm_" + "abcdefghijABCDEFGHIJ0123456789abcdef"
	fakePyPI      = "pypi-" + "AgEIcHlwaS5vcmcCJGFiY2RlZmdoLTEyMzQtNTY3OC05MGFi"
	fakeJWT       = "eyJhbGciOiJIUzI1NiJ9" + "." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0" + "." + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	fakePEM       = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
)

// TestCredentialIn checks each kind of credential credentialIn knows, and
// values that look near one but are ordinary settings.
func TestCredentialIn(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{"redis://:hunter2@cache:6379/0", "a URL with a password"},
		{"postgres://app:pw@db/app?sslmode=require", "a URL with a password"},
		{"amqps://u:p%40ss@mq.example:5671", "a URL with a password"},
		{"first http://h, then jdbc:mysql://root:toor@db:3306/x", "a URL with a password"},
		{"https://" + strings.Repeat("Ab", 12) + "@github.com/o/r", "a URL with a token for a user name"},
		{fakePEM, "a private key"},
		{"-----BEGIN RSA PRIVATE KEY-----", "a private key"},
		{"-----BEGIN PGP PRIVATE KEY BLOCK-----", "a private key"},
		{fakeGitHub, "a GitHub token"},
		{"token " + fakeGitHubPAT, "a GitHub token"},
		{"oauth2:" + fakeGitLab, "a GitLab token"},
		{fakeSlack, "a Slack token"},
		{fakeOpenAI, "an API secret key (sk-)"},
		{fakeAnthropic, "an Anthropic key"},
		{"id=" + fakeAWSID + ";", "an AWS access key id"},
		{"ASIA" + "QWERTYUIOP234567", "an AWS access key id"},
		{fakeGoogle, "a Google API key"},
		{fakeNpm, "an npm token"},
		{fakePyPI, "a PyPI token"},
		{"hf_" + "abcdefghijklmnopqrstuvwxyzABCDEFGH", "a Hugging Face token"},
		{fakeJWT, "a JSON Web Token"},
		{"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "a JSON Web Token"},
		{"Server=x;Uid=sa;Pwd=hunter2;", "a password or secret in key=value form"},
		{"https://h/x?access_token=abc", "a password or secret in key=value form"},
		{`{"client_secret": "abc"}`, "a password or secret in key=value form"},
		{"//registry.npmjs.org/:_auth=eDp5", "a password or secret in key=value form"},
		{"Authorization: Bearer abcdefghijklmnop.qrs", "an Authorization header value"},
		{"basic dXNlcjpwYXNzd29yZDEyMw==", "an Authorization header value"},

		{"", ""},
		{"/usr/local/bin:/usr/bin:/home/u/secret:/home/u/token:/opt/x@1.2/bin", ""},
		{"http://proxy.corp:3128", ""},
		{"https://user@example.com", ""},
		{"https://user:@example.com", ""},
		{"ssh://git@github.com/o/r", ""},
		{"git@github.com:o/r.git", ""},
		{"mailto:me@example.com", ""},
		{"unix:///run/user/1000/bus", ""},
		{"rs=0:di=01;34:*.key=00;90:*.token=00;90", ""},
		{"password=", ""},
		{"password=;user=x", ""},
		{`{"password": ""}`, ""},
		{"keypassword", ""},
		{"sk-SK", ""},
		{"sk_SK.UTF-8", ""},
		{"mytask-0123456789abcdefghijklmnopqrstuv", ""},
		{"AKIA" + "ABCDEFGHIJ23456", ""},
		{"AKIA" + "ABCDEFGHIJ2345678", ""},
		{"AKIA" + "ABCDEFGHIJ234567x", ""},
		{"ghp_short", ""},
		{"eyJhbGciOiJIUzI1NiJ9", ""},
		{"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", ""},
		{"-----BEGIN PUBLIC KEY-----", ""},
		{"Basic auth is off", ""},
		{"bearer of bad news", ""},
		{strings.Repeat("0123456789abcdef", 4), ""},
	} {
		if got := credentialIn(c.value); got != c.want {
			t.Errorf("credentialIn(%q) = %q, want %q", c.value, got, c.want)
		}
	}
}

// tokenAlphabet is the bytes a generated token body is made of.
const tokenAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

// FuzzCredentialIn checks the value classifier on any input: it never
// panics; a credential it finds stays found whatever text surrounds it
// (after a space); a token of every known shape, with any body of the
// right length, is found inside any text; and a short value without ':'
// or '=' is never taken for a credential.
func FuzzCredentialIn(f *testing.F) {
	for _, s := range []string{
		"", "x", "redis://:pw@h", fakeGitHub, fakeJWT, fakePEM, "Password=x;", `{"token":"x"}`,
		"Bearer abcdefghijklmnopqrstuvwxyz", "://@", "-----BEGIN -----", "eyJ.eyJ.", "\xff\x00=",
		"https://" + strings.Repeat("a", 30) + "@h", "a=b=c=d", `"":"`, "AKIA" + strings.Repeat("A", 16),
	} {
		f.Add(s, "", uint8(0), []byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789"))
	}
	shapes := tokenShapes()
	f.Fuzz(func(t *testing.T, v, around string, which uint8, body []byte) {
		kind := credentialIn(v)
		if kind != "" {
			if got := credentialIn(around + " " + v + " " + around); got == "" {
				t.Fatalf("%q holds %s, but not once surrounded by %q", v, kind, around)
			}
		}
		if len(v) < 13 && !strings.ContainsAny(v, ":=") && kind != "" {
			t.Fatalf("short value %q taken for %s", v, kind)
		}

		s := shapes[int(which)%len(shapes)]
		n, alphabet := s.min, tokenAlphabet
		if s.exact > 0 {
			n, alphabet = s.exact, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		}
		if len(body) < n {
			return
		}
		tok := make([]byte, 0, len(s.prefix)+len(body))
		tok = append(tok, s.prefix...)
		for _, b := range body[:n] {
			tok = append(tok, alphabet[int(b)%len(alphabet)])
		}
		if got := credentialIn(v + " " + string(tok) + " " + around); got == "" {
			t.Fatalf("token %q of shape %q not found between %q and %q", tok, s.prefix, v, around)
		}
	})
}

// TestTokenShapesFilled: tokenShapeCount is the length of the list, not
// more (a zero shape would match nothing and panic on its empty prefix).
func TestTokenShapesFilled(t *testing.T) {
	for i, s := range tokenShapes() {
		if s.prefix == "" || s.kind == "" || s.min == 0 && s.exact == 0 {
			t.Fatalf("shape %d of %d is not filled in: %+v (tokenShapeCount too large?)", i, tokenShapeCount, s)
		}
	}
}
