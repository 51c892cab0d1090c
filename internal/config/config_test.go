package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// clearEnv unsets every TRUSTEE_ variable for the test (restored after), so
// the developer's or CI's environment cannot leak into a case.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, EnvPrefix) {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

// serveFlags defines the flags the way `trustee serve` does: dashed names,
// defaults equal to Defaults, plus --config, which is not a setting.
func serveFlags() *pflag.FlagSet {
	d := Defaults()
	f := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f.String("config", "", "")
	f.String("addr", d.Addr, "")
	f.String("db", d.DB, "")
	f.String("keys-db", "", "")
	f.String("key-file", "", "")
	f.String("policy", "", "")
	f.String("tenant", d.Tenant, "")
	f.String("tls-cert", "", "")
	f.String("tls-key", "", "")
	f.String("log-level", d.LogLevel, "")
	f.String("log-format", d.LogFormat, "")
	f.Duration("shutdown-timeout", d.ShutdownTimeout, "")
	f.String("smtp-host", "", "")
	f.Int("smtp-port", 0, "")
	f.String("smtp-username", "", "")
	f.String("smtp-from", "", "")
	f.String("smtp-tls", d.SMTPTLS, "")
	f.Bool("webhook-allow-private", false, "")
	f.Int("outbox-max-attempts", d.OutboxMaxAttempts, "")
	f.String("ledger-db", "", "")
	f.String("backup-dir", "", "")
	f.String("public-url", "", "")
	f.String("export-dir", "", "")
	f.Duration("export-ttl", 0, "")
	return f
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func get(c Config, key string) string {
	switch key {
	case "addr":
		return c.Addr
	case "db":
		return c.DB
	case "keys_db":
		return c.KeysDB
	case "key_file":
		return c.KeyFile
	case "policy":
		return c.Policy
	case "tenant":
		return c.Tenant
	case "tls_cert":
		return c.TLSCert
	case "tls_key":
		return c.TLSKey
	case "log_level":
		return c.LogLevel
	case "log_format":
		return c.LogFormat
	case "shutdown_timeout":
		return c.ShutdownTimeout.String()
	case "smtp_host":
		return c.SMTPHost
	case "smtp_port":
		return strconv.Itoa(c.SMTPPort)
	case "smtp_username":
		return c.SMTPUsername
	case "smtp_password":
		return c.SMTPPassword
	case "smtp_from":
		return c.SMTPFrom
	case "smtp_tls":
		return c.SMTPTLS
	case "webhook_allow_private":
		return strconv.FormatBool(c.WebhookAllowPrivate)
	case "outbox_max_attempts":
		return strconv.Itoa(c.OutboxMaxAttempts)
	case "ledger_db":
		return c.LedgerDB
	case "backup_dir":
		return c.BackupDir
	case "public_url":
		return c.PublicURL
	case "export_dir":
		return c.ExportDir
	case "export_ttl":
		return c.ExportTTL.String()
	}
	panic("unknown key " + key)
}

func TestDefaults(t *testing.T) {
	clearEnv(t)
	for _, flags := range []*pflag.FlagSet{nil, serveFlags()} {
		c, err := Load("", flags)
		if err != nil {
			t.Fatal(err)
		}
		if c != Defaults() {
			t.Errorf("Load with nothing set = %+v, want %+v", c, Defaults())
		}
	}
	if err := Defaults().Validate(); err != nil {
		t.Errorf("Defaults do not validate: %v", err)
	}
	for _, key := range Known {
		get(Defaults(), key) // every known key is a field
	}
}

// TestPrecedence checks, for every setting, every combination of file,
// environment and flag: the highest layer present wins, and a layer that is
// absent changes nothing.
func TestPrecedence(t *testing.T) {
	type values struct{ def, file, env, flag string }
	settings := map[string]values{
		"addr":             {"127.0.0.1:8080", "10.0.0.1:1", "10.0.0.2:2", "10.0.0.3:3"},
		"db":               {"sqlite:trustee-data/trustee.db", "postgres://file@db/t", "postgres://env@db/t", "postgres://flag@db/t"},
		"key_file":         {"", "/keys/file.key", "/keys/env.key", "/keys/flag.key"},
		"policy":           {"", "/p/file.yaml", "/p/env.yaml", "/p/flag.yaml"},
		"tenant":           {"default", "file-tenant", "env-tenant", "flag-tenant"},
		"tls_cert":         {"", "/tls/file.crt", "/tls/env.crt", "/tls/flag.crt"},
		"tls_key":          {"", "/tls/file.key", "/tls/env.key", "/tls/flag.key"},
		"log_level":        {"info", "warn", "error", "debug"},
		"shutdown_timeout": {"20s", "5s", "6s", "7s"},
		// smtp_password has no flag; see TestSMTPPassword.
		"smtp_host":             {"", "file.smtp.example", "env.smtp.example", "flag.smtp.example"},
		"smtp_port":             {"0", "2525", "2526", "2527"},
		"smtp_from":             {"", "privacy@file.example", "privacy@env.example", "privacy@flag.example"},
		"smtp_tls":              {"starttls", "tls", "none", "starttls"},
		"webhook_allow_private": {"false", "true", "false", "true"},
		"outbox_max_attempts":   {"10", "3", "4", "5"},
		"ledger_db":             {"", "postgres://file@db/l", "postgres://env@db/l", "postgres://flag@db/l"},
		"backup_dir":            {"", "/backups/file", "/backups/env", "/backups/flag"},
		"public_url":            {"", "https://file.example", "https://env.example", "https://flag.example"},
		"export_dir":            {"", "/exports/file", "/exports/env", "/exports/flag"},
		"export_ttl":            {"0s", "1h0m0s", "2h0m0s", "3h0m0s"},
	}
	for key := range settings {
		if !known(key) {
			t.Fatalf("%s is not a known setting", key)
		}
	}
	for mask := range 8 {
		file, env, flag := mask&1 != 0, mask&2 != 0, mask&4 != 0
		name := strings.Join([]string{map[bool]string{true: "file", false: "-"}[file], map[bool]string{true: "env", false: "-"}[env], map[bool]string{true: "flag", false: "-"}[flag]}, "+")
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			// Unrelated TRUSTEE_ variables are not settings and do not
			// make Load fail.
			t.Setenv("TRUSTEE_ROOT_KEY", `{"primaryKeyId": 1}`)
			t.Setenv("TRUSTEE_TEST_PG_DSN", "postgres://postgres@127.0.0.1:5432/test")
			t.Setenv("TRUSTEE_CONFIG", "/nonexistent.yaml")
			flags := serveFlags()
			var yaml strings.Builder
			for key, v := range settings {
				if file {
					yaml.WriteString(key + ": " + v.file + "\n")
				}
				if env {
					t.Setenv(EnvPrefix+strings.ToUpper(key), v.env)
				}
				if flag {
					if err := flags.Set(strings.ReplaceAll(key, "_", "-"), v.flag); err != nil {
						t.Fatal(err)
					}
				}
			}
			path := ""
			if file {
				path = writeFile(t, filepath.Join(t.TempDir(), "trustee.yaml"), yaml.String())
			}
			c, err := Load(path, flags)
			if err != nil {
				t.Fatal(err)
			}
			for key, v := range settings {
				want := v.def
				switch {
				case flag:
					want = v.flag
				case env:
					want = v.env
				case file:
					want = v.file
				}
				if got := get(c, key); got != want {
					t.Errorf("%s = %q, want %q", key, got, want)
				}
			}
		})
	}
}

// TestLogFormatPrecedence: log_format has only two valid values, so its
// layers are checked pairwise.
func TestLogFormatPrecedence(t *testing.T) {
	cases := []struct {
		name            string
		file, env, flag string
		want            string
	}{
		{"default", "", "", "", "json"},
		{"file", "text", "", "", "text"},
		{"env over file", "text", "json", "", "json"},
		{"flag over env", "", "json", "text", "text"},
		{"flag over file", "json", "", "text", "text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			path := ""
			if c.file != "" {
				path = writeFile(t, filepath.Join(t.TempDir(), "t.yaml"), "log_format: "+c.file+"\n")
			}
			if c.env != "" {
				t.Setenv("TRUSTEE_LOG_FORMAT", c.env)
			}
			flags := serveFlags()
			if c.flag != "" {
				if err := flags.Set("log-format", c.flag); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := Load(path, flags)
			if err != nil || cfg.LogFormat != c.want {
				t.Errorf("LogFormat = %q, %v; want %q", cfg.LogFormat, err, c.want)
			}
		})
	}
}

// TestUnchangedFlagsDoNotOverride: only flags given on the command line
// count; a flag's own default never overrides the file, the environment or
// the built-in default, even when it differs from them.
func TestUnchangedFlagsDoNotOverride(t *testing.T) {
	clearEnv(t)
	f := pflag.NewFlagSet("other", pflag.ContinueOnError)
	f.String("addr", ":9999", "")
	f.String("policy", "/from/flag/default.yaml", "")
	f.String("tenant", "flag-default", "")
	f.String("key-file", "/from/flag/default.key", "")
	f.Duration("shutdown-timeout", time.Minute, "")
	t.Setenv("TRUSTEE_TENANT", "env-tenant")
	path := writeFile(t, filepath.Join(t.TempDir(), "t.yaml"), "key_file: /etc/trustee/root.key\n")
	c, err := Load(path, f)
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Tenant = "env-tenant"
	want.KeyFile = "/etc/trustee/root.key"
	if c != want {
		t.Errorf("Load = %+v\nwant %+v", c, want)
	}
}

func TestFlagsNil(t *testing.T) {
	clearEnv(t)
	t.Setenv("TRUSTEE_ADDR", ":1234")
	c, err := Load("", nil)
	if err != nil || c.Addr != ":1234" {
		t.Errorf("Load without flags = %+v, %v", c, err)
	}
}

func TestUnrelatedEnvIgnored(t *testing.T) {
	clearEnv(t)
	for name, v := range map[string]string{
		"TRUSTEE_ROOT_KEY":      "garbage that is not a setting",
		"TRUSTEE_TEST_PG_DSN":   "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"TRUSTEE_REQUIRE_PG":    "1",
		"TRUSTEE_CONFIG":        "/etc/trustee/trustee.yaml",
		"TRUSTEE_":              "x",
		"TRUSTEE_KEYFILE":       "typo",
		"TRUSTEE_TLS":           "on",
		"TRUSTEE_DB_EXTRA":      "x",
		"NOT_TRUSTEE_ADDR":      ":1",
		"trustee_addr_lower_x2": ":2",
	} {
		t.Setenv(name, v)
	}
	c, err := Load("", serveFlags())
	if err != nil {
		t.Fatal(err)
	}
	if c != Defaults() {
		t.Errorf("Load = %+v, want the defaults", c)
	}
}

func TestUnknownKeyInFile(t *testing.T) {
	cases := []struct {
		name, yaml, key string
	}{
		{"typo", "addr: :1\nkeyfile: root.key\n", `"keyfile"`},
		{"dashed flag name", "key-file: root.key\n", `"key-file"`},
		{"upper case", "ADDR: :1\n", `"ADDR"`},
		{"nested", "tls:\n  cert: a.pem\n", `"tls.cert"`},
		{"env-only variable", "root_key: abc\n", `"root_key"`},
		{"config itself", "config: other.yaml\n", `"config"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			path := writeFile(t, filepath.Join(t.TempDir(), "trustee.yaml"), c.yaml)
			_, err := Load(path, nil)
			if err == nil || !strings.Contains(err.Error(), c.key) || !strings.Contains(err.Error(), path) {
				t.Errorf("Load = %v, want an error naming %s and the file", err, c.key)
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	cases := []struct {
		name, path, want string
	}{
		{"missing file", filepath.Join(dir, "missing.yaml"), "config file"},
		{"bad yaml", writeFile(t, filepath.Join(dir, "bad.yaml"), "addr: [oops\n"), "bad.yaml"},
		{"list instead of map", writeFile(t, filepath.Join(dir, "list.yaml"), "- addr\n"), "list.yaml"},
		{"bad duration", writeFile(t, filepath.Join(dir, "dur.yaml"), "shutdown_timeout: soon\n"), "settings"},
		{"duration without unit", writeFile(t, filepath.Join(dir, "num.yaml"), "shutdown_timeout: 30\n"), "shutdown_timeout must be a duration with a unit"},
		{"fractional duration without unit", writeFile(t, filepath.Join(dir, "frac.yaml"), "shutdown_timeout: 2.5\n"), "shutdown_timeout must be a duration with a unit"},
		{"bad log format", writeFile(t, filepath.Join(dir, "lf.yaml"), "log_format: xml\n"), "log_format"},
		{"cert without key", writeFile(t, filepath.Join(dir, "tls.yaml"), "tls_cert: /a.pem\n"), "tls_cert and tls_key"},
	}
	for _, c := range cases {
		if _, err := Load(c.path, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Load = %v, want an error containing %q", c.name, err, c.want)
		}
	}
	mixed := writeFile(t, filepath.Join(dir, "mixed.yaml"), "shutdown_timeout: 1m30s\n")
	if c, err := Load(mixed, nil); err != nil || c.ShutdownTimeout != 90*time.Second {
		t.Errorf("shutdown_timeout 1m30s: %v, %v", c.ShutdownTimeout, err)
	}
	// An empty file is a valid file that sets nothing.
	empty := writeFile(t, filepath.Join(dir, "empty.yaml"), "# nothing yet\n")
	if c, err := Load(empty, nil); err != nil || c != Defaults() {
		t.Errorf("empty file: %+v, %v", c, err)
	}
}

func TestEnvErrors(t *testing.T) {
	cases := []struct{ name, value, want string }{
		{"TRUSTEE_SHUTDOWN_TIMEOUT", "soon", "settings"},
		{"TRUSTEE_SHUTDOWN_TIMEOUT", "30", "settings"},
		{"TRUSTEE_SHUTDOWN_TIMEOUT", "-1s", "shutdown_timeout"},
		{"TRUSTEE_LOG_FORMAT", "xml", "log_format"},
		{"TRUSTEE_LOG_LEVEL", "verbose", "log_level"},
		{"TRUSTEE_TLS_KEY", "/k.pem", "tls_cert and tls_key"},
		{"TRUSTEE_ADDR", "", "addr"},
		{"TRUSTEE_SMTP_TLS", "ssl", "smtp_tls"},
		{"TRUSTEE_SMTP_PORT", "submission", "settings"},
		{"TRUSTEE_WEBHOOK_ALLOW_PRIVATE", "maybe", "settings"},
		{"TRUSTEE_SMTP_FROM", "p@acme.example", "smtp_host is required"},
	}
	for _, c := range cases {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(c.name, c.value)
			if _, err := Load("", nil); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Load = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestRelativePaths: paths in a config file are relative to the file, so
// the file works from any working directory; absolute paths, PostgreSQL
// DSNs and paths from the environment or flags are kept as given.
func TestRelativePaths(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc", "trustee")
	cases := []struct {
		key, value, want string
	}{
		{"key_file", "root.key", filepath.Join(dir, "root.key")},
		{"key_file", "keys/root.key", filepath.Join(dir, "keys", "root.key")},
		{"key_file", "../secrets/root.key", filepath.Join(filepath.Dir(dir), "secrets", "root.key")},
		{"key_file", "/var/lib/trustee/root.key", "/var/lib/trustee/root.key"},
		{"policy", "policy.yaml", filepath.Join(dir, "policy.yaml")},
		{"export_dir", "exports", filepath.Join(dir, "exports")},
		{"policy", "/srv/policy.yaml", "/srv/policy.yaml"},
		{"db", "sqlite:data/trustee.db", "sqlite:" + filepath.Join(dir, "data", "trustee.db")},
		{"db", "sqlite:/var/lib/trustee/trustee.db", "sqlite:/var/lib/trustee/trustee.db"},
		{"db", "sqlite:///var/lib/trustee/trustee.db", "sqlite:///var/lib/trustee/trustee.db"},
		{"db", "sqlite://trustee.db", "sqlite:" + filepath.Join(dir, "trustee.db")},
		{"db", "sqlite3:trustee.db", "sqlite:" + filepath.Join(dir, "trustee.db")},
		{"db", "file:trustee.db", "sqlite:" + filepath.Join(dir, "trustee.db")},
		{"db", "file:/abs/trustee.db", "file:/abs/trustee.db"},
		{"db", "trustee.db", "sqlite:" + filepath.Join(dir, "trustee.db")},
		{"db", "data/trustee.db", "sqlite:" + filepath.Join(dir, "data", "trustee.db")},
		{"db", "/var/lib/trustee.db", "/var/lib/trustee.db"},
		{"db", "postgres://trustee@db.internal/trustee?sslmode=require&search_path=t1", "postgres://trustee@db.internal/trustee?sslmode=require&search_path=t1"},
		{"db", "postgresql://trustee@db/trustee", "postgresql://trustee@db/trustee"},
		{"ledger_db", "sqlite:ledger/erasure-ledger.db", "sqlite:" + filepath.Join(dir, "ledger", "erasure-ledger.db")},
		{"ledger_db", "postgres://trustee@db/trustee?search_path=ledger", "postgres://trustee@db/trustee?search_path=ledger"},
		{"backup_dir", "backups", filepath.Join(dir, "backups")},
		{"backup_dir", "/srv/backups", "/srv/backups"},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			clearEnv(t)
			path := writeFile(t, filepath.Join(dir, "trustee.yaml"), c.key+": "+quote(c.value)+"\n")
			cfg, err := Load(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := get(cfg, c.key); got != c.want {
				t.Errorf("%s = %q, want %q", c.key, got, c.want)
			}
		})
	}

	t.Run("tls pair", func(t *testing.T) {
		clearEnv(t)
		path := writeFile(t, filepath.Join(dir, "trustee.yaml"), "tls_cert: tls/cert.pem\ntls_key: /etc/ssl/key.pem\n")
		cfg, err := Load(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TLSCert != filepath.Join(dir, "tls", "cert.pem") || cfg.TLSKey != "/etc/ssl/key.pem" {
			t.Errorf("tls = %q, %q", cfg.TLSCert, cfg.TLSKey)
		}
	})

	t.Run("env and flags stay relative to the working directory", func(t *testing.T) {
		clearEnv(t)
		path := writeFile(t, filepath.Join(dir, "trustee.yaml"), "key_file: root.key\npolicy: policy.yaml\ndb: sqlite:file.db\n")
		t.Setenv("TRUSTEE_KEY_FILE", "env.key")
		t.Setenv("TRUSTEE_DB", "sqlite:env.db")
		flags := serveFlags()
		if err := flags.Set("policy", "flag.yaml"); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, flags)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.KeyFile != "env.key" || cfg.DB != "sqlite:env.db" || cfg.Policy != "flag.yaml" {
			t.Errorf("got key_file %q, db %q, policy %q", cfg.KeyFile, cfg.DB, cfg.Policy)
		}
	})

	t.Run("relative config file path", func(t *testing.T) {
		clearEnv(t)
		wd := t.TempDir()
		writeFile(t, filepath.Join(wd, "conf", "trustee.yaml"), "key_file: root.key\ndb: sqlite:data.db\n")
		t.Chdir(wd)
		cfg, err := Load(filepath.Join("conf", "trustee.yaml"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.KeyFile != filepath.Join("conf", "root.key") || cfg.DB != "sqlite:"+filepath.Join("conf", "data.db") {
			t.Errorf("got key_file %q, db %q", cfg.KeyFile, cfg.DB)
		}
	})
}

func quote(s string) string { return `"` + s + `"` }

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Config)
		want   string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"tls pair", func(c *Config) { c.TLSCert, c.TLSKey = "c.pem", "k.pem" }, ""},
		{"tls cert only", func(c *Config) { c.TLSCert = "c.pem" }, "tls_cert and tls_key"},
		{"tls key only", func(c *Config) { c.TLSKey = "k.pem" }, "tls_cert and tls_key"},
		{"text logs", func(c *Config) { c.LogFormat = "text" }, ""},
		{"bad log format", func(c *Config) { c.LogFormat = "xml" }, `log_format must be json or text, not "xml"`},
		{"empty log format", func(c *Config) { c.LogFormat = "" }, "log_format"},
		{"upper-case log format", func(c *Config) { c.LogFormat = "JSON" }, "log_format"},
		{"debug", func(c *Config) { c.LogLevel = "debug" }, ""},
		{"WARN", func(c *Config) { c.LogLevel = "WARN" }, ""},
		{"bad log level", func(c *Config) { c.LogLevel = "verbose" }, "log_level"},
		{"zero shutdown", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout"},
		{"negative shutdown", func(c *Config) { c.ShutdownTimeout = -time.Second }, "shutdown_timeout"},
		{"empty addr", func(c *Config) { c.Addr = "" }, "addr"},
		{"empty db", func(c *Config) { c.DB = "" }, "db"},
		{"smtp", func(c *Config) { c.SMTPHost, c.SMTPFrom = "smtp.example.com", "Acme <privacy@acme.example>" }, ""},
		{"smtp with auth", func(c *Config) {
			c.SMTPHost, c.SMTPFrom, c.SMTPUsername, c.SMTPPassword = "smtp.example.com", "privacy@acme.example", "u", "p"
		}, ""},
		{"smtp on an IPv6 address", func(c *Config) { c.SMTPHost, c.SMTPFrom = "::1", "privacy@acme.example" }, ""},
		{"smtp without from", func(c *Config) { c.SMTPHost = "smtp.example.com" }, "smtp_from is required"},
		{"smtp with a bad from", func(c *Config) { c.SMTPHost, c.SMTPFrom = "smtp.example.com", "privacy" }, "smtp_from must be"},
		{"smtp host with port", func(c *Config) { c.SMTPHost, c.SMTPFrom = "smtp.example.com:587", "p@acme.example" }, "smtp_host"},
		{"smtp host as URL", func(c *Config) { c.SMTPHost, c.SMTPFrom = "smtp://smtp.example.com", "p@acme.example" }, "smtp_host"},
		{"smtp user without password", func(c *Config) {
			c.SMTPHost, c.SMTPFrom, c.SMTPUsername = "smtp.example.com", "p@acme.example", "u"
		}, "together"},
		{"smtp settings without host", func(c *Config) { c.SMTPFrom = "p@acme.example" }, "smtp_host is required"},
		{"bad smtp_tls", func(c *Config) { c.SMTPTLS = "ssl" }, "smtp_tls"},
		{"empty smtp_tls", func(c *Config) { c.SMTPTLS = "" }, "smtp_tls"},
		{"bad smtp_port", func(c *Config) { c.SMTPPort = 65536 }, "smtp_port"},
		{"zero outbox attempts", func(c *Config) { c.OutboxMaxAttempts = 0 }, "outbox_max_attempts"},
		{"public url", func(c *Config) { c.PublicURL = "https://privacy.example.com" }, ""},
		{"negative export ttl", func(c *Config) { c.ExportTTL = -time.Hour }, "export_ttl"},
		{"public url with a path", func(c *Config) { c.PublicURL = "http://127.0.0.1:8080/trustee" }, ""},
		{"relative public url", func(c *Config) { c.PublicURL = "privacy.example.com" }, "public_url must be"},
		{"public url with a query", func(c *Config) { c.PublicURL = "https://privacy.example.com/?a=b" }, "public_url must be"},
		{"public url with credentials", func(c *Config) { c.PublicURL = "https://u:p@privacy.example.com" }, "public_url must be"},
		{"ftp public url", func(c *Config) { c.PublicURL = "ftp://privacy.example.com" }, "public_url must be"},
	}
	for _, c := range cases {
		cfg := Defaults()
		c.change(&cfg)
		err := cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: Validate = %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// TestSMTPPassword: the password comes from the file or the environment
// (there is no flag, as flags show in process listings), and never shows in
// logs of the settings.
func TestSMTPPassword(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	file := writeFile(t, filepath.Join(dir, "trustee.yaml"),
		"smtp_host: smtp.example.com\nsmtp_from: privacy@acme.example\nsmtp_username: trustee\nsmtp_password: from-the-file\n")
	c, err := Load(file, serveFlags())
	if err != nil || c.SMTPPassword != "from-the-file" {
		t.Fatalf("file: %q, %v", c.SMTPPassword, err)
	}
	t.Setenv("TRUSTEE_SMTP_PASSWORD", "from-the-env")
	c, err = Load(file, serveFlags())
	if err != nil || c.SMTPPassword != "from-the-env" {
		t.Fatalf("env: %q, %v", c.SMTPPassword, err)
	}
	if serveFlags().Lookup("smtp-password") != nil {
		t.Error("a password flag exists")
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("settings", "config", c)
	if strings.Contains(buf.String(), "from-the-env") || !strings.Contains(buf.String(), "smtp.example.com") {
		t.Errorf("logged settings: %s", buf.String())
	}
	if err := c.Validate(); err != nil || strings.Contains(fmt.Sprint(c.validateSMTP()), "from-the") {
		t.Errorf("validate: %v", err)
	}
}
