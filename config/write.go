package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// fileHeader opens every file Write produces.
const fileHeader = `# Actorchain node configuration (node.yaml).
#
# Every key can be overridden by an environment variable: ACTORCHAIN_ and the key path in upper
# case with _ for dots, e.g. chain.pow_bits -> ACTORCHAIN_CHAIN_POW_BITS. In the environment,
# lists are comma- or space-separated and chain.alloc is ADDRESS=BALANCE,ADDRESS=BALANCE.
# Unknown keys are an error. Durations use Go syntax (5s, 1m30s). Relative paths are relative to
# the node's home directory. Reference: docs/config.md.
`

// Write writes c to path as a commented YAML file holding every key, in the layout of
// CONTRACT §2: each section and key has a comment above it that explains it and names its
// default and its environment variable. Paths are written as given (relative paths stay
// relative). Loading the file back gives c again (with Home, File and resolved paths set by
// Load).
//
// Write first validates c and returns its *Error without writing anything if c is invalid.
// It creates missing parent directories (mode 0755) and replaces path atomically (a temporary
// file in the same directory, synced, then renamed), so a crash leaves either the old file or
// the new one; the file's mode is 0644 whatever the umask. I/O failures are returned wrapped,
// not as *Error.
func Write(path string, c *Config) error {
	if err := c.validate(); err != nil {
		return err
	}
	data := render(c)

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write config %q: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write config %q: %w", path, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write config %q: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write config %q: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write config %q: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write config %q: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write config %q: %w", path, err)
	}
	committed = true
	// Make the rename durable. Not every platform can sync a directory; the file itself is
	// complete either way, so a failure here is not reported.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// render returns the YAML text Write writes for c.
func render(c *Config) []byte {
	def := Default()
	var b strings.Builder
	b.WriteString(fileHeader)
	for _, sec := range sections {
		fmt.Fprintf(&b, "\n# %s\n%s:\n", sec.help, sec.name)
		for i := range entries {
			e := &entries[i]
			if e.section() != sec.name {
				continue
			}
			fmt.Fprintf(&b, "  # %s\n", e.help)
			fmt.Fprintf(&b, "  # Default: %s. Env: %s.\n", e.inline(def), EnvName(e.path))
			fmt.Fprintf(&b, "  %s:%s\n", e.name(), e.block(c, "    "))
		}
	}
	return []byte(b.String())
}

// inline renders the key's value in c on one line (flow style for lists and maps).
func (e *entry) inline(c *Config) string {
	switch p := e.field(c).(type) {
	case *[]string:
		items := make([]string, len(*p))
		for i, s := range *p {
			items[i] = yamlString(s)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case *map[string]uint64:
		items := make([]string, 0, len(*p))
		for _, a := range sortedKeys(*p) {
			items = append(items, strconv.Quote(a)+": "+strconv.FormatUint((*p)[a], 10))
		}
		return "{" + strings.Join(items, ", ") + "}"
	}
	return e.scalar(c)
}

// block renders the key's value in c as it follows "name:" in the file: " scalar", or a
// newline and one indented line per element for a non-empty list or map.
func (e *entry) block(c *Config, indent string) string {
	var b strings.Builder
	switch p := e.field(c).(type) {
	case *[]string:
		if len(*p) == 0 {
			return " []"
		}
		for _, s := range *p {
			b.WriteString("\n" + indent + "- " + yamlString(s))
		}
		return b.String()
	case *map[string]uint64:
		if len(*p) == 0 {
			return " {}"
		}
		for _, a := range sortedKeys(*p) {
			// NB: addresses are always quoted: an all-digit one would otherwise read back as a number.
			b.WriteString("\n" + indent + strconv.Quote(a) + ": " + strconv.FormatUint((*p)[a], 10))
		}
		return b.String()
	}
	return " " + e.scalar(c)
}

// scalar renders a scalar key's value in c.
func (e *entry) scalar(c *Config) string {
	switch p := e.field(c).(type) {
	case *string:
		return yamlString(*p)
	case *int:
		return strconv.Itoa(*p)
	case *uint64:
		return strconv.FormatUint(*p, 10)
	case *bool:
		return strconv.FormatBool(*p)
	case *time.Duration:
		return p.String()
	case *time.Time:
		return p.Format(time.RFC3339Nano)
	}
	panic("config: not a scalar key: " + e.path)
}

// plainChars are the characters a string may be written with unquoted (if YAML still reads it
// back as the same string; see yamlString).
var plainChars = regexp.MustCompile(`^[A-Za-z0-9._/@:+~-]+$`)

// yamlString renders s as a YAML scalar that reads back as the string s: plain when that is
// unambiguous (127.0.0.1:7600, keys/node.key), else double-quoted. Go's quoting is valid YAML
// for valid UTF-8 (its escapes are a subset of YAML's); Validate guarantees valid UTF-8.
func yamlString(s string) string {
	if plainChars.MatchString(s) {
		var v map[string]any
		if err := yaml.Unmarshal([]byte("k: "+s), &v); err == nil && v["k"] == s {
			return s
		}
	}
	return strconv.Quote(s)
}
