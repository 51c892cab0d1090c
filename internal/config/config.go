// Package config merges Trustee's settings from defaults, a config file,
// TRUSTEE_* environment variables and command-line flags, in that order of
// increasing precedence, so the same binary runs from a laptop flag or a
// container's environment without a wrapper script.
package config

import (
	"fmt"
	"log/slog"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"

	"github.com/trustee-privacy/trustee/internal/store/engines"
)

// Config is every setting of `trustee serve`.
type Config struct {
	Addr            string        `koanf:"addr"`
	DB              string        `koanf:"db"`
	KeysDB          string        `koanf:"keys_db"`
	KeyFile         string        `koanf:"key_file"`
	Policy          string        `koanf:"policy"`
	Tenant          string        `koanf:"tenant"`
	TLSCert         string        `koanf:"tls_cert"`
	TLSKey          string        `koanf:"tls_key"`
	LogLevel        string        `koanf:"log_level"`
	LogFormat       string        `koanf:"log_format"`
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`

	// Outgoing email (package outbox). Without SMTPHost, emails stay
	// queued and say "SMTP not configured"; they are never dropped.
	SMTPHost     string `koanf:"smtp_host"`
	SMTPPort     int    `koanf:"smtp_port"` // 0: 587, 465 or 25 by SMTPTLS
	SMTPUsername string `koanf:"smtp_username"`
	// SMTPPassword is best given as TRUSTEE_SMTP_PASSWORD; there is no
	// flag for it, as flags show in process listings. Never logged.
	SMTPPassword string `koanf:"smtp_password"`
	SMTPFrom     string `koanf:"smtp_from"`
	SMTPTLS      string `koanf:"smtp_tls"` // starttls | tls | none
	// WebhookAllowPrivate lets webhooks reach loopback, private and
	// link-local addresses; off, as a webhook URL must not reach inside
	// the network.
	WebhookAllowPrivate bool `koanf:"webhook_allow_private"`
	// OutboxMaxAttempts is how often an email or webhook is tried before
	// it is dead-lettered.
	OutboxMaxAttempts int `koanf:"outbox_max_attempts"`

	// LedgerDB is the erasure ledger (see internal/backup): erasure-ledger.db
	// beside an SQLite data file by default, the data database on
	// PostgreSQL. Keep it where no restore of the data or the key store
	// writes. BackupDir, if set, is pruned of backups older than the
	// policies' backup retention, hourly.
	LedgerDB  string `koanf:"ledger_db"`
	BackupDir string `koanf:"backup_dir"`

	// PublicURL is where people reach this Trustee from outside, e.g.
	// https://privacy.example.com: links in emails (privacy center,
	// downloads) are built on it. Empty: emails carry no links and point
	// to the controller's contact instead.
	PublicURL string `koanf:"public_url"`

	// ExportDir holds the encrypted access and portability exports: beside
	// an SQLite data file by default, a temporary directory on PostgreSQL,
	// where instances must share it (set it). ExportTTL is how long an
	// export is kept before the sweep deletes it (0: seven days).
	ExportDir string        `koanf:"export_dir"`
	ExportTTL time.Duration `koanf:"export_ttl"`
}

// Defaults are used when nothing else sets a value.
func Defaults() Config {
	return Config{
		Addr:              "127.0.0.1:8080",
		DB:                "sqlite:trustee-data/trustee.db",
		Tenant:            "default",
		LogLevel:          "info",
		LogFormat:         "json",
		ShutdownTimeout:   20 * time.Second,
		SMTPTLS:           "starttls",
		OutboxMaxAttempts: 10,
	}
}

// EnvPrefix starts every environment variable Trustee reads.
const EnvPrefix = "TRUSTEE_"

// Known lists the setting names, for error messages and docs.
var Known = []string{"addr", "db", "keys_db", "key_file", "policy", "tenant", "tls_cert", "tls_key", "log_level", "log_format", "shutdown_timeout",
	"smtp_host", "smtp_port", "smtp_username", "smtp_password", "smtp_from", "smtp_tls", "webhook_allow_private", "outbox_max_attempts",
	"ledger_db", "backup_dir", "public_url", "export_dir", "export_ttl"}

// Load merges defaults, the file (if path is not empty), the environment and
// the flags that were set on the command line. Flag names use dashes
// (--key-file) and map to the underscore keys (key_file); env variables are
// TRUSTEE_ plus the key in upper case (TRUSTEE_KEY_FILE).
func Load(path string, flags *pflag.FlagSet) (Config, error) {
	k := koanf.New(".")
	d := Defaults()
	def := map[string]any{
		"addr": d.Addr, "db": d.DB, "tenant": d.Tenant, "log_level": d.LogLevel,
		"log_format": d.LogFormat, "shutdown_timeout": d.ShutdownTimeout.String(),
		"smtp_tls": d.SMTPTLS, "outbox_max_attempts": d.OutboxMaxAttempts,
	}
	for key, v := range def {
		if err := k.Set(key, v); err != nil {
			return Config{}, err
		}
	}
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return Config{}, fmt.Errorf("config file: %w", err)
		}
		kf := koanf.New(".")
		if err := kf.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
		for _, key := range kf.Keys() {
			if !known(key) {
				return Config{}, fmt.Errorf("config file %s: unknown setting %q (known: %s)", path, key, strings.Join(Known, ", "))
			}
		}
		// YAML reads `shutdown_timeout: 30` as a number, which would decode
		// to 30 nanoseconds; a duration must be written with its unit.
		if v := kf.Get("shutdown_timeout"); v != nil {
			if _, ok := v.(string); !ok {
				return Config{}, fmt.Errorf("config file %s: shutdown_timeout must be a duration with a unit, such as 20s, not %v", path, v)
			}
		}
		// Paths in a config file are relative to the file, so the file works
		// from whatever directory trustee is started in.
		base := filepath.Dir(path)
		for _, key := range []string{"key_file", "policy", "tls_cert", "tls_key", "backup_dir", "export_dir"} {
			if v := kf.String(key); v != "" && !filepath.IsAbs(v) {
				if err := kf.Set(key, filepath.Join(base, v)); err != nil {
					return Config{}, err
				}
			}
		}
		// Every SQLite form the store accepts (sqlite:PATH, sqlite://PATH,
		// sqlite3:, file:, a bare path) is resolved; PostgreSQL DSNs and
		// DSNs the store rejects anyway are kept as written.
		for _, key := range []string{"db", "keys_db", "ledger_db"} {
			if v := kf.String(key); v != "" {
				kind, p, err := engines.Parse(v)
				if err == nil && kind == engines.SQLite && p != "" && !filepath.IsAbs(p) && !strings.HasPrefix(p, ":memory:") {
					if err := kf.Set(key, "sqlite:"+filepath.Join(base, p)); err != nil {
						return Config{}, err
					}
				}
			}
		}
		if err := k.Merge(kf); err != nil {
			return Config{}, err
		}
	}
	if err := k.Load(env.Provider(".", env.Opt{
		Prefix: EnvPrefix,
		TransformFunc: func(key, v string) (string, any) {
			key = strings.ToLower(strings.TrimPrefix(key, EnvPrefix))
			if !known(key) {
				return "", nil // TRUSTEE_ROOT_KEY, TRUSTEE_TEST_* etc. are not settings
			}
			return key, v
		},
	}), nil); err != nil {
		return Config{}, fmt.Errorf("environment: %w", err)
	}
	if flags != nil {
		if err := k.Load(posflag.ProviderWithFlag(flags, ".", k, func(f *pflag.Flag) (string, any) {
			key := strings.ReplaceAll(f.Name, "-", "_")
			// Only flags given on the command line count: posflag would
			// otherwise use an unchanged flag's default for a key no lower
			// layer set.
			if !known(key) || !f.Changed {
				return "", nil
			}
			return key, posflag.FlagVal(flags, f)
		}), nil); err != nil {
			return Config{}, fmt.Errorf("flags: %w", err)
		}
	}
	var c Config
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return Config{}, fmt.Errorf("settings: %w", err)
	}
	return c, c.Validate()
}

func known(key string) bool {
	for _, k := range Known {
		if k == key {
			return true
		}
	}
	return false
}

// Validate checks settings that would otherwise fail late and obscurely.
func (c Config) Validate() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("tls_cert and tls_key must be given together")
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		return fmt.Errorf("log_format must be json or text, not %q", c.LogFormat)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("shutdown_timeout must be positive")
	}
	if c.Addr == "" {
		return fmt.Errorf("addr must not be empty")
	}
	if c.DB == "" {
		return fmt.Errorf("db must not be empty")
	}
	if c.ExportTTL < 0 {
		return fmt.Errorf("export_ttl must not be negative")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("public_url must be an absolute http(s) URL without query, fragment or credentials, e.g. https://privacy.example.com, not %q", c.PublicURL)
		}
	}
	return c.validateSMTP()
}

// LogValue shows the settings in structured logs without the SMTP
// password.
func (c Config) LogValue() slog.Value {
	if c.SMTPPassword != "" {
		c.SMTPPassword = "[redacted]"
	}
	type plain Config // without this method
	return slog.AnyValue(plain(c))
}

// validateSMTP checks the outgoing-mail settings, naming the setting at
// fault. The password is never part of a message.
func (c Config) validateSMTP() error {
	switch c.SMTPTLS {
	case "starttls", "tls", "none":
	default:
		return fmt.Errorf("smtp_tls must be starttls, tls or none, not %q", c.SMTPTLS)
	}
	if c.SMTPPort < 0 || c.SMTPPort > 65535 {
		return fmt.Errorf("smtp_port must be 1 to 65535 (or 0 for the usual port of smtp_tls), not %d", c.SMTPPort)
	}
	if c.OutboxMaxAttempts < 1 || c.OutboxMaxAttempts > 100 {
		return fmt.Errorf("outbox_max_attempts must be 1 to 100, not %d", c.OutboxMaxAttempts)
	}
	if c.SMTPHost == "" {
		if c.SMTPFrom != "" || c.SMTPUsername != "" || c.SMTPPassword != "" || c.SMTPPort != 0 {
			return fmt.Errorf("smtp_host is required when other smtp_ settings are given")
		}
		return nil
	}
	if _, ipErr := netip.ParseAddr(c.SMTPHost); strings.ContainsAny(c.SMTPHost, " /\r\n[]") || (ipErr != nil && strings.Contains(c.SMTPHost, ":")) {
		return fmt.Errorf("smtp_host must be a host name or address without scheme or port (use smtp_port), not %q", c.SMTPHost)
	}
	if c.SMTPFrom == "" {
		return fmt.Errorf("smtp_from is required when smtp_host is set, e.g. \"Acme Privacy <privacy@acme.example>\"")
	}
	if _, err := mail.ParseAddress(c.SMTPFrom); err != nil {
		return fmt.Errorf("smtp_from must be an email address, optionally with a name, e.g. \"Acme Privacy <privacy@acme.example>\"")
	}
	if (c.SMTPUsername == "") != (c.SMTPPassword == "") {
		return fmt.Errorf("smtp_username and smtp_password must be given together (the password best in TRUSTEE_SMTP_PASSWORD)")
	}
	return nil
}
