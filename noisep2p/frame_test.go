package noisep2p

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"pgregory.net/rapid"
)

func defaultLimits(t uint8) uint32 { return DefaultLimit(t) }

// frameBoundaries are the payload lengths where the frame count changes.
var frameBoundaries = []int{
	0, 1, maxFirstData - 1, maxFirstData, maxFirstData + 1,
	maxFirstData + maxFramePlain - 1, maxFirstData + maxFramePlain, maxFirstData + maxFramePlain + 1,
	1 << 20,
}

func wantFrames(n int) int {
	if n <= maxFirstData {
		return 1
	}
	return 1 + (n-maxFirstData+maxFramePlain-1)/maxFramePlain
}

func TestFramingBoundaries(t *testing.T) {
	enc, dec := memCiphers(t)
	fw := frameWriter{enc: enc}
	for _, n := range frameBoundaries {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		var buf bytes.Buffer
		if err := fw.writeMessage(&buf, MsgBlock, payload); err != nil {
			t.Fatal(err)
		}
		fs := splitFrames(buf.Bytes())
		if len(fs) != wantFrames(n) {
			t.Fatalf("%d bytes: %d frames, want %d", n, len(fs), wantFrames(n))
		}
		for i, f := range fs {
			if len(f) > frameHeaderSize+maxFrameSize || (i == 0 && len(f) < frameHeaderSize+minFirstFrame) || (i > 0 && len(f) < frameHeaderSize+minContFrame) {
				t.Fatalf("%d bytes: frame %d has %d bytes", n, i, len(f))
			}
		}
		fr := newFrameReader(&buf, dec)
		var typ uint8
		var got []byte
		var err error
		n0 := allocated(func() { typ, got, err = fr.readMessage(defaultLimits, nil) })
		if n > 2*initialPayloadCap && n0 > uint64(n)*3/2 {
			t.Fatalf("%d bytes: reading allocated %d bytes (growth too slow)", n, n0)
		}
		if err != nil || typ != MsgBlock || !bytes.Equal(got, payload) {
			t.Fatalf("%d bytes: typ %d, %d bytes, %v", n, typ, len(got), err)
		}
		if cap(got) != n {
			t.Fatalf("%d bytes: buffer grew to cap %d, want exactly the message", n, cap(got))
		}
	}
}

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func TestReadRejectsBeforeAllocating(t *testing.T) {
	enc, dec := memCiphers(t)
	fw := frameWriter{enc: enc}
	t.Run("declared 1 GiB", func(t *testing.T) {
		var buf bytes.Buffer
		if err := fw.writeFrame(&buf, firstPlain(1<<30, MsgBlock, []byte("x"))); err != nil {
			t.Fatal(err)
		}
		fr := newFrameReader(&buf, dec)
		var err error
		n := allocated(func() { _, _, err = fr.readMessage(defaultLimits, nil) })
		if !errors.Is(err, ErrMsgTooLarge) || n > 64<<10 {
			t.Fatalf("%v after allocating %d bytes", err, n)
		}
	})
	t.Run("declared 8 MiB, 10 bytes sent", func(t *testing.T) {
		var buf bytes.Buffer
		if err := fw.writeFrame(&buf, firstPlain(8<<20, MsgBlock, make([]byte, 10))); err != nil {
			t.Fatal(err)
		}
		fr := newFrameReader(&buf, dec)
		var err error
		n := allocated(func() { _, _, err = fr.readMessage(defaultLimits, nil) })
		if !errors.Is(err, io.EOF) || n > 128<<10 {
			t.Fatalf("%v after allocating %d bytes for a promise of 8 MiB", err, n)
		}
	})
}

func TestReadMessageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(fw *frameWriter) []byte
		want error
	}{
		{"clean EOF", func(*frameWriter) []byte { return nil }, io.EOF},
		{"half a header", func(*frameWriter) []byte { return []byte{0} }, io.ErrUnexpectedEOF},
		{"truncated frame", func(fw *frameWriter) []byte {
			var b bytes.Buffer
			_ = fw.writeMessage(&b, MsgTx, []byte("hello"))
			return b.Bytes()[:b.Len()-1]
		}, io.ErrUnexpectedEOF},
		{"missing continuation", func(fw *frameWriter) []byte {
			var b bytes.Buffer
			_ = fw.writeFrame(&b, firstPlain(10, MsgTx, []byte("abc")))
			return b.Bytes()
		}, io.EOF},
		{"garbage", func(*frameWriter) []byte { return append([]byte{0, 30}, make([]byte, 30)...) }, ErrDecrypt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, dec := memCiphers(t)
			fr := newFrameReader(bytes.NewReader(tc.make(&frameWriter{enc: enc})), dec)
			if _, _, err := fr.readMessage(defaultLimits, nil); !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
		})
	}
}

// Random-length messages (1 B .. 1 MiB, and every frame boundary) through a real Conn pair over
// net.Pipe arrive intact and in order.
func TestRapidFramingOverPipe(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		cc, sc := testConfig(t), testConfig(t)
		a, b := pipePair(t, cc, sc)
		pa, pb := startPeer(a, false), startPeer(b, false)
		defer func() { _ = a.Close(); _ = b.Close() }()
		n := rapid.IntRange(1, 4).Draw(rt, "messages")
		var sent [][]byte
		for i := 0; i < n; i++ {
			l := rapid.OneOf(rapid.IntRange(1, 1<<20), rapid.SampledFrom(frameBoundaries[1:])).Draw(rt, "len")
			r := rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 0))
			p := make([]byte, l)
			for j := range p {
				p[j] = byte(r.Uint32())
			}
			sent = append(sent, p)
			if err := a.Send(MsgBlock, p); err != nil {
				rt.Fatalf("send: %v", err)
			}
		}
		for i, want := range sent {
			if got := pb.waitMsg(t, MsgBlock); !bytes.Equal(got, want) {
				rt.Fatalf("message %d: got %d bytes, want %d", i, len(got), len(want))
			}
		}
		// And back the other way.
		if err := b.Send(MsgTx, []byte("ok")); err != nil {
			rt.Fatal(err)
		}
		if got := pa.waitMsg(t, MsgTx); string(got) != "ok" {
			rt.Fatalf("reply %q", got)
		}
	})
}
