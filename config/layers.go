package config

import (
	"time"

	"github.com/spf13/viper"
)

// layers holds the configuration sources of one Load in one viper instance, and viper's
// precedence decides which source each key's value comes from:
//
//   - defaults: SetDefault with every key's value in Default;
//   - the file: read by viper (readFile), checked for unknown keys, then merged as viper's
//     config layer;
//   - the environment given to Load: applied with Set, viper's override layer. viper binds
//     variables only from the process environment, and Load takes its environment as an
//     argument (a devnet loads its homes without the caller's variables), so the ACTORCHAIN_*
//     entries of that argument are bound here, one key each (EnvName).
//
// Decoding stays with the key's type (setYAML, setString): viper's casts accept what a strict
// config must refuse (an integer where a string belongs, a bare number as a duration).
type layers struct {
	v       *viper.Viper
	file    map[string]any    // the file's settings; nil without a file
	fromEnv map[string]string // key path -> the variable that set it
}

func newLayers() *layers {
	v := viper.New()
	def := Default()
	for i := range entries {
		e := &entries[i]
		v.SetDefault(e.path, fieldValue(e.field(def)))
	}
	return &layers{v: v, fromEnv: map[string]string{}}
}

// setFile makes settings (a file's, already checked for unknown keys) viper's config layer.
func (l *layers) setFile(settings map[string]any) *Error {
	l.file = settings
	if err := l.v.MergeConfigMap(settings); err != nil {
		return &Error{Key: "config file", Problem: err.Error(), Err: err}
	}
	return nil
}

// fileValue returns e's value in the file, if the file sets it.
func (l *layers) fileValue(e *entry) (any, bool) {
	m, _ := l.file[e.section()].(map[string]any)
	raw, ok := m[e.name()]
	return raw, ok
}

// resolve sets every key of c from its top layer. A value in the file is decoded even where the
// environment overrides it, so a broken file is reported and never hides behind a variable;
// errors come in key order.
func (l *layers) resolve(c *Config) *Error {
	scratch := Default()
	for i := range entries {
		e := &entries[i]
		if raw, ok := l.fileValue(e); ok {
			if err := e.setYAML(scratch, raw); err != nil {
				return err
			}
		}
	}
	for i := range entries {
		e := &entries[i]
		raw := l.v.Get(e.path)
		_, inFile := l.fileValue(e)
		switch name, inEnv := l.fromEnv[e.path]; {
		case inEnv:
			s, _ := raw.(string)
			if err := e.setString(c, s); err != nil {
				err.Env = name
				return err
			}
		case inFile:
			if err := e.setYAML(c, raw); err != nil {
				return err
			}
		default:
			setFieldValue(e.field(c), raw)
		}
	}
	return nil
}

// fieldValue is the value a field pointer points to.
func fieldValue(p any) any {
	switch p := p.(type) {
	case *string:
		return *p
	case *int:
		return *p
	case *uint64:
		return *p
	case *bool:
		return *p
	case *time.Duration:
		return *p
	case *time.Time:
		return *p
	case *[]string:
		return *p
	case *map[string]uint64:
		return *p
	}
	panic("config: unsupported field type")
}

// setFieldValue stores a default (a value fieldValue returned) through a field pointer; a value
// of another type leaves the field as it is.
func setFieldValue(p, v any) {
	switch p := p.(type) {
	case *string:
		if x, ok := v.(string); ok {
			*p = x
		}
	case *int:
		if x, ok := v.(int); ok {
			*p = x
		}
	case *uint64:
		if x, ok := v.(uint64); ok {
			*p = x
		}
	case *bool:
		if x, ok := v.(bool); ok {
			*p = x
		}
	case *time.Duration:
		if x, ok := v.(time.Duration); ok {
			*p = x
		}
	case *time.Time:
		if x, ok := v.(time.Time); ok {
			*p = x
		}
	case *[]string:
		if x, ok := v.([]string); ok {
			*p = append([]string(nil), x...)
		}
	case *map[string]uint64:
		if x, ok := v.(map[string]uint64); ok {
			m := make(map[string]uint64, len(x))
			for k, n := range x {
				m[k] = n
			}
			*p = m
		}
	}
}
