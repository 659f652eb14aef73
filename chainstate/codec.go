package chainstate

import (
	"encoding/binary"
	"fmt"
)

// decoder reads a strict big-endian encoding. The first failure sticks: later reads return zero
// values, and err reports the first problem as a *RuleError with CodeMalformed.
type decoder struct {
	what string // names the structure in errors: "tx", "header", "block"
	b    []byte
	off  int
	err  error
}

func newDecoder(what string, b []byte) *decoder { return &decoder{what: what, b: b} }

func (d *decoder) failf(format string, args ...any) {
	if d.err == nil {
		d.err = ruleErr(CodeMalformed, "%s: %s", d.what, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

// take returns the next n bytes (aliasing the input), or nil after a failure.
func (d *decoder) take(n int, field string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || d.remaining() < n {
		d.failf("truncated %s at offset %d: need %d bytes, %d left", field, d.off, n, d.remaining())
		return nil
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) fixed(dst []byte, field string) {
	if s := d.take(len(dst), field); s != nil {
		copy(dst, s)
	}
}

func (d *decoder) u8(field string) uint8 {
	if s := d.take(1, field); s != nil {
		return s[0]
	}
	return 0
}

func (d *decoder) u16(field string) uint16 {
	if s := d.take(2, field); s != nil {
		return binary.BigEndian.Uint16(s)
	}
	return 0
}

func (d *decoder) u32(field string) uint32 {
	if s := d.take(4, field); s != nil {
		return binary.BigEndian.Uint32(s)
	}
	return 0
}

func (d *decoder) u64(field string) uint64 {
	if s := d.take(8, field); s != nil {
		return binary.BigEndian.Uint64(s)
	}
	return 0
}

// finish fails on trailing bytes and returns the first error.
func (d *decoder) finish() error {
	if d.err == nil && d.remaining() != 0 {
		d.failf("%d trailing bytes after offset %d", d.remaining(), d.off)
	}
	return d.err
}

var be = binary.BigEndian
