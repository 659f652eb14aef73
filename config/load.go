package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/viper"
)

// FileName is the name of the config file inside HOME.
const FileName = "node.yaml"

// pathKeys are the keys holding file paths, which Load resolves against HOME.
var pathKeys = []string{"node.key_file", "storage.path", "mining.key_file"}

// Load returns the effective configuration of the node whose home directory is home.
//
// It starts from Default, applies the YAML file (file, or HOME/node.yaml when file is "" and
// that exists; a relative file is relative to the working directory), then the environment
// variables in environ (os.Environ() in the CLI; "NAME=value" entries, later ones win), then
// normalises hex to lower case and genesis_time to UTC, validates, and finally makes
// storage.path, node.key_file and mining.key_file absolute by joining relative ones to home.
// Home and File are set to absolute paths.
//
// A list or map given in the file or the environment replaces the default (or file) value
// entirely. An empty list yields a nil slice; Alloc is never nil.
//
// Every failure is an *Error: an unknown key anywhere in the file (naming its full path), an
// ACTORCHAIN_* variable that names no key (except HomeEnv), a value that does not parse or
// fails Validate, or a file that cannot be read or is not YAML. Load does not touch anything
// but the file it reads; it is safe to call concurrently.
func Load(home, file string, environ []string) (*Config, error) {
	c, err := load(home, file, environ)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func load(home, file string, environ []string) (*Config, *Error) {
	if home == "" {
		return nil, newError("home", "must not be empty")
	}
	absHome, err := filepath.Abs(home)
	if err != nil {
		return nil, &Error{Key: "home", Problem: err.Error(), Err: err}
	}
	c := Default()
	c.Home = absHome

	path, cerr := findFile(absHome, file)
	if cerr != nil {
		return nil, cerr
	}
	l := newLayers()
	if path != "" {
		settings, err := readFile(path)
		if err != nil {
			return nil, err
		}
		if err := checkKeys(settings); err != nil {
			return nil, err
		}
		if err := l.setFile(settings); err != nil {
			return nil, err
		}
		c.File = path
	}
	if err := l.bindEnv(environ); err != nil {
		return nil, err
	}
	if err := l.resolve(c); err != nil {
		return nil, err
	}
	fromEnv := l.fromEnv
	c.normalize()
	if err := c.validateFrom(fromEnv); err != nil {
		return nil, err
	}
	for _, k := range pathKeys {
		p := byPath[k].field(c).(*string)
		if !filepath.IsAbs(*p) {
			*p = filepath.Join(absHome, *p)
		}
	}
	return c, nil
}

// LoadChain returns the chain section of the config file at path (any node.yaml), as the node
// using that file would see it without environment overrides: missing chain keys take their
// defaults, hex is lower-cased and genesis_time is in UTC. `node init --chain FILE` copies it.
//
// The whole file must be valid YAML without unknown keys, but only the chain section is
// validated. Every failure is an *Error.
func LoadChain(path string) (Chain, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Chain{}, &Error{Key: path, Problem: err.Error(), Err: err}
	}
	settings, cerr := readFile(abs)
	if cerr != nil {
		return Chain{}, cerr
	}
	c := Default()
	if err := c.apply(settings); err != nil {
		return Chain{}, err
	}
	c.normalize()
	if err := c.validateChain(); err != nil {
		return Chain{}, err
	}
	return c.Chain, nil
}

// findFile returns the absolute path of the config file to read, or "" for none.
func findFile(home, file string) (string, *Error) {
	if file != "" {
		abs, err := filepath.Abs(file)
		if err != nil {
			return "", &Error{Key: file, Problem: err.Error(), Err: err}
		}
		return abs, nil
	}
	path := filepath.Join(home, FileName)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", fileError(path, err)
	}
	return path, nil
}

// fileError reports an unreadable config file, without repeating the path inside the problem.
func fileError(path string, err error) *Error {
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = pe.Err.Error()
	}
	return &Error{Key: path, Problem: "cannot read config file: " + msg, Err: err}
}

// readFile reads a YAML config file through viper and returns its settings as nested maps with
// lower-cased keys. A null value and an empty mapping count as absent.
func readFile(path string) (map[string]any, *Error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		msg := err.Error()
		var pe viper.ConfigParseError
		if errors.As(err, &pe) && pe.Unwrap() != nil {
			msg = pe.Unwrap().Error()
		}
		return nil, &Error{Key: path, Problem: "invalid YAML: " + msg, Err: err}
	}
	return v.AllSettings(), nil
}

// apply sets c from the settings of a file (LoadChain): first every path in the file must be a
// key, then each key present is decoded in Keys order, so the first error is deterministic.
func (c *Config) apply(settings map[string]any) *Error {
	if err := checkKeys(settings); err != nil {
		return err
	}
	for i := range entries {
		e := &entries[i]
		m, _ := settings[e.section()].(map[string]any)
		if raw, ok := m[e.name()]; ok {
			if err := e.setYAML(c, raw); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkKeys reports the first path of a file's settings that is not a key (in sorted order), or
// a section that is not a mapping.
func checkKeys(settings map[string]any) *Error {
	for _, sec := range sortedKeys(settings) {
		if !isSection(sec) {
			return unknownKey(sec)
		}
		m, ok := settings[sec].(map[string]any)
		if !ok {
			return newError(sec, "must be a mapping of "+sec+".* keys, got "+describe(settings[sec]))
		}
		for _, name := range sortedKeys(m) {
			if byPath[sec+"."+name] == nil {
				return unknownKey(sec + "." + name)
			}
		}
	}
	return nil
}

// bindEnv binds the ACTORCHAIN_* variables of environ (later entries win) to their keys as
// viper's override layer; a variable that names no key is an error.
func (l *layers) bindEnv(environ []string) *Error {
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || name == HomeEnv {
			continue
		}
		e := byEnv[name]
		if e == nil {
			problem := "unknown environment variable: it names no configuration key"
			if s := suggest(name, envNames()); s != "" {
				problem += "; did you mean " + s + "?"
			}
			return newError(name, problem)
		}
		l.v.Set(e.path, val)
		l.fromEnv[e.path] = name
	}
	return nil
}

// validateFrom is validate, with the error's Env set when the failing key came from the
// environment.
func (c *Config) validateFrom(fromEnv map[string]string) *Error {
	for i := range entries {
		if e := &entries[i]; e.check != nil {
			if err := e.check(c); err != nil {
				err.Env = fromEnv[e.path]
				return err
			}
		}
	}
	return nil
}

// normalize puts what Load read into canonical form: lower-case log names and hex, UTC genesis
// time, nil for empty lists and a non-nil Alloc.
func (c *Config) normalize() {
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Format = strings.ToLower(c.Log.Format)
	c.Chain.GenesisTime = c.Chain.GenesisTime.UTC()
	for i, v := range c.Chain.Validators {
		c.Chain.Validators[i] = strings.ToLower(v)
	}
	alloc := make(map[string]uint64, len(c.Chain.Alloc))
	for a, n := range c.Chain.Alloc {
		alloc[strings.ToLower(a)] = n
	}
	c.Chain.Alloc = alloc
	for i, s := range c.P2P.Seeds {
		if id, addr, ok := strings.Cut(s, "@"); ok {
			c.P2P.Seeds[i] = strings.ToLower(id) + "@" + addr
		}
	}
	if len(c.Chain.Validators) == 0 {
		c.Chain.Validators = nil
	}
	if len(c.P2P.Seeds) == 0 {
		c.P2P.Seeds = nil
	}
}

// setYAML decodes a value read from the file into the key's field.
func (e *entry) setYAML(c *Config, raw any) *Error {
	var problem string
	switch p := e.field(c).(type) {
	case *string:
		s, ok := raw.(string)
		if !ok {
			return newError(e.path, notAString(raw))
		}
		*p = s
	case *int:
		*p, problem = yamlInt(raw)
	case *uint64:
		*p, problem = yamlUint(raw)
	case *bool:
		*p, problem = yamlBool(raw)
	case *time.Duration:
		*p, problem = yamlDuration(raw)
	case *time.Time:
		*p, problem = yamlTime(raw)
	case *[]string:
		list, err := yamlList(e.path, raw)
		if err != nil {
			return err
		}
		*p = list
	case *map[string]uint64:
		alloc, err := yamlAlloc(e.path, raw)
		if err != nil {
			return err
		}
		*p = alloc
	default:
		panic("config: unsupported field type of " + e.path)
	}
	if problem != "" {
		return newError(e.path, problem)
	}
	return nil
}

func yamlBool(raw any) (bool, string) {
	switch v := raw.(type) {
	case bool:
		return v, ""
	case string:
		return parseBool(v)
	}
	return false, "expected a boolean (true or false), got " + describe(raw)
}

func yamlDuration(raw any) (time.Duration, string) {
	if s, ok := raw.(string); ok {
		return parseDuration(s)
	}
	return 0, "expected a duration in Go syntax such as 5s, got " + describe(raw)
}

func yamlTime(raw any) (time.Time, string) {
	switch v := raw.(type) {
	case time.Time:
		return v, ""
	case string:
		return parseTime(v)
	}
	return time.Time{}, "expected an RFC 3339 time such as 2026-01-01T00:00:00Z, got " + describe(raw)
}

// yamlList decodes a list of strings (or one comma- or space-separated string) of key path.
func yamlList(path string, raw any) ([]string, *Error) {
	switch v := raw.(type) {
	case string:
		return splitList(v), nil
	case []any:
		list := make([]string, 0, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, newError(fmt.Sprintf("%s[%d]", path, i), notAString(x))
			}
			list = append(list, s)
		}
		return list, nil
	}
	return nil, newError(path, "expected a list of strings, got "+describe(raw))
}

// yamlAlloc decodes a mapping of address: balance of key path.
func yamlAlloc(path string, raw any) (map[string]uint64, *Error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, newError(path, "expected a mapping of address: balance, got "+describe(raw))
	}
	alloc := make(map[string]uint64, len(m))
	for _, a := range sortedKeys(m) {
		n, problem := yamlUint(m[a])
		if problem != "" {
			return nil, newError(path+"."+a, problem)
		}
		alloc[strings.ToLower(a)] = n
	}
	return alloc, nil
}

// setString decodes an environment variable's value into the key's field.
func (e *entry) setString(c *Config, s string) *Error {
	var problem string
	switch p := e.field(c).(type) {
	case *string:
		*p = s
	case *int:
		*p, problem = parseInt(s)
	case *uint64:
		*p, problem = parseUint(s)
	case *bool:
		*p, problem = parseBool(s)
	case *time.Duration:
		*p, problem = parseDuration(s)
	case *time.Time:
		*p, problem = parseTime(s)
	case *[]string:
		*p = splitList(s)
	case *map[string]uint64:
		alloc := make(map[string]uint64)
		for _, f := range splitList(s) {
			a, bal, ok := strings.Cut(f, "=")
			if !ok {
				return newError(e.path, fmt.Sprintf("invalid entry %q (want ADDRESS=BALANCE,ADDRESS=BALANCE)", f))
			}
			a = strings.ToLower(a)
			if _, dup := alloc[a]; dup {
				return newError(e.path+"."+a, "duplicate address")
			}
			n, problem := parseUint(bal)
			if problem != "" {
				return newError(e.path+"."+a, problem)
			}
			alloc[a] = n
		}
		*p = alloc
	default:
		panic("config: unsupported field type of " + e.path)
	}
	if problem != "" {
		return newError(e.path, problem)
	}
	return nil
}

func parseInt(s string) (int, string) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 0)
	if err != nil {
		return 0, fmt.Sprintf("invalid integer %q", s)
	}
	return int(n), ""
}

func parseUint(s string) (uint64, string) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Sprintf("invalid unsigned integer %q", s)
	}
	return n, ""
}

func parseBool(s string) (bool, string) {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, fmt.Sprintf("invalid boolean %q (want true or false)", s)
	}
	return b, ""
}

func parseDuration(s string) (time.Duration, string) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Sprintf("invalid duration %q", s)
	}
	return d, ""
}

func parseTime(s string) (time.Time, string) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Sprintf("invalid time %q (want RFC 3339 such as 2026-01-01T00:00:00Z)", s)
	}
	return t, ""
}

// splitList splits a comma- or space-separated list, dropping empty elements.
func splitList(s string) []string {
	list := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	if len(list) == 0 {
		return nil
	}
	return list
}

// maxExactFloat is the largest integer magnitude a float64 holds exactly.
const maxExactFloat = 1 << 53

// yamlInt converts a YAML scalar to an int.
func yamlInt(raw any) (int, string) {
	switch v := raw.(type) {
	case int:
		return v, ""
	case int64:
		if v >= math.MinInt && v <= math.MaxInt {
			return int(v), ""
		}
	case uint64:
		if v <= math.MaxInt {
			return int(v), ""
		}
	case float64:
		if v == math.Trunc(v) && math.Abs(v) <= maxExactFloat {
			return int(v), ""
		}
		return 0, "expected an integer, got " + describe(raw)
	case string:
		return parseInt(v)
	default:
		return 0, "expected an integer, got " + describe(raw)
	}
	return 0, "integer out of range, got " + describe(raw)
}

// yamlUint converts a YAML scalar to a uint64.
func yamlUint(raw any) (uint64, string) {
	switch v := raw.(type) {
	case int:
		if v >= 0 {
			return uint64(v), ""
		}
		return 0, fmt.Sprintf("must be >= 0, got %d", v)
	case int64:
		if v >= 0 {
			return uint64(v), ""
		}
		return 0, fmt.Sprintf("must be >= 0, got %d", v)
	case uint64:
		return v, ""
	case float64:
		if v == math.Trunc(v) && v >= 0 && v <= maxExactFloat {
			return uint64(v), ""
		}
		return 0, "expected an unsigned integer, got " + describe(raw)
	case string:
		return parseUint(v)
	}
	return 0, "expected an unsigned integer, got " + describe(raw)
}

// notAString is the problem of a non-string value where a string belongs.
func notAString(raw any) string {
	switch raw.(type) {
	case []any, map[string]any, map[any]any, nil:
		return "expected a string, got " + describe(raw)
	}
	// A scalar that YAML read as another type (8600, true, 1.5, a timestamp): quoting fixes it.
	return "expected a string, got " + describe(raw) + " (quote the value)"
}

// describe names a YAML value for an error message.
func describe(raw any) string {
	switch v := raw.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", v)
	case bool:
		return fmt.Sprintf("boolean %t", v)
	case int, int64, uint64:
		return fmt.Sprintf("integer %d", v)
	case float64:
		return "number " + strconv.FormatFloat(v, 'g', -1, 64)
	case time.Time:
		return "time " + v.Format(time.RFC3339Nano)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	}
	return fmt.Sprintf("%v", raw)
}

func isSection(name string) bool {
	for _, s := range sections {
		if s.name == name {
			return true
		}
	}
	return false
}

// unknownKey reports a path of the file that is not a key, suggesting a close one.
func unknownKey(path string) *Error {
	var candidates []string
	if !strings.Contains(path, ".") {
		for _, s := range sections {
			candidates = append(candidates, s.name)
		}
	}
	candidates = append(candidates, Keys()...)
	if s := suggest(path, candidates); s != "" {
		return newError(path, "unknown key; did you mean "+s+"?")
	}
	return newError(path, "unknown key")
}

func envNames() []string {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = EnvName(e.path)
	}
	return names
}

// suggest returns the candidate closest to s when it is close enough to be a likely typo.
func suggest(s string, candidates []string) string {
	best, bestDist := "", 3 // at most two edits
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
