package noisep2p

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/flynn/noise"
)

// Transport framing sizes (docs/protocol.md, "Transport frames").
const (
	frameHeaderSize = 2                             // u16be ciphertext length
	tagSize         = 16                            // ChaChaPoly tag
	maxFrameSize    = 65535                         // ciphertext bytes in one frame
	maxFramePlain   = maxFrameSize - tagSize        // 65519
	msgHeaderSize   = 5                             // u32be L ‖ u8 type, at the start of frame₁
	maxFirstData    = maxFramePlain - msgHeaderSize // 65514 payload bytes in frame₁
	minFirstFrame   = tagSize + msgHeaderSize       // 21
	minContFrame    = tagSize + 1                   // 17
	readBufferSize  = frameHeaderSize + maxFrameSize
	// initialPayloadCap bounds the first allocation for a message: larger messages grow as their
	// frames arrive instead of trusting the declared length.
	initialPayloadCap = 64 << 10
	// growFactor: a message buffer grows 4x at a time, so a message of L bytes costs about 1.33 L
	// of allocation, and a peer must have sent a quarter of what it declared before we hold it all.
	growFactor = 4
)

func cipherErr(op string, err error) error {
	if errors.Is(err, noise.ErrMaxNonce) {
		return fmt.Errorf("%s: %w: %w", op, ErrNonceExhausted, err)
	}
	return fmt.Errorf("%s: %w: %v", op, ErrDecrypt, err)
}

// frameWriter splits messages into encrypted frames. It owns the encrypting CipherState; one
// goroutine at a time. Its buffers grow to the largest frame written (at most 65537 bytes).
type frameWriter struct {
	enc *noise.CipherState
	pt  []byte
	out []byte
}

// writeMessage writes typ and payload as frame₁ = L ‖ type ‖ first bytes, then continuation
// frames of up to 65519 bytes.
func (fw *frameWriter) writeMessage(w io.Writer, typ uint8, payload []byte) error {
	k := min(len(payload), maxFirstData)
	pt := append(fw.pt[:0], 0, 0, 0, 0, typ)
	binary.BigEndian.PutUint32(pt, uint32(len(payload)))
	pt = append(pt, payload[:k]...)
	fw.pt = pt
	if err := fw.writeFrame(w, pt); err != nil {
		return err
	}
	for rest := payload[k:]; len(rest) > 0; {
		n := min(len(rest), maxFramePlain)
		if err := fw.writeFrame(w, rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

func (fw *frameWriter) writeFrame(w io.Writer, pt []byte) error {
	out, err := fw.enc.Encrypt(append(fw.out[:0], 0, 0), nil, pt)
	if err != nil {
		if errors.Is(err, noise.ErrMaxNonce) {
			return fmt.Errorf("encrypt: %w: %w", ErrNonceExhausted, err)
		}
		return fmt.Errorf("encrypt: %w", err)
	}
	fw.out = out
	binary.BigEndian.PutUint16(out, uint16(len(out)-frameHeaderSize))
	_, err = w.Write(out)
	return err
}

// frameReader reads and decrypts messages. It owns the decrypting CipherState; one goroutine.
type frameReader struct {
	r   *bufio.Reader // at least readBufferSize, so that Peek can return a whole frame
	dec *noise.CipherState
	pt  []byte // frame₁ plaintext scratch
}

func newFrameReader(r io.Reader, dec *noise.CipherState) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, readBufferSize), dec: dec}
}

// next returns the ciphertext of the next frame, which must be minLen..maxLen bytes long. The
// length is checked before the body is read. The slice points into the bufio buffer; the caller
// must call r.Discard(frameHeaderSize+len) when done with it.
func (fr *frameReader) next(minLen, maxLen int) ([]byte, error) {
	hdr, err := fr.r.Peek(frameHeaderSize)
	if err != nil {
		if errors.Is(err, io.EOF) && len(hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr))
	if n < minLen || n > maxLen {
		return nil, fmt.Errorf("%w: frame length %d, want %d..%d", ErrBadFrame, n, minLen, maxLen)
	}
	b, err := fr.r.Peek(frameHeaderSize + n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b[frameHeaderSize:], nil
}

// readMessage reads one message. limit gives the largest L accepted for a type; started, when not
// nil, is called once frame₁ is accepted and the message needs continuation frames (the caller
// sets the per-message deadline there). The payload is freshly allocated and owned by the caller.
func (fr *frameReader) readMessage(limit func(uint8) uint32, started func(l uint32)) (typ uint8, payload []byte, err error) {
	ct, err := fr.next(minFirstFrame, maxFrameSize)
	if err != nil {
		return 0, nil, err
	}
	pt, err := fr.dec.Decrypt(fr.pt[:0], nil, ct)
	_, _ = fr.r.Discard(frameHeaderSize + len(ct))
	if err != nil {
		return 0, nil, cipherErr("decrypt", err)
	}
	fr.pt = pt
	l := binary.BigEndian.Uint32(pt)
	typ = pt[4]
	data := pt[msgHeaderSize:]
	if max := limit(typ); l > max {
		return typ, nil, fmt.Errorf("%w: %s declares %d bytes, limit %d", ErrMsgTooLarge, MsgName(typ), l, max)
	}
	if uint32(len(data)) > l {
		return typ, nil, fmt.Errorf("%w: first frame carries %d bytes of a %d-byte %s", ErrBadFrame, len(data), l, MsgName(typ))
	}
	payload = make([]byte, len(data), min(int(l), max(len(data), initialPayloadCap)))
	copy(payload, data)
	if uint32(len(payload)) < l && started != nil {
		started(l)
	}
	for uint32(len(payload)) < l {
		rem := int(l) - len(payload)
		ct, err := fr.next(minContFrame, min(maxFrameSize, rem+tagSize))
		if err != nil {
			return typ, nil, err
		}
		if n := len(ct) - tagSize; cap(payload)-len(payload) < n {
			grown := make([]byte, len(payload), min(int(l), max(growFactor*cap(payload), len(payload)+n)))
			copy(grown, payload)
			payload = grown
		}
		payload, err = fr.dec.Decrypt(payload, nil, ct)
		_, _ = fr.r.Discard(frameHeaderSize + len(ct))
		if err != nil {
			return typ, nil, cipherErr("decrypt", err)
		}
	}
	return typ, payload, nil
}
