package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/trustee-privacy/trustee/internal/keys"
)

//go:embed starter/policy.yaml
var starterPolicy []byte

const starterConfig = `# Trustee configuration for ` + "`trustee serve --config trustee.yaml`" + `.
# Flags and TRUSTEE_* environment variables override these settings.
# Relative paths are relative to this file.

addr: 127.0.0.1:8080
# SQLite file (created if missing), or postgres://user@host/db?sslmode=verify-full
db: sqlite:trustee-data/trustee.db
# The root key wraps every tenant key. Keep it apart from database backups.
key_file: root.key
# Applied to the tenant below at every start (a new version only when it changed).
policy: policy.yaml
tenant: default
log_level: info
log_format: json
# tls_cert: cert.pem
# tls_key: key.pem
`

func newInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a starter policy, config file and root key",
		Long: `Write three files into DIR (default: the current directory):

  policy.yaml    a commented starter policy to edit
  trustee.yaml   a config file for ` + "`trustee serve --config`" + `
  root.key       a new root key (mode 0600); keep it apart from database backups

Existing files are never overwritten: if any of the three exists, nothing is written.`,
		Example: `  trustee init mycompany
  trustee serve --config mycompany/trustee.yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			files := []string{"policy.yaml", "trustee.yaml", "root.key"}
			var existing []string
			for _, f := range files {
				if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
					existing = append(existing, filepath.Join(dir, f))
				} else if !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			if len(existing) > 0 {
				return fmt.Errorf("refusing to overwrite %v; nothing was written", existing)
			}
			if err := writeNew(filepath.Join(dir, "policy.yaml"), starterPolicy, 0o644); err != nil {
				return err
			}
			if err := writeNew(filepath.Join(dir, "trustee.yaml"), []byte(starterConfig), 0o644); err != nil {
				return err
			}
			if err := keys.WriteRootKeyFile(filepath.Join(dir, "root.key")); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Wrote %s, %s and %s (mode 0600).\n", filepath.Join(dir, "policy.yaml"),
				filepath.Join(dir, "trustee.yaml"), filepath.Join(dir, "root.key"))
			fmt.Fprintf(out, "Next:\n  trustee policy validate %s\n  trustee serve --config %s\n",
				filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "trustee.yaml"))
			return nil
		},
	}
}

// writeNew creates path exclusively, so a file appearing meanwhile is not
// clobbered.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
