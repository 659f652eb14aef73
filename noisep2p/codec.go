package noisep2p

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// reader is a bounds-checked cursor over a payload. Every read checks the remaining length first,
// so a decoder never allocates more than the input justifies.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated")

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errShort
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) hash() (h [32]byte) {
	if b := r.take(32); b != nil {
		copy(h[:], b)
	}
	return h
}

// done returns the first error, or an error if bytes are left over.
func (r *reader) done() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%d trailing bytes", len(r.b))
	}
	return nil
}

// checkAddr enforces the wire rules of an advertised address: 1..255 bytes of printable ASCII
// (0x21..0x7e), HOST:PORT as net.SplitHostPort reads it, a non-empty host and a decimal port
// 1..65535 without leading zeros.
func checkAddr(s string) error {
	if len(s) == 0 {
		return errors.New("empty address")
	}
	if len(s) > MaxAddrLen {
		return fmt.Errorf("address of %d bytes (max %d)", len(s), MaxAddrLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return fmt.Errorf("address has byte 0x%02x at %d (printable ASCII only)", s[i], i)
		}
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("address %q: %w", s, err)
	}
	if host == "" {
		return fmt.Errorf("address %q: empty host", s)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != port {
		return fmt.Errorf("address %q: port must be 1..65535", s)
	}
	return nil
}

// clip cuts s to at most n bytes. Encoders use it so that they never fail; Validate reports the
// values that would be cut.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
