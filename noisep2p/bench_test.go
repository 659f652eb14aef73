package noisep2p

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkHandshakeTCP: dial + accept + XX handshake + close over loopback TCP per iteration,
// both sides in this process.
func BenchmarkHandshakeTCP(b *testing.B) {
	scfg := testConfig(b)
	ln, err := Listen("127.0.0.1:0", scfg, ListenerConfig{ExemptLoopback: true}, func(c *Conn) { _ = c.Close() })
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	ccfg := clientOf(b, scfg)
	addr := ln.Addr().String()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := Dial(context.Background(), addr, ccfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		_ = c.Close()
	}
}

// BenchmarkHandshakeMem: the three XX messages between two HandshakeStates, no I/O.
func BenchmarkHandshakeMem(b *testing.B) {
	si, _ := cfgSettings(b)
	sr, _ := cfgSettings(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		memHandshake(b, si, sr)
	}
}

// BenchmarkThroughput1MiBTCP: 1 MiB messages through two started Conns over loopback TCP, at
// most 8 in flight.
func BenchmarkThroughput1MiBTCP(b *testing.B) {
	scfg := testConfig(b)
	scfg.SendQueue = 16
	got := make(chan struct{}, 16)
	server := make(chan *Conn, 1)
	ln, err := Listen("127.0.0.1:0", scfg, ListenerConfig{ExemptLoopback: true}, func(c *Conn) {
		server <- c
		c.Start(func(typ uint8, p []byte) {
			if typ == MsgBlock {
				got <- struct{}{}
			}
		}, nil)
	})
	if err != nil {
		b.Fatal(err)
	}
	ccfg := clientOf(b, scfg)
	c, err := Dial(context.Background(), ln.Addr().String(), ccfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	c.Start(nil, nil)
	payload := bytes.Repeat([]byte{0x5a}, 1<<20)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	inFlight := 0
	for i := 0; i < b.N; i++ {
		if inFlight == 8 {
			<-got
			inFlight--
		}
		if err := c.Send(MsgBlock, payload); err != nil {
			b.Fatal(err)
		}
		inFlight++
	}
	for ; inFlight > 0; inFlight-- {
		<-got
	}
	b.StopTimer()
	_ = c.Close()
	_ = ln.Close()
	_ = (<-server).Close()
}

// BenchmarkFraming1MiBMem: encrypt and frame a 1 MiB message, then read and decrypt it, in memory.
func BenchmarkFraming1MiBMem(b *testing.B) {
	enc, dec := memCiphers(b)
	fw := frameWriter{enc: enc}
	payload := bytes.Repeat([]byte{0x5a}, 1<<20)
	var buf bytes.Buffer
	fr := newFrameReader(&buf, dec)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := fw.writeMessage(&buf, MsgBlock, payload); err != nil {
			b.Fatal(err)
		}
		if _, _, err := fr.readMessage(DefaultLimit, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func inv500() Inv {
	items := make([]InvItem, 500)
	for i := range items {
		items[i] = InvItem{Kind: InvBlock, Hash: [32]byte{byte(i), byte(i >> 8)}}
	}
	return Inv{Items: items}
}

func BenchmarkInv500Encode(b *testing.B) {
	m := inv500()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = m.Encode()
	}
}

func BenchmarkInv500Decode(b *testing.B) {
	enc := inv500().Encode()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeInv(enc); err != nil {
			b.Fatal(err)
		}
	}
}
