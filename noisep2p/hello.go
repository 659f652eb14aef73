package noisep2p

import (
	"encoding/binary"
	"fmt"
)

// Hello sizes.
const (
	// MaxHelloSize is the largest encoded hello DecodeHello accepts.
	MaxHelloSize = 512
	// helloFixedSize is the encoded size of a hello with an empty ListenAddr.
	helloFixedSize = 4 + 32 + 8 + 32 + 8 + 1 // 85
)

// Hello is the payload of handshake messages 2 (responder) and 3 (initiator). It is authenticated
// and encrypted by Noise; see docs/protocol.md for the byte layout.
type Hello struct {
	Minor      uint32   // minor protocol version (the major is in the prologue)
	Genesis    [32]byte // re-checked against our genesis as a second line of defence
	BestHeight uint64
	TipHash    [32]byte
	Features   uint64 // feature bits; none are defined yet
	ListenAddr string // advertised HOST:PORT, "" when not listening; at most 255 bytes
}

// Validate reports whether h can be sent: ListenAddr empty or a valid address (printable ASCII
// HOST:PORT, port 1..65535, at most 255 bytes).
func (h *Hello) Validate() error {
	if h.ListenAddr != "" {
		if err := checkAddr(h.ListenAddr); err != nil {
			return fmt.Errorf("%w: listen address: %v", ErrBadHello, err)
		}
	}
	return nil
}

// Encode returns the wire form (85 bytes plus the address). It never fails: an over-long
// ListenAddr is cut to 255 bytes (Validate reports it first).
func (h *Hello) Encode() []byte {
	addr := clip(h.ListenAddr, MaxAddrLen)
	b := make([]byte, 0, helloFixedSize+len(addr))
	b = binary.BigEndian.AppendUint32(b, h.Minor)
	b = append(b, h.Genesis[:]...)
	b = binary.BigEndian.AppendUint64(b, h.BestHeight)
	b = append(b, h.TipHash[:]...)
	b = binary.BigEndian.AppendUint64(b, h.Features)
	b = append(b, byte(len(addr)))
	return append(b, addr...)
}

// DecodeHello decodes a hello strictly: at most 512 bytes, exact layout, no trailing bytes, the
// rules of Validate. Errors wrap ErrBadHello.
func DecodeHello(b []byte) (Hello, error) {
	if len(b) > MaxHelloSize {
		return Hello{}, fmt.Errorf("%w: %d bytes (max %d)", ErrBadHello, len(b), MaxHelloSize)
	}
	r := reader{b: b}
	var h Hello
	h.Minor = r.u32()
	h.Genesis = r.hash()
	h.BestHeight = r.u64()
	h.TipHash = r.hash()
	h.Features = r.u64()
	h.ListenAddr = string(r.take(int(r.u8())))
	if err := r.done(); err != nil {
		return Hello{}, fmt.Errorf("%w: %v", ErrBadHello, err)
	}
	if err := h.Validate(); err != nil {
		return Hello{}, err
	}
	return h, nil
}
