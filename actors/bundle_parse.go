package actors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/actorchain/actorchain/api"
)

// bundleFields and bundlePeerFields are the keys of a bundle and of one of its peers.
var (
	bundleFields     = []string{"version", "chain_id", "genesis_hash", "exported_at", "peers"}
	bundlePeerFields = []string{"id", "addr", "last_seen"}
)

// parseBundle decodes a bundle field by field, so that an error names the field (peers[3].addr)
// and says in words what the field must hold. Unknown fields and trailing data are errors.
func parseBundle(data []byte) (*api.Bundle, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty; want the JSON object that `node peers export` writes")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return nil, jsonShapeError("the bundle", "a JSON object {\"version\", \"chain_id\", \"genesis_hash\", \"exported_at\", \"peers\"}", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON object")
	}
	if err := onlyFields("", top, bundleFields); err != nil {
		return nil, err
	}
	var b api.Bundle
	if err := field(top, "version", &b.Version, "the number 1"); err != nil {
		return nil, err
	}
	if err := field(top, "chain_id", &b.ChainID, "the chain id, a string"); err != nil {
		return nil, err
	}
	if err := field(top, "genesis_hash", &b.GenesisHash, "the genesis block's hash, a string of 64 hex characters"); err != nil {
		return nil, err
	}
	if err := timeField(top, "exported_at", &b.ExportedAt); err != nil {
		return nil, err
	}
	var peers []json.RawMessage
	if err := field(top, "peers", &peers, `a list of peers, each {"id", "addr", "last_seen"}`); err != nil {
		return nil, err
	}
	b.Peers = make([]api.BundlePeer, 0, len(peers))
	for i, raw := range peers {
		at := fmt.Sprintf("peers[%d]", i)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			return nil, fmt.Errorf(`%s: want an object {"id", "addr", "last_seen"}, got %s`, at, jsonValue(raw))
		}
		if err := onlyFields(at+".", m, bundlePeerFields); err != nil {
			return nil, err
		}
		var p api.BundlePeer
		if err := field(m, "id", &p.ID, "the node id, a string of 64 hex characters"); err != nil {
			return nil, fmt.Errorf("%s.%w", at, err)
		}
		if err := field(m, "addr", &p.Addr, "HOST:PORT, a string"); err != nil {
			return nil, fmt.Errorf("%s.%w", at, err)
		}
		if err := timeField(m, "last_seen", &p.LastSeen); err != nil {
			return nil, fmt.Errorf("%s.%w", at, err)
		}
		b.Peers = append(b.Peers, p)
	}
	return &b, nil
}

// onlyFields fails on the first key of m (in sorted order) that is not in known.
func onlyFields(prefix string, m map[string]json.RawMessage, known []string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			return fmt.Errorf("%s%s: unknown field (the fields are %s)", prefix, clipString(k), quoteList(known))
		}
	}
	return nil
}

// field decodes m[name], when present, into v; the error says what is wanted in words.
func field(m map[string]json.RawMessage, name string, v any, want string) error {
	raw, ok := m[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: want %s, got %s", name, want, jsonValue(raw))
	}
	return nil
}

// timeField decodes m[name], when present, as an RFC 3339 time.
func timeField(m map[string]json.RawMessage, name string, t *time.Time) error {
	raw, ok := m[name]
	if !ok {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if v, err := time.Parse(time.RFC3339, s); err == nil {
			*t = v
			return nil
		}
	}
	return fmt.Errorf("%s: want a time in RFC 3339 form such as \"2026-01-02T15:04:05Z\", got %s", name, jsonValue(raw))
}

// jsonShapeError words a failure to decode the top-level value.
func jsonShapeError(what, want string, err error) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("truncated JSON")
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return fmt.Errorf("%s: want %s, got %s", what, want, article(te.Value))
	}
	return fmt.Errorf("%s: %v", what, err)
}

// jsonValue describes a JSON value for an error message: its kind and, when short, the value.
func jsonValue(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	kind := "a number"
	switch raw[0] {
	case '"':
		kind = "a string"
	case '[':
		return "a list"
	case '{':
		return "an object"
	case 't', 'f':
		kind = "a boolean"
	case 'n':
		return "null"
	}
	return kind + " " + clipString(string(raw))
}

func article(kind string) string {
	switch kind {
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "number", "string", "bool":
		return "a " + kind
	}
	return kind
}

func quoteList(names []string) string {
	var b bytes.Buffer
	for i, n := range names {
		switch {
		case i == len(names)-1 && i > 0:
			b.WriteString(" and ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(n)
	}
	return b.String()
}

func clipString(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
