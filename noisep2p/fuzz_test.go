package noisep2p

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// fuzzCanonical checks the decoder contract on any input: no panic, and whatever decodes is
// valid and re-encodes to exactly the input.
func fuzzCanonical[M Message](t *testing.T, b []byte, decode func([]byte) (M, error)) {
	m, err := decode(b)
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrMsgTooLarge) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		return
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("decoded an invalid message: %v", err)
	}
	if !bytes.Equal(m.Encode(), b) {
		t.Fatalf("decoded from %x re-encodes to %x", b, m.Encode())
	}
}

func FuzzDecodeHello(f *testing.F) {
	f.Add((&Hello{Minor: 1, Genesis: testGenesis, ListenAddr: "127.0.0.1:7600"}).Encode())
	f.Add((&Hello{ListenAddr: "[::1]:1"}).Encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHello(b)
		if err != nil {
			if !errors.Is(err, ErrBadHello) {
				t.Fatalf("error %v does not wrap ErrBadHello", err)
			}
			return
		}
		if !bytes.Equal(h.Encode(), b) {
			t.Fatalf("decoded from %x re-encodes to %x", b, h.Encode())
		}
	})
}

func FuzzDecodePing(f *testing.F) {
	f.Add(Ping{Nonce: 7}.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzCanonical(t, b, DecodePing)
		fuzzCanonical(t, b, DecodePong)
	})
}

func FuzzDecodeAddr(f *testing.F) {
	f.Add(Addr{Peers: []PeerAddr{{ID: ID{1}, Addr: "10.0.0.1:7600", LastSeen: 1700000000}, {Addr: "[::1]:9", LastSeen: 0}}}.Encode())
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) { fuzzCanonical(t, b, DecodeAddr) })
}

func FuzzDecodeInv(f *testing.F) {
	f.Add(Inv{Items: []InvItem{{InvBlock, [32]byte{1}}, {InvTx, [32]byte{2}}}}.Encode())
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzCanonical(t, b, DecodeInv)
		fuzzCanonical(t, b, DecodeGetData)
		fuzzCanonical(t, b, DecodeNotFound)
	})
}

func FuzzDecodeGetBlocks(f *testing.F) {
	f.Add(GetBlocks{Locator: [][32]byte{{1}, {2}}, Stop: [32]byte{3}}.Encode())
	f.Add(GetBlocks{}.Encode())
	f.Fuzz(func(t *testing.T, b []byte) { fuzzCanonical(t, b, DecodeGetBlocks) })
}

func FuzzDecodeDisconnect(f *testing.F) {
	f.Add(Disconnect{Reason: "invalid block"}.Encode())
	f.Add([]byte{0, 1, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) { fuzzCanonical(t, b, DecodeDisconnect) })
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add(MsgTx, []byte{1, 2, 3})
	f.Add(MsgGetAddr, []byte{})
	f.Add(MsgAddr, Addr{Peers: []PeerAddr{{Addr: "a:1"}}}.Encode())
	f.Add(uint8(200), []byte{1})
	f.Fuzz(func(t *testing.T, typ uint8, b []byte) {
		m, err := DecodeMessage(typ, b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownMessage) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if m.Type() != typ || !bytes.Equal(m.Encode(), b) {
			t.Fatalf("type %d: decoded %T re-encodes differently", typ, m)
		}
	})
}

// fuzzLimit is a small limit table so that the fuzzer reaches the too-large paths.
func fuzzLimit(t uint8) uint32 {
	if t%2 == 0 {
		return 300
	}
	return 200_000
}

// FuzzReadFrame feeds the frame reader a stream built from the input: a sequence of chunks, each
// u16be header ‖ bytes. A header with the top bit clear is a plaintext chunk, encrypted as one
// valid frame; with the top bit set the chunk's bytes go on the wire raw (and end the model). The
// reader's messages must equal those of a plain model of the framing rules, and it must never
// panic or return a payload over its limit.
func FuzzReadFrame(f *testing.F) {
	seed := func(chunks ...[]byte) []byte {
		var b []byte
		for _, c := range chunks {
			b = binary.BigEndian.AppendUint16(b, uint16(len(c)))
			b = append(b, c...)
		}
		return b
	}
	f.Add(seed(firstPlain(3, MsgTx, []byte("abc"))))
	f.Add(seed(firstPlain(6, 1, []byte("ab")), []byte("cd"), []byte("ef")))
	f.Add(seed(firstPlain(400, 2, nil)))
	f.Add(seed(firstPlain(5, 1, []byte("a")), []byte("bcdefg")))
	f.Add(seed([]byte{1, 2}))
	f.Add(append(seed(firstPlain(1, 3, []byte("z"))), 0x80, 3, 0, 2, 9))
	f.Fuzz(func(t *testing.T, in []byte) {
		enc, dec := memCiphers(t)
		fw := frameWriter{enc: enc}
		var wire bytes.Buffer
		var plain [][]byte // the encrypted chunks, for the model
		raw := false
		for len(in) >= 2 && !raw {
			h := binary.BigEndian.Uint16(in)
			n := min(int(h&0x7fff), len(in)-2)
			chunk := in[2 : 2+n]
			in = in[2+n:]
			if h&0x8000 != 0 {
				wire.Write(chunk)
				raw = true
				break
			}
			plain = append(plain, chunk)
			if err := fw.writeFrame(&wire, chunk); err != nil {
				t.Fatal(err)
			}
		}
		want, wantErr := modelMessages(plain)
		fr := newFrameReader(&wire, dec)
		for i := 0; ; i++ {
			typ, p, err := fr.readMessage(fuzzLimit, nil)
			if err != nil {
				if i != len(want) {
					t.Fatalf("reader stopped after %d messages (%v), model delivers %d", i, err, len(want))
				}
				if !raw && !errors.Is(err, wantErr) {
					t.Fatalf("reader error %v, model %v", err, wantErr)
				}
				return
			}
			if uint32(len(p)) > fuzzLimit(typ) {
				t.Fatalf("payload of %d bytes over the limit", len(p))
			}
			if i >= len(want) || want[i].typ != typ || !bytes.Equal(want[i].payload, p) {
				t.Fatalf("message %d differs from the model", i)
			}
		}
	})
}

// modelMessages applies the framing rules to a list of frame plaintexts: the messages delivered
// and the error that ends the stream.
func modelMessages(frames [][]byte) ([]msg, error) {
	var out []msg
	for len(frames) > 0 {
		f := frames[0]
		frames = frames[1:]
		if len(f) < msgHeaderSize {
			return out, ErrBadFrame
		}
		l := int(binary.BigEndian.Uint32(f))
		typ := f[4]
		if uint32(l) > fuzzLimit(typ) {
			return out, ErrMsgTooLarge
		}
		p := append([]byte{}, f[msgHeaderSize:]...)
		if len(p) > l {
			return out, ErrBadFrame
		}
		for len(p) < l {
			if len(frames) == 0 {
				return out, io.EOF
			}
			c := frames[0]
			frames = frames[1:]
			if len(c) == 0 || len(c) > l-len(p) {
				return out, ErrBadFrame
			}
			p = append(p, c...)
		}
		out = append(out, msg{typ, p})
	}
	return out, io.EOF
}
