package noisep2p

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// ---- generators ------------------------------------------------------------------------------

var hostByte = func() []rune {
	var r []rune
	for c := rune(0x21); c <= 0x7e; c++ {
		if c != ':' && c != '[' && c != ']' {
			r = append(r, c)
		}
	}
	return r
}()

func genAddr() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		port := strconv.Itoa(rapid.IntRange(1, 65535).Draw(t, "port"))
		switch rapid.IntRange(0, 3).Draw(t, "kind") {
		case 0:
			ip := net.IP(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "ip4"))
			return net.JoinHostPort(ip.String(), port)
		case 1:
			ip := net.IP(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "ip6"))
			return net.JoinHostPort(ip.String(), port)
		case 2:
			return rapid.StringMatching(`[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}`).Draw(t, "name") + ":" + port
		default: // any printable host, up to the 255-byte limit
			host := rapid.StringOfN(rapid.RuneFrom(hostByte), 1, MaxAddrLen-1-len(port), -1).Draw(t, "host")
			return host + ":" + port
		}
	})
}

func genHash() *rapid.Generator[[32]byte] {
	return rapid.Custom(func(t *rapid.T) (h [32]byte) {
		copy(h[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "hash"))
		return h
	})
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func genHello() *rapid.Generator[Hello] {
	return rapid.Custom(func(t *rapid.T) Hello {
		h := Hello{
			Minor:      rapid.Uint32().Draw(t, "minor"),
			Genesis:    genHash().Draw(t, "genesis"),
			BestHeight: rapid.Uint64().Draw(t, "height"),
			TipHash:    genHash().Draw(t, "tip"),
			Features:   rapid.Uint64().Draw(t, "features"),
		}
		if rapid.Bool().Draw(t, "listening") {
			h.ListenAddr = genAddr().Draw(t, "addr")
		}
		return h
	})
}

func genItems() *rapid.Generator[[]InvItem] {
	return rapid.Custom(func(t *rapid.T) []InvItem {
		return nilIfEmpty(rapid.SliceOfN(rapid.Custom(func(t *rapid.T) InvItem {
			return InvItem{Kind: rapid.SampledFrom([]uint8{InvBlock, InvTx}).Draw(t, "kind"), Hash: genHash().Draw(t, "hash")}
		}), 0, 300).Draw(t, "items"))
	})
}

// genMessage draws a valid message of any type.
func genMessage() *rapid.Generator[Message] {
	return rapid.Custom(func(t *rapid.T) Message {
		switch rapid.IntRange(int(MsgPing), int(MsgDisconnect)).Draw(t, "type") {
		case int(MsgPing):
			return Ping{Nonce: rapid.Uint64().Draw(t, "nonce")}
		case int(MsgPong):
			return Pong{Nonce: rapid.Uint64().Draw(t, "nonce")}
		case int(MsgGetAddr):
			return GetAddr{}
		case int(MsgAddr):
			return Addr{Peers: nilIfEmpty(rapid.SliceOfN(rapid.Custom(func(t *rapid.T) PeerAddr {
				var id ID
				copy(id[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "id"))
				return PeerAddr{ID: id, Addr: genAddr().Draw(t, "addr"), LastSeen: rapid.Int64Min(0).Draw(t, "seen")}
			}), 0, 60).Draw(t, "peers"))}
		case int(MsgInv):
			return Inv{Items: genItems().Draw(t, "items")}
		case int(MsgGetData):
			return GetData{Items: genItems().Draw(t, "items")}
		case int(MsgNotFound):
			return NotFound{Items: genItems().Draw(t, "items")}
		case int(MsgBlock):
			return Block{Raw: rapid.SliceOfN(rapid.Byte(), 1, 4096).Draw(t, "raw")}
		case int(MsgTx):
			return Tx{Raw: rapid.SliceOfN(rapid.Byte(), 1, 512).Draw(t, "raw")}
		case int(MsgGetBlocks):
			return GetBlocks{
				Locator: nilIfEmpty(rapid.SliceOfN(genHash(), 0, MaxLocator).Draw(t, "locator")),
				Stop:    genHash().Draw(t, "stop"),
			}
		case int(MsgGetMempool):
			return GetMempool{}
		default:
			return Disconnect{Reason: rapid.StringN(0, -1, MaxDisconnectReason).Draw(t, "reason")}
		}
	})
}

// ---- properties ------------------------------------------------------------------------------

func TestRapidMessageRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage().Draw(t, "msg")
		if err := m.Validate(); err != nil {
			t.Fatalf("generated invalid %T: %v", m, err)
		}
		b := m.Encode()
		if uint32(len(b)) > DefaultLimit(m.Type()) {
			t.Fatalf("%T encodes to %d bytes over its limit", m, len(b))
		}
		got, err := DecodeMessage(m.Type(), b)
		if err != nil {
			t.Fatalf("decode %T: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip\n got %#v\nwant %#v", got, m)
		}
		if !bytes.Equal(got.Encode(), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

func TestRapidHelloRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		h := genHello().Draw(t, "hello")
		b := h.Encode()
		if len(b) > MaxHelloSize {
			t.Fatalf("%d bytes", len(b))
		}
		got, err := DecodeHello(b)
		if err != nil || got != h {
			t.Fatalf("got %+v, %v; want %+v", got, err, h)
		}
	})
}

// mutate applies a random edit to b: flip, truncate, extend, overwrite a length field.
func mutate(t *rapid.T, b []byte) []byte {
	b = append([]byte(nil), b...)
	switch rapid.IntRange(0, 4).Draw(t, "mutation") {
	case 0:
		if len(b) > 0 {
			i := rapid.IntRange(0, len(b)-1).Draw(t, "at")
			b[i] ^= byte(rapid.IntRange(1, 255).Draw(t, "xor"))
		}
	case 1:
		b = b[:rapid.IntRange(0, len(b)).Draw(t, "cut")]
	case 2:
		b = append(b, rapid.SliceOfN(rapid.Byte(), 1, 40).Draw(t, "extra")...)
	case 3:
		if len(b) > 0 {
			b[0] = rapid.Byte().Draw(t, "first")
		}
	default:
		b = rapid.SliceOfN(rapid.Byte(), 0, 600).Draw(t, "random")
	}
	return b
}

// Strict decoding means canonical encoding: whatever decodes re-encodes to the same bytes, and
// no input makes a decoder panic.
func TestRapidDecodeNeverPanicsAndIsCanonical(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage().Draw(t, "msg")
		typ := m.Type()
		if rapid.IntRange(0, 9).Draw(t, "othertype") == 0 {
			typ = rapid.Uint8().Draw(t, "typ")
		}
		b := mutate(t, m.Encode())
		got, err := DecodeMessage(typ, b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownMessage) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrUnknownMessage", err)
			}
			return
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("decoded an invalid message: %v", err)
		}
		if !bytes.Equal(got.Encode(), b) {
			t.Fatalf("%T decoded from %x re-encodes to %x", got, b, got.Encode())
		}
	})
}

func TestRapidDecodeHelloNeverPanicsAndIsCanonical(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		h := genHello().Draw(t, "hello")
		b := mutate(t, h.Encode())
		got, err := DecodeHello(b)
		if err != nil {
			if !errors.Is(err, ErrBadHello) {
				t.Fatalf("error %v does not wrap ErrBadHello", err)
			}
			return
		}
		if !bytes.Equal(got.Encode(), b) {
			t.Fatalf("decoded from %x re-encodes to %x", b, got.Encode())
		}
	})
}

// ---- tables ----------------------------------------------------------------------------------

func TestDecodeHelloTable(t *testing.T) {
	valid := Hello{Minor: 1, Genesis: testGenesis, BestHeight: 9, ListenAddr: "127.0.0.1:7600"}
	enc := valid.Encode()
	withAddr := func(a string) []byte {
		return append(append(enc[:helloFixedSize-1:helloFixedSize-1], byte(len(a))), a...)
	}
	long := strings.Repeat("a", MaxAddrLen-5) + ":7600"
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"valid", enc, true},
		{"no addr", (&Hello{}).Encode(), true},
		{"255-byte addr", withAddr(long), true},
		{"ipv6", withAddr("[::1]:1"), true},
		{"empty", nil, false},
		{"truncated fixed part", enc[:40], false},
		{"trailing byte", append(append([]byte(nil), enc...), 0), false},
		{"addr length past the end", append(enc[:helloFixedSize-1:helloFixedSize-1], 20, 'a'), false},
		{"over 512 bytes", make([]byte, 513), false},
		{"4 KiB", append(enc[:helloFixedSize:helloFixedSize], bytes.Repeat([]byte{'a'}, 4096)...), false},
		{"no port", withAddr("127.0.0.1"), false},
		{"port 0", withAddr("127.0.0.1:0"), false},
		{"port 65536", withAddr("h:65536"), false},
		{"leading zero port", withAddr("h:080"), false},
		{"empty host", withAddr(":80"), false},
		{"space", withAddr("a b:80"), false},
		{"non-ascii", withAddr("é:80"), false},
		{"newline", withAddr("a\n:80"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeHello(tc.b)
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, ErrBadHello) {
				t.Fatalf("DecodeHello = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if got := len(withAddr(long)); got != helloFixedSize+MaxAddrLen || got > MaxHelloSize {
		t.Fatalf("largest hello is %d bytes", got)
	}
}

func TestDecodeMessageTable(t *testing.T) {
	item := Inv{Items: []InvItem{{InvBlock, [32]byte{1}}}}.Encode()
	badKind := append([]byte(nil), item...)
	badKind[4] = 3
	maxInv := make([]InvItem, MaxInvItems)
	for i := range maxInv {
		maxInv[i].Kind = InvTx
	}
	maxInvEnc := Inv{Items: maxInv}.Encode()
	overInv := binary.BigEndian.AppendUint32(nil, MaxInvItems+1)
	overInv = append(overInv, make([]byte, invItemSize*(MaxInvItems+1))...)
	maxPeers := make([]PeerAddr, MaxAddrPeers)
	for i := range maxPeers {
		maxPeers[i] = PeerAddr{Addr: strings.Repeat("h", MaxAddrLen-6) + ":65535"}
	}
	maxAddrEnc := Addr{Peers: maxPeers}.Encode()
	overAddr := binary.BigEndian.AppendUint16(nil, MaxAddrPeers+1)
	for i := 0; i <= MaxAddrPeers; i++ {
		overAddr = append(overAddr, Addr{Peers: maxPeers[:1]}.Encode()[2:]...)
	}
	negSeen := Addr{Peers: []PeerAddr{{Addr: "a:1", LastSeen: -1}}}.Encode()
	loc := func(n int) []byte { return GetBlocks{Locator: make([][32]byte, n)}.Encode() }
	overLoc := append([]byte{MaxLocator + 1}, make([]byte, 32*(MaxLocator+2))...)
	reason := func(s string) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...) }

	for _, tc := range []struct {
		name string
		typ  uint8
		b    []byte
		ok   bool
	}{
		{"ping", MsgPing, make([]byte, 8), true},
		{"ping short", MsgPing, make([]byte, 7), false},
		{"ping long", MsgPing, make([]byte, 9), false},
		{"pong", MsgPong, make([]byte, 8), true},
		{"getaddr", MsgGetAddr, nil, true},
		{"getaddr with bytes", MsgGetAddr, []byte{0}, false},
		{"getmempool", MsgGetMempool, []byte{}, true},
		{"getmempool with bytes", MsgGetMempool, []byte{1}, false},
		{"addr empty", MsgAddr, []byte{0, 0}, true},
		{"addr 1000 max size", MsgAddr, maxAddrEnc, true},
		{"addr 1001", MsgAddr, overAddr, false},
		{"addr count past the end", MsgAddr, []byte{0, 5}, false},
		{"addr negative last seen", MsgAddr, negSeen, false},
		{"addr trailing", MsgAddr, append(Addr{Peers: maxPeers[:1]}.Encode(), 0), false},
		{"addr no count", MsgAddr, []byte{0}, false},
		{"inv one", MsgInv, item, true},
		{"inv empty", MsgInv, []byte{0, 0, 0, 0}, true},
		{"inv 50000", MsgInv, maxInvEnc, true},
		{"inv 50001", MsgInv, overInv, false},
		{"inv bad kind", MsgInv, badKind, false},
		{"inv short", MsgInv, item[:len(item)-1], false},
		{"inv trailing", MsgInv, append(append([]byte(nil), item...), 0), false},
		{"getdata bad kind", MsgGetData, badKind, false},
		{"notfound", MsgNotFound, item, true},
		{"block", MsgBlock, []byte{1}, true},
		{"block empty", MsgBlock, nil, false},
		{"tx empty", MsgTx, []byte{}, false},
		{"getblocks 0", MsgGetBlocks, loc(0), true},
		{"getblocks 101", MsgGetBlocks, loc(MaxLocator), true},
		{"getblocks 102", MsgGetBlocks, overLoc, false},
		{"getblocks short", MsgGetBlocks, loc(3)[:100], false},
		{"getblocks empty", MsgGetBlocks, nil, false},
		{"disconnect", MsgDisconnect, reason("bye"), true},
		{"disconnect 256", MsgDisconnect, reason(strings.Repeat("x", 256)), true},
		{"disconnect 257", MsgDisconnect, reason(strings.Repeat("x", 257)), false},
		{"disconnect bad utf-8", MsgDisconnect, reason("\xff"), false},
		{"disconnect length past the end", MsgDisconnect, []byte{0, 9, 'a'}, false},
		{"unknown", 0, nil, false},
		{"unknown 17", 17, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeMessage(tc.typ, tc.b)
			if tc.ok != (err == nil) {
				t.Fatalf("DecodeMessage = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if len(maxInvEnc) != InvLimit || len(maxAddrEnc) != AddrLimit {
		t.Fatalf("largest inv %d (limit %d), largest addr %d (limit %d)", len(maxInvEnc), InvLimit, len(maxAddrEnc), AddrLimit)
	}
	if _, err := DecodeMessage(99, nil); !errors.Is(err, ErrUnknownMessage) {
		t.Fatalf("unknown type: %v", err)
	}
}

func TestEncodeClampsInvalidValues(t *testing.T) {
	long := strings.Repeat("x", 300) + ":1"
	h := Hello{ListenAddr: long}
	if h.Validate() == nil || len(h.Encode()) != helloFixedSize+MaxAddrLen {
		t.Fatal("hello: over-long address not reported or not cut")
	}
	a := Addr{Peers: make([]PeerAddr, MaxAddrPeers+5)}
	if a.Validate() == nil || binary.BigEndian.Uint16(a.Encode()) != MaxAddrPeers {
		t.Fatal("addr: over-long list not reported or not cut")
	}
	inv := Inv{Items: make([]InvItem, MaxInvItems+1)}
	if inv.Validate() == nil || binary.BigEndian.Uint32(inv.Encode()) != MaxInvItems {
		t.Fatal("inv: over-long list not reported or not cut")
	}
	gb := GetBlocks{Locator: make([][32]byte, 200)}
	if gb.Validate() == nil || gb.Encode()[0] != MaxLocator {
		t.Fatal("getblocks: over-long locator not reported or not cut")
	}
	d := Disconnect{Reason: strings.Repeat("é", 200)} // 400 bytes
	got, err := DecodeDisconnect(d.Encode())
	if d.Validate() == nil || err != nil || len(got.Reason) != 256 {
		t.Fatalf("disconnect: %v, %d bytes", err, len(got.Reason))
	}
	got, err = DecodeDisconnect(Disconnect{Reason: "bad \xff utf-8"}.Encode())
	if err != nil || got.Reason != "bad \uFFFD utf-8" {
		t.Fatalf("disconnect invalid utf-8: %q %v", got.Reason, err)
	}
	if (Block{}).Validate() == nil || (Tx{Raw: make([]byte, TxLimit+1)}).Validate() == nil {
		t.Fatal("raw validation")
	}
	for typ := 0; typ < 256; typ++ {
		if name := MsgName(uint8(typ)); name == "" {
			t.Fatalf("no name for %d", typ)
		}
	}
}

// The count limits are checked before anything is allocated for the entries.
func TestDecodersRejectBeforeAllocating(t *testing.T) {
	overInv := binary.BigEndian.AppendUint32(nil, MaxInvItems+1)
	overInv = append(overInv, make([]byte, invItemSize*(MaxInvItems+1))...)
	entry := Addr{Peers: []PeerAddr{{Addr: "a:1"}}}.Encode()[2:]
	overAddr := binary.BigEndian.AppendUint16(nil, MaxAddrPeers+1)
	for i := 0; i <= MaxAddrPeers; i++ {
		overAddr = append(overAddr, entry...)
	}
	longReason := append([]byte{0xff, 0xff}, bytes.Repeat([]byte{'x'}, 0xffff)...)
	for _, tc := range []struct {
		name   string
		decode func() error
	}{
		{"inv 50001", func() error { _, err := DecodeInv(overInv); return err }},
		{"addr 1001", func() error { _, err := DecodeAddr(overAddr); return err }},
		{"disconnect 65535", func() error { _, err := DecodeDisconnect(longReason); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = tc.decode() // warm up fmt's buffers
			var err error
			if n := allocated(func() { err = tc.decode() }); err == nil || n > 8<<10 {
				t.Fatalf("err %v after allocating %d bytes", err, n)
			}
		})
	}
	if _, err := DecodeHello(make([]byte, 4096)); err == nil || !strings.Contains(err.Error(), "max 512") {
		t.Fatalf("4 KiB hello: %v", err)
	}
}
