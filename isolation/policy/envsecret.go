package policy

import "strings"

// credentialIn returns what kind of credential the environment value v
// carries, whatever its variable is called, or "" if it shows none: a URL
// with a password (or a token for a user name), a private key in PEM form,
// a token with a well-known prefix (GitHub, GitLab, Slack, OpenAI,
// Anthropic, AWS, Google, npm, PyPI, …), a JSON Web Token, a password or
// secret given as key=value (connection strings, query strings, JSON), or
// an HTTP Authorization value. The answer names a kind, never the secret.
//
// It looks for shapes that ordinary settings (PATH, LANG, LS_COLORS,
// proxies without passwords, git remotes like git@host:repo) do not have:
// a token must start at a word boundary and be long enough, so a short
// word that happens to begin like one does not count.
func credentialIn(v string) string {
	for _, check := range []func(string) string{
		urlCredential, pemPrivateKey, knownToken, jwtToken, secretPair, authValue,
	} {
		if kind := check(v); kind != "" {
			return kind
		}
	}
	return ""
}

// isTokenByte reports whether c can be part of a token: the bytes around a
// token's prefix that must not be token bytes for the prefix to start one.
func isTokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// atBoundary reports whether a token may start at v[i].
func atBoundary(v string, i int) bool {
	return i == 0 || !isTokenByte(v[i-1])
}

// runOf counts the bytes at the start of s for which ok holds, stopping
// once it has counted limit of them.
func runOf(s string, ok func(byte) bool, limit int) int {
	n := 0
	for n < len(s) && n < limit && ok(s[n]) {
		n++
	}
	return n
}

// urlCredential finds a URL whose user information holds a password
// (scheme://user:password@host, any scheme, an empty user included, as in
// redis://:password@host) or a user name that is a token (at least 24
// token bytes, as in https://TOKEN@github.com).
func urlCredential(v string) string {
	for off := 0; ; {
		i := strings.Index(v[off:], "://")
		if i < 0 {
			return ""
		}
		a := off + i + 3
		e := a
		for e < len(v) && !isAuthorityStop(v[e]) {
			e++
		}
		off = e
		auth := v[a:e]
		at := strings.LastIndexByte(auth, '@')
		if at <= 0 {
			continue
		}
		userinfo := auth[:at]
		if _, pw, ok := strings.Cut(userinfo, ":"); ok {
			if pw != "" {
				return "a URL with a password"
			}
			continue
		}
		if len(userinfo) >= 24 && runOf(userinfo, isTokenByte, len(userinfo)) == len(userinfo) {
			return "a URL with a token for a user name"
		}
	}
}

// isAuthorityStop reports whether c ends a URL's authority part.
func isAuthorityStop(c byte) bool {
	switch c {
	case '/', '?', '#', '"', '\'', '<', '>', '`', '\\', 0x7f:
		return true
	}
	return c <= ' '
}

// pemPrivateKey finds a PEM block of a private key ("-----BEGIN RSA
// PRIVATE KEY-----", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY",
// "PGP PRIVATE KEY BLOCK", …).
func pemPrivateKey(v string) string {
	const begin = "-----BEGIN "
	for off := 0; ; {
		i := strings.Index(v[off:], begin)
		if i < 0 {
			return ""
		}
		l := off + i + len(begin)
		j := strings.Index(v[l:], "-----")
		if j < 0 {
			return ""
		}
		if label := v[l : l+j]; strings.Contains(label, "PRIVATE KEY") && !strings.ContainsAny(label, "\n\r") {
			return "a private key"
		}
		off = l
	}
}

// tokenShape is a well-known token format: a fixed prefix followed by at
// least min token bytes, or (exact > 0) by exactly exact upper-case letters
// and digits and then a byte that cannot continue a token.
type tokenShape struct {
	prefix string
	min    int
	exact  int
	kind   string
}

// tokenShapeCount is how many token formats tokenShapes lists.
const tokenShapeCount = 77

// tokenShapes lists the token formats credentialIn knows, each with the
// vendor's documented prefix and a length that real tokens reach and that
// an ordinary word after the same prefix does not. It is an array, copied
// from read-only data onto the caller's stack: credentialIn looks at every
// environment value, and a slice made on each call came to more heap at
// start-up than the rest of the policy.
func tokenShapes() [tokenShapeCount]tokenShape {
	return [tokenShapeCount]tokenShape{
		{prefix: "ghp_", min: 30, kind: "a GitHub token"},
		{prefix: "gho_", min: 30, kind: "a GitHub token"},
		{prefix: "ghu_", min: 30, kind: "a GitHub token"},
		{prefix: "ghs_", min: 30, kind: "a GitHub token"},
		{prefix: "ghr_", min: 30, kind: "a GitHub token"},
		{prefix: "github_pat_", min: 30, kind: "a GitHub token"},
		{prefix: "glpat-", min: 20, kind: "a GitLab token"},
		{prefix: "gldt-", min: 20, kind: "a GitLab token"},
		{prefix: "glrt-", min: 20, kind: "a GitLab token"},
		{prefix: "glptt-", min: 20, kind: "a GitLab token"},
		{prefix: "glcbt-", min: 20, kind: "a GitLab token"},
		{prefix: "glft-", min: 20, kind: "a GitLab token"},
		{prefix: "glimt-", min: 20, kind: "a GitLab token"},
		{prefix: "glagent-", min: 20, kind: "a GitLab token"},
		{prefix: "gloas-", min: 20, kind: "a GitLab token"},
		{prefix: "glsoat-", min: 20, kind: "a GitLab token"},
		{prefix: "xoxb-", min: 10, kind: "a Slack token"},
		{prefix: "xoxp-", min: 10, kind: "a Slack token"},
		{prefix: "xoxa-", min: 10, kind: "a Slack token"},
		{prefix: "xoxr-", min: 10, kind: "a Slack token"},
		{prefix: "xoxs-", min: 10, kind: "a Slack token"},
		{prefix: "xoxe-", min: 10, kind: "a Slack token"},
		{prefix: "xapp-", min: 10, kind: "a Slack token"},
		{prefix: "sk-ant-", min: 20, kind: "an Anthropic key"},
		{prefix: "sk-", min: 20, kind: "an API secret key (sk-)"},
		{prefix: "sk_live_", min: 16, kind: "a Stripe key"},
		{prefix: "sk_test_", min: 16, kind: "a Stripe key"},
		{prefix: "rk_live_", min: 16, kind: "a Stripe key"},
		{prefix: "rk_test_", min: 16, kind: "a Stripe key"},
		{prefix: "whsec_", min: 16, kind: "a Stripe key"},
		{prefix: "AKIA", exact: 16, kind: "an AWS access key id"},
		{prefix: "ASIA", exact: 16, kind: "an AWS access key id"},
		{prefix: "ABIA", exact: 16, kind: "an AWS access key id"},
		{prefix: "ACCA", exact: 16, kind: "an AWS access key id"},
		{prefix: "AIza", min: 30, kind: "a Google API key"},
		{prefix: "ya29.", min: 20, kind: "a Google OAuth token"},
		{prefix: "GOCSPX-", min: 20, kind: "a Google OAuth client secret"},
		{prefix: "npm_", min: 30, kind: "an npm token"},
		{prefix: "pypi-", min: 40, kind: "a PyPI token"},
		{prefix: "rubygems_", min: 30, kind: "a RubyGems key"},
		{prefix: "hf_", min: 30, kind: "a Hugging Face token"},
		{prefix: "dckr_pat_", min: 20, kind: "a Docker token"},
		{prefix: "dop_v1_", min: 40, kind: "a DigitalOcean token"},
		{prefix: "doo_v1_", min: 40, kind: "a DigitalOcean token"},
		{prefix: "dor_v1_", min: 40, kind: "a DigitalOcean token"},
		{prefix: "hvs.", min: 20, kind: "a Vault token"},
		{prefix: "hvb.", min: 20, kind: "a Vault token"},
		{prefix: "hvr.", min: 20, kind: "a Vault token"},
		{prefix: "shpat_", min: 20, kind: "a Shopify token"},
		{prefix: "shpss_", min: 20, kind: "a Shopify token"},
		{prefix: "shpca_", min: 20, kind: "a Shopify token"},
		{prefix: "shppa_", min: 20, kind: "a Shopify token"},
		{prefix: "SG.", min: 20, kind: "a SendGrid key"},
		{prefix: "glc_", min: 20, kind: "a Grafana token"},
		{prefix: "glsa_", min: 20, kind: "a Grafana token"},
		{prefix: "sntrys_", min: 20, kind: "a Sentry token"},
		{prefix: "sntryu_", min: 20, kind: "a Sentry token"},
		{prefix: "NRAK-", min: 20, kind: "a New Relic key"},
		{prefix: "sbp_", min: 30, kind: "a Supabase token"},
		{prefix: "tskey-", min: 20, kind: "a Tailscale key"},
		{prefix: "lin_api_", min: 30, kind: "a Linear key"},
		{prefix: "PMAK-", min: 20, kind: "a Postman key"},
		{prefix: "pscale_tkn_", min: 20, kind: "a PlanetScale token"},
		{prefix: "pscale_pw_", min: 20, kind: "a PlanetScale password"},
		{prefix: "dapi", min: 32, kind: "a Databricks token"},
		{prefix: "gsk_", min: 30, kind: "a Groq key"},
		{prefix: "xai-", min: 30, kind: "an xAI key"},
		{prefix: "pplx-", min: 30, kind: "a Perplexity key"},
		{prefix: "r8_", min: 30, kind: "a Replicate token"},
		{prefix: "figd_", min: 20, kind: "a Figma token"},
		{prefix: "ntn_", min: 30, kind: "a Notion token"},
		{prefix: "ATATT", min: 30, kind: "an Atlassian token"},
		{prefix: "CCIPAT_", min: 20, kind: "a CircleCI token"},
		{prefix: "bkua_", min: 30, kind: "a Buildkite token"},
		{prefix: "nfp_", min: 30, kind: "a Netlify token"},
		{prefix: "HRKU-", min: 20, kind: "a Heroku key"},
		{prefix: "AGE-SECRET-KEY-1", min: 20, kind: "an age key"},
	}
}

// isUpperOrDigit reports whether c is A–Z or 0–9.
func isUpperOrDigit(c byte) bool {
	return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// knownToken finds a token with a well-known prefix at a word boundary.
func knownToken(v string) string {
	// The first bytes of the prefixes: most bytes start none, and a
	// value is scanned once.
	shapes := tokenShapes()
	var first [256]bool
	for i := range shapes {
		first[shapes[i].prefix[0]] = true
	}
	for i := 0; i < len(v); i++ {
		if !first[v[i]] || !atBoundary(v, i) {
			continue
		}
		rest := v[i:]
		for j := range shapes {
			s := &shapes[j]
			if s.prefix[0] != v[i] || !strings.HasPrefix(rest, s.prefix) {
				continue
			}
			body := rest[len(s.prefix):]
			if s.exact > 0 {
				n := runOf(body, isUpperOrDigit, s.exact+1)
				if n == s.exact && (n == len(body) || !isTokenByte(body[n])) {
					return s.kind
				}
				continue
			}
			if runOf(body, isTokenByte, s.min) >= s.min {
				return s.kind
			}
		}
	}
	return ""
}

// jwtToken finds a JSON Web Token: two base64url parts that both start
// with "eyJ" (the encoding of `{"`), each followed by a dot.
func jwtToken(v string) string {
	for off := 0; ; {
		i := strings.Index(v[off:], "eyJ")
		if i < 0 {
			return ""
		}
		i += off
		off = i + 3
		if !atBoundary(v, i) {
			continue
		}
		h := runOf(v[i:], isTokenByte, len(v))
		if h < 10 || i+h >= len(v) || v[i+h] != '.' {
			continue
		}
		p := v[i+h+1:]
		if !strings.HasPrefix(p, "eyJ") {
			continue
		}
		n := runOf(p, isTokenByte, len(p))
		if n >= 10 && n < len(p) && p[n] == '.' {
			return "a JSON Web Token"
		}
	}
}

// isKeyByte reports whether c can be part of a key in key=value text.
func isKeyByte(c byte) bool {
	return isTokenByte(c) || c == '.'
}

// secretKey reports whether the key of a key=value pair names a secret:
// it ends in password, secret, token, api key and the like, or is one of
// the short names connection strings and signed URLs use (pwd, sig, auth).
func secretKey(k string) bool {
	k = asciiLower(k)
	switch strings.TrimLeft(k, "_-.") {
	case "pwd", "sig", "auth", "authorization":
		return true
	}
	for _, s := range []string{
		"password", "passwd", "passphrase", "secret", "token", "apikey", "api_key", "api-key",
		"accountkey", "sharedaccesskey", "sharedaccesssignature", "privatekey", "private_key",
		"accesskey", "access_key",
	} {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// isValueStop reports whether c ends (or, first, empties) the value of a
// key=value pair.
func isValueStop(c byte) bool {
	switch c {
	case ';', '&', ',', '"', '\'', ')', '}', ']':
		return true
	}
	return c <= ' ' || c == 0x7f
}

// secretPair finds a key=value pair (or a JSON "key": "value") whose key
// names a secret and whose value is not empty: Password=… in a connection
// string, ?access_token=… or &sig=… in a URL, -Dx.password=… in JVM
// options, "password": "…" in inline JSON.
func secretPair(v string) string {
	for j := 0; j < len(v); j++ {
		c := v[j]
		if c != '=' && c != ':' {
			continue
		}
		end := j
		quoted := end > 0 && v[end-1] == '"'
		if quoted {
			end--
		}
		if c == ':' && !quoted {
			continue
		}
		start := end
		for start > 0 && isKeyByte(v[start-1]) {
			start--
		}
		// A key that starts with a dot is a file name extension, as in
		// LS_COLORS's *.token=00;90.
		if start == end || v[start] == '.' || quoted && (start == 0 || v[start-1] != '"') {
			continue
		}
		if !secretKey(v[start:end]) {
			continue
		}
		k := j + 1
		for k < len(v) && v[k] == ' ' {
			k++
		}
		if quoted && k < len(v) && v[k] == '"' {
			k++
		}
		if k < len(v) && !isValueStop(v[k]) {
			return "a password or secret in key=value form"
		}
	}
	return ""
}

// authValue finds an HTTP Authorization value: "Bearer" or "Basic" (any
// case) at a word boundary, a space, then at least 16 bytes of a token
// or base64 text.
func authValue(v string) string {
	lower := asciiLower(v)
	for _, scheme := range []string{"bearer ", "basic "} {
		for off := 0; ; {
			i := strings.Index(lower[off:], scheme)
			if i < 0 {
				break
			}
			i += off
			off = i + len(scheme)
			if !atBoundary(v, i) {
				continue
			}
			if runOf(v[off:], isCredentialByte, 16) >= 16 {
				return "an Authorization header value"
			}
		}
	}
	return ""
}

// isCredentialByte reports whether c can be part of a bearer token or a
// base64 credential.
func isCredentialByte(c byte) bool {
	return isTokenByte(c) || c == '+' || c == '/' || c == '=' || c == '.' || c == '~'
}

// asciiLower maps A–Z to a–z and leaves every other byte as it is, so
// that offsets in the result are offsets in s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
