package policy

import (
	"slices"
	"strings"
	"testing"
)

// defaultPolicy loads the built-in default profile, with extra names
// given as --env-pass.
func defaultPolicy(t *testing.T, envPass ...string) *Policy {
	t.Helper()
	e := newTestEnv(t)
	o := LoadOptions{}
	if len(envPass) > 0 {
		o.Flags = &Profile{Env: &EnvProfile{Pass: envPass}}
	}
	return e.load(t, o)
}

// TestDefaultEnvHeldBack runs the built-in default policy over host
// variables that must be held back (by name, whatever the case, or by
// value, whatever the name) and ordinary ones that must pass.
func TestDefaultEnvHeldBack(t *testing.T) {
	p := defaultPolicy(t)
	held := []struct{ name, value string }{
		// Issue 12, item 8.
		{"GITHUB_PAT", "x"},
		{"github_token", "x"},
		{"BW_SESSION", "x"},
		{"OP_SESSION_my", "x"},
		{"CI_JOB_JWT", "x"},
		{"CI_JOB_JWT_V2", "x"},
		{"GIT_CONFIG_PARAMETERS", "'http.extraheader'='AUTHORIZATION: basic eDp5'"},
		{"GIT_CONFIG_COUNT", "1"},
		{"GIT_CONFIG_KEY_0", "http.extraHeader"},
		{"GIT_CONFIG_VALUE_0", "x"},
		{"SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/x"},
		{"REDIS_URL", "redis://:hunter2@cache.internal:6379/0"},
		// Each name the default listed before, and lower-case spellings.
		{"FOO_TOKEN", "x"}, {"GH_TOKEN_2", "x"}, {"TOKEN", "x"}, {"MY_SECRET_THING", "x"},
		{"SECRET_DIR", "x"}, {"SECRET", "x"}, {"STRIPE_KEY", "x"}, {"SSH_KEYS", "x"},
		{"GPG_KEY_ID", "x"}, {"APP_KEY_SECRET", "x"}, {"JWT_PRIVATE_KEY_PATH", "x"},
		{"OPENAI_API_KEY", "x"}, {"X_APIKEY", "x"}, {"APIKEY", "x"}, {"API_KEY", "x"},
		{"DB_PASSWORD", "x"}, {"db_password", "x"}, {"SMTP_PASSWD", "x"}, {"DB_PASS", "x"},
		{"MYSQL_PWD", "x"}, {"GOOGLE_APPLICATION_CREDENTIALS", "/c"}, {"GOOGLE_GHA_CREDS_PATH", "/c"},
		{"X_CREDS", "x"}, {"GITHUB_OAUTH_CLIENT", "x"}, {"REDISCLI_AUTH", "x"}, {"CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", "x"},
		{"MY_SESSION_ID", "x"}, {"BROWSER_COOKIE", "x"}, {"SQL_CONNECTION_STRING", "x"},
		{"SENTRY_DSN", "x"}, {"DATABASE_URL", "postgres://localhost/db"}, {"ANALYTICS_DATABASE_URL", "x"},
		{"AWS_PROFILE", "dev"}, {"aws_secret_access_key", "x"}, {"AZURE_CLIENT_SECRET", "x"},
		{"AZURE_CLIENT_CERTIFICATE_PATH", "/c"}, {"AZURE_STORAGE_ACCOUNT", "x"}, {"AZURE_DEVOPS_EXT_PAT", "x"},
		{"SSH_AUTH_SOCK", "/run/user/1000/ssh"}, {"SSH_AGENT_PID", "1"}, {"GPG_AGENT_INFO", "x"},
		{"DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus"}, {"KRB5CCNAME", "FILE:/tmp/krb5cc"},
		{"DOCKER_AUTH_CONFIG", "x"}, {"TF_TOKEN_app_terraform_io", "x"}, {"CARGO_REGISTRIES_MY_TOKEN", "x"},
		{"SLACK_BOT_TOKEN", "x"}, {"PGPASSWORD", "x"}, {"PGPASSFILE", "/p"}, {"CLAUDE_CODE_OAUTH_TOKEN", "x"},
		// Other classes.
		{"GITHUBTOKEN", "x"}, {"CLIENTSECRET", "x"}, {"BORG_PASSPHRASE", "x"}, {"DB_PW", "x"},
		{"TS_AUTHKEY", "x"}, {"MINIO_ACCESSKEY", "x"}, {"SIGNING_PRIVATEKEY", "x"}, {"KEY", "x"},
		{"KEY_FILE_PASSWORD", "x"}, {"AUTH", "x"}, {"AUTH_SALT", "x"}, {"NONCE_SALT", "x"},
		{"HTTP_AUTHORIZATION", "x"}, {"PAT", "x"}, {"GH_PAT_2", "x"}, {"JWT", "x"},
		{"SESSION_MANAGER", "local/host:@/tmp/.ICE-unix/1"}, {"ZELLIJ_SESSION_NAME", "x"},
		{"DISCORD_WEBHOOK", "x"}, {"OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team=abc"},
		{"DSN", "x"}, {"MONGO_CONNSTRING", "x"}, {"GNOME_KEYRING_CONTROL", "/run/user/1000/keyring"},
		{"npm_config_//registry.npmjs.org/:_authToken", "x"}, {"npm_config__auth", "eDp5"},
		{"ACTIONS_RUNTIME_TOKEN", "x"}, {"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "x"},
		// Credentials in values, whatever the name.
		{"PIP_INDEX_URL", "https://user:pa55@pypi.corp.example/simple"},
		{"HTTPS_PROXY", "http://me:pw@proxy.corp:3128"},
		{"MONGO_URL", "mongodb+srv://app:pw@cluster0.example.net/db?retryWrites=true"},
		{"GOPROXY", "https://u:p@goproxy.corp,direct"},
		{"REPO", "https://" + strings.Repeat("a1", 20) + "@github.com/o/r"},
		{"REMOTE", "https://x-access-token:" + fakeGitHub + "@github.com/o/r.git"},
		{"MY_VAR", fakeGitHub}, {"MY_VAR2", fakeGitHubPAT}, {"GITLAB", fakeGitLab},
		{"SLACK", fakeSlack}, {"OPENAI", fakeOpenAI}, {"CLAUDE", fakeAnthropic},
		{"AWS_LIKE", fakeAWSID}, {"GOOGLE", fakeGoogle}, {"NPMRC_VALUE", fakeNpm}, {"TWINE", fakePyPI},
		{"ID", fakeJWT}, {"DEPLOY", fakePEM}, {"CALL", "--header=Authorization: Bearer " + fakeOpenAI},
		{"DB", "Server=db;Database=app;User Id=sa;Password=hunter2;"},
		{"BLOB", "https://acct.blob.core.windows.net/c?sv=2022-11-02&sig=abcDEF%2Bghi%3D"},
		{"JAVA_TOOL_OPTIONS", "-Djavax.net.ssl.trustStorePassword=changeit"},
		{"SPRING_APPLICATION_JSON", `{"spring.datasource.password": "hunter2"}`},
	}
	passed := []struct{ name, value string }{
		{"PATH", "/home/u/.nvm/versions/node@20/bin:/usr/local/bin:/usr/bin:/bin"},
		{"HOME", "/home/u"}, {"LANG", "sk_SK.UTF-8"}, {"LANGUAGE", "sk:cs"}, {"TERM", "xterm-256color"},
		{"XDG_SESSION_TYPE", "wayland"}, {"XDG_SESSION_ID", "2"}, {"XDG_SESSION_CLASS", "user"},
		{"XDG_SESSION_DESKTOP", "ubuntu"}, {"DESKTOP_SESSION", "ubuntu"}, {"GDMSESSION", "ubuntu"},
		{"TERM_SESSION_ID", "w0t0p0:1"}, {"XDG_RUNTIME_DIR", "/run/user/1000"},
		{"KEYMAP", "us"}, {"KEYBOARD", "us"}, {"KEYTIMEOUT", "1"}, {"XKB_DEFAULT_LAYOUT", "us"},
		{"PWD", "/p"}, {"OLDPWD", "/o"}, {"SUDO_ASKPASS", "/usr/bin/ssh-askpass"},
		{"GIT_ASKPASS", "/usr/lib/git-core/git-gui--askpass"}, {"GIT_SSH_COMMAND", "ssh -i ~/.ssh/deploy -o IdentitiesOnly=yes"},
		{"GIT_AUTHOR_NAME", "Me"}, {"GIT_AUTHOR_EMAIL", "me@example.com"}, {"GIT_COMMITTER_DATE", "now"},
		{"GIT_EDITOR", "vim"}, {"GOPRIVATE", "github.com/me/*"}, {"GOAUTH", "netrc"}, {"GOFLAGS", "-mod=mod"},
		{"TOKENIZERS_PARALLELISM", "false"}, {"MAX_THINKING_TOKENS", "32000"},
		{"CLAUDE_CODE_MAX_OUTPUT_TOKENS", "8192"}, {"ANTHROPIC_BASE_URL", "https://api.anthropic.com"},
		{"HTTP_PROXY", "http://proxy.corp:3128"}, {"NO_PROXY", "localhost,127.0.0.1,.corp"},
		{"GOPROXY", "https://proxy.golang.org,direct"}, {"DOCKER_HOST", "unix:///var/run/docker.sock"},
		{"REDIS_URL", "redis://localhost:6379/0"}, {"GIT_REMOTE", "git@github.com:o/r.git"},
		{"REPO_URL", "ssh://git@github.com/o/r.git"}, {"SHORT_USER_URL", "https://user@example.com/x"},
		{"MAIL", "/var/mail/u"}, {"EMAIL", "me@example.com"}, {"DISPLAY", ":0"},
		{"SSH_CONNECTION", "10.0.0.1 51234 10.0.0.2 22"}, {"LESSOPEN", "| /usr/bin/lesspipe %s"},
		{"LS_COLORS", "rs=0:di=01;34:ln=01;36:*.tar=01;31:*.key=00;90:*.pem=00;90"},
		{"NODE_OPTIONS", "--max-old-space-size=4096"}, {"PS1", `\u@\h:\w\$ `},
		{"COMMIT", strings.Repeat("0123456789abcdef", 4)}, {"UUID", "123e4567-e89b-12d3-a456-426614174000"},
		{"TASK", "mytask-0123456789abcdefghijklmnop"}, {"NOTE", "sk-SK and AKIA"},
		{"VSCODE_GIT_IPC_HANDLE", "/run/user/1000/vscode-git-1.sock"},
		{"EDITOR", "code --wait"}, {"PAGER", "less -R"}, {"SHELL", "/bin/bash"}, {"USER", "u"},
	}
	for _, v := range held {
		if rule, ok := p.EnvAllowed(v.name, v.value); ok {
			t.Errorf("default passes %s (%s)", v.name, rule)
		} else if !strings.HasPrefix(rule, "env.deny ") && !strings.HasPrefix(rule, "env.value ") {
			t.Errorf("%s held back by %q, want a deny pattern or its value", v.name, rule)
		}
	}
	for _, v := range passed {
		if rule, ok := p.EnvAllowed(v.name, v.value); !ok {
			t.Errorf("default holds back %s=%s (%s)", v.name, v.value, rule)
		}
	}
}

// TestEnvExplicitPassWins checks that a name given exactly with
// --env-pass passes whatever the deny patterns and its value say, and only
// that name: a pass pattern does not override a deny, and the exact name
// is case-sensitive.
func TestEnvExplicitPassWins(t *testing.T) {
	p := defaultPolicy(t, "GITHUB_PAT", "REDIS_URL", "MY_KEY_VALUE")
	for _, c := range []struct {
		name, value string
		pass        bool
	}{
		{"GITHUB_PAT", fakeGitHub, true},
		{"REDIS_URL", "redis://:pw@h:6379", true},
		{"MY_KEY_VALUE", fakeAWSID, true},
		{"github_pat", "x", false},
		{"GITHUB_PATS", "x", true},
		{"OTHER_URL", "redis://:pw@h:6379", false},
	} {
		rule, ok := p.EnvAllowed(c.name, c.value)
		if ok != c.pass {
			t.Errorf("EnvAllowed(%s) = %v (%s), want %v", c.name, ok, rule, c.pass)
		}
	}
	q := &Policy{Env: EnvPolicy{Pass: []string{"*_PAT", "*"}, Deny: []string{"*_PAT"}}}
	if rule, ok := q.EnvAllowed("GITHUB_PAT", "x"); ok {
		t.Errorf("a pass pattern beat a deny pattern (%s)", rule)
	}
	// Pass patterns, unlike deny patterns, keep to the case they are
	// written in: folding them would only let more through.
	r := &Policy{Env: EnvPolicy{Pass: []string{"LC_*", "HOME"}}}
	for name, want := range map[string]bool{"LC_ALL": true, "lc_all": false, "HOME": true, "home": false} {
		if rule, ok := r.EnvAllowed(name, "x"); ok != want {
			t.Errorf("pass [LC_* HOME]: EnvAllowed(%s) = %v (%s), want %v", name, ok, rule, want)
		}
	}
}

// TestEnvHeldBack checks the list sbshim names on stderr: the variables a
// deny pattern or a value holds back, each once, sorted, with its rule and
// never its value; not the ones Pass does not list, nor the ones Set
// replaces; for a name given twice the last one counts.
func TestEnvHeldBack(t *testing.T) {
	p := &Policy{Env: EnvPolicy{
		Pass: []string{"*_URL", "GITHUB_PAT", "*_PAT", "A", "B"},
		Deny: []string{"*_pat", "B"},
		Set:  map[string]string{"B": "set"},
	}}
	host := []string{
		"GITHUB_PAT=exact", "GITLAB_PAT=p", "REDIS_URL=redis://:hunter2@h", "OK_URL=http://h",
		"UNLISTED=" + fakeGitHub, "A=" + fakeGitHub, "A=plain", "B=x", "DUP_URL=plain", "DUP_URL=https://u:p@h",
	}
	got := p.EnvHeldBack(host)
	want := []EnvHeld{
		{"DUP_URL", "env.value a URL with a password"},
		{"GITLAB_PAT", "env.deny *_pat"},
		{"REDIS_URL", "env.value a URL with a password"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("EnvHeldBack\n got %v\nwant %v", got, want)
	}
	for _, h := range got {
		if strings.Contains(h.Rule, "hunter2") || strings.Contains(h.Rule, "u:p") {
			t.Errorf("%s: the rule shows the value: %q", h.Name, h.Rule)
		}
	}
	env := p.Environ(host)
	wantEnv := []string{"A=plain", "B=set", "GITHUB_PAT=exact", "OK_URL=http://h"}
	if !slices.Equal(env, wantEnv) {
		t.Errorf("Environ\n got %v\nwant %v", env, wantEnv)
	}
}

// TestEnvMatch checks the glob semantics of env patterns: * spans /, case
// is folded only when asked.
func TestEnvMatch(t *testing.T) {
	for _, c := range []struct {
		pat, name  string
		fold, want bool
	}{
		{"*TOKEN", "npm_config_//registry.npmjs.org/:_authToken", true, true},
		{"*TOKEN", "npm_config_//registry.npmjs.org/:_authToken", false, false},
		{"*", "a/b", false, true},
		{"A/*", "a/b", true, true},
		{"[a-c]_KEY", "B_key", true, true},
		{"*_PAT", "github_pat", true, true},
		{"*_PAT", "github_pat", false, false},
		{"LC_*", "lc_all", false, false},
		{"[", "[", true, false},
	} {
		if got := envMatch(c.pat, c.name, c.fold); got != c.want {
			t.Errorf("envMatch(%q, %q, %v) = %v, want %v", c.pat, c.name, c.fold, got, c.want)
		}
	}
}

// TestDefaultEnvKeepsEarlierDenies checks that the class patterns of the
// default profile still hold back a name made from each entry of the deny
// list they replaced (each * taken as "X", "" or "A_B"), in upper and
// lower case. The
// one entry dropped on purpose is *_TOKENS: names ending in TOKENS are
// token counts (MAX_THINKING_TOKENS); a real token there is caught by its
// value.
func TestDefaultEnvKeepsEarlierDenies(t *testing.T) {
	p := defaultPolicy(t)
	earlier := []string{
		"*_TOKEN", "*_TOKEN_*", "TOKEN", "*_SECRET*", "SECRET_*", "SECRET", "*_KEY", "*_KEYS",
		"*_KEY_ID", "*_KEY_SECRET", "*_PRIVATE_KEY*", "*_API_KEY*", "*_APIKEY*", "APIKEY", "API_KEY",
		"*PASSWORD*", "*_PASSWD*", "*_PASS", "*_PWD", "*_CREDENTIAL*", "*_CREDS", "*_OAUTH*", "*_AUTH",
		"*_AUTH_*", "*_SESSION_ID", "*_COOKIE*", "*_CONNECTION_STRING", "*_DSN", "DATABASE_URL",
		"*_DATABASE_URL", "AWS_*", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
		"AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_STORAGE_*", "AZURE_DEVOPS_EXT_PAT",
		"GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_GHA_CREDS_PATH", "CLOUDSDK_AUTH_*", "SSH_AUTH_SOCK",
		"SSH_AGENT_PID", "GPG_AGENT_INFO", "DBUS_SESSION_BUS_ADDRESS", "KRB5CCNAME", "GITHUB_TOKEN",
		"GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN", "NPM_TOKEN", "NODE_AUTH_TOKEN",
		"DOCKER_AUTH_CONFIG", "DOCKER_PASSWORD", "VAULT_TOKEN", "CONSUL_HTTP_TOKEN", "NOMAD_TOKEN",
		"TF_TOKEN_*", "TWINE_PASSWORD", "PYPI_TOKEN", "UV_PUBLISH_TOKEN", "CARGO_REGISTRY_TOKEN",
		"CARGO_REGISTRIES_*_TOKEN", "GEM_HOST_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
		"CLAUDE_CODE_OAUTH_TOKEN", "SLACK_*_TOKEN", "SENTRY_AUTH_TOKEN", "HEROKU_API_KEY",
		"DIGITALOCEAN_ACCESS_TOKEN", "CLOUDFLARE_API_TOKEN", "PGPASSWORD", "PGPASSFILE", "MYSQL_PWD",
		"REDISCLI_AUTH",
	}
	for _, pat := range earlier {
		for _, n := range []string{
			strings.ReplaceAll(pat, "*", "X"), strings.ToLower(strings.ReplaceAll(pat, "*", "X")),
			strings.ReplaceAll(pat, "*", ""), strings.ReplaceAll(pat, "*", "A_B"),
		} {
			if rule, ok := p.EnvAllowed(n, "plain"); ok {
				t.Errorf("%s (was denied by %s) passes (%s)", n, pat, rule)
			}
		}
	}
}
