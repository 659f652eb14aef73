package testutil

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// LogBuffer collects what a logger (or a process's output) writes; it is safe for the many
// goroutines of a node. Its zero value is empty and ready.
//
// The slog JSON handler writes one record per Write, so every Len is at a record boundary.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of everything written so far.
func (b *LogBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.buf.Bytes())
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Len is the number of bytes written so far: an offset for RecordsSince.
func (b *LogBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// tailSize is how much of the end of a log Tail returns.
const tailSize = 2000

// Tail returns the last 2000 bytes written (all of them when fewer): the end of a log for a
// failure message.
func (b *LogBuffer) Tail() string {
	s := b.String()
	if len(s) > tailSize {
		s = s[len(s)-tailSize:]
	}
	return s
}

// Records returns the records whose msg is one of msgs (every record when msgs is empty), in
// the order they were written. A line that is not a JSON object (a process's own plain-text
// output) is skipped; MustRecords is the strict form.
func (b *LogBuffer) Records(msgs ...string) []Record {
	return parseRecords(b.Bytes(), msgs)
}

// RecordsSince is Records of what was written from byte offset off (an earlier Len) on.
func (b *LogBuffer) RecordsSince(off int, msgs ...string) []Record {
	data := b.Bytes()
	return parseRecords(data[min(off, len(data)):], msgs)
}

// MustRecords returns every record and fails t when a line is not a JSON object: for a buffer
// that only a slog JSON handler writes to.
func (b *LogBuffer) MustRecords(t testing.TB) []Record {
	t.Helper()
	var out []Record
	sc := newScanner(b.Bytes())
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line is not a JSON object: %v: %q", err, sc.Text())
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read the log: %v", err)
	}
	return out
}

// Find returns the records with message msg whose actor attribute is actor (any actor when actor
// is "").
func (b *LogBuffer) Find(msg, actor string) []Record {
	var out []Record
	for _, r := range b.Records(msg) {
		if actor == "" || r.Str("actor") == actor {
			out = append(out, r)
		}
	}
	return out
}

// ActorsOf lists the actor attribute of the records with message msg, in log order.
func (b *LogBuffer) ActorsOf(msg string) []string {
	return ActorsOf(b.Records(msg), msg)
}

// ActorsOf lists the actor attribute of the records of recs with message msg, in order (records
// without one are left out).
func ActorsOf(recs []Record, msg string) []string {
	var out []string
	for _, r := range recs {
		if r.Msg() == msg {
			if a, ok := r["actor"].(string); ok {
				out = append(out, a)
			}
		}
	}
	return out
}

// Record is one parsed JSON log record.
type Record map[string]any

// Msg is the record's message ("" when it has none).
func (r Record) Msg() string { s, _ := r["msg"].(string); return s }

// Str is the attribute k formatted with fmt.Sprint ("" when the record has none).
func (r Record) Str(k string) string {
	if v, ok := r[k]; ok {
		return fmt.Sprint(v)
	}
	return ""
}

func parseRecords(data []byte, msgs []string) []Record {
	var out []Record
	sc := newScanner(data)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var r Record
		if json.Unmarshal(line, &r) != nil {
			continue
		}
		if len(msgs) == 0 || slices.Contains(msgs, r.Msg()) {
			out = append(out, r)
		}
	}
	return out
}

// newScanner reads lines of up to 16 MiB (a record can carry a stack or a large attribute).
func newScanner(data []byte) *bufio.Scanner {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	return sc
}
