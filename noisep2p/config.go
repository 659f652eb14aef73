package noisep2p

import (
	"crypto/ecdh"
	"errors"
	"fmt"
	"time"
)

// Defaults of Config.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultIdleTimeout      = 90 * time.Second
	DefaultPingInterval     = 30 * time.Second
	DefaultMessageTimeout   = 30 * time.Second
	DefaultWriteTimeout     = 20 * time.Second
	DefaultDialTimeout      = 10 * time.Second
	DefaultMinRate          = 64 << 10 // bytes per second
	DefaultSendQueue        = 64
	// DisconnectTimeout bounds how long Disconnect spends sending its message and waiting for the
	// peer to close.
	DisconnectTimeout = time.Second
)

// ProtocolName and ProtocolMajor form the first bytes of the prologue.
const (
	ProtocolName  = "actorchain-p2p"
	ProtocolMajor = 1
)

// Prologue returns the 49 bytes that both sides mix into the handshake:
// "actorchain-p2p/1" ‖ 0x00 ‖ genesis. Peers of another chain or major version fail at message 2.
func Prologue(genesis [32]byte) []byte {
	p := make([]byte, 0, 49)
	p = fmt.Appendf(p, "%s/%d", ProtocolName, ProtocolMajor)
	p = append(p, 0)
	return append(p, genesis[:]...)
}

// Config holds what a handshake and a connection need. The zero value of every optional field
// means its default. It is read, never modified, and may be shared.
type Config struct {
	Key     *ecdh.PrivateKey // X25519 static key: the node's identity (required)
	Genesis [32]byte         // bound by the prologue and re-checked in the hello
	// Hello returns the hello to send; called once per handshake. Genesis is filled in by the
	// package. Nil sends a zero hello.
	Hello func() Hello

	HandshakeTimeout time.Duration // absolute, for the whole handshake (default 10s)
	IdleTimeout      time.Duration // read deadline before each message's first frame (default 90s)
	PingInterval     time.Duration // keepalive pings (default 30s)
	// MessageTimeout bounds the rest of a message after its first frame:
	// MessageTimeout + L/MinRate (default 30s).
	MessageTimeout time.Duration
	WriteTimeout   time.Duration // per message: WriteTimeout + L/MinRate (default 20s)
	DialTimeout    time.Duration // TCP connect in Dial (default 10s)
	MinRate        int           // bytes per second assumed by the per-message deadlines (default 64 KiB/s)
	SendQueue      int           // outbound queue length; full => ErrSlowPeer (default 64)
	// MaxMessage overrides the payload limit (L) of a message type, at most MaxMessageCap; 0 keeps
	// the default. Defaults: Block 8 MiB, Tx 64 KiB, Addr 296,002 B, Inv/GetData/NotFound
	// 1,650,004 B, CmpctBlock and BlockTxn 8 MiB, GetBlockTxn 400,036 B, every other type
	// (including unknown ones) 64 KiB.
	MaxMessage map[uint8]uint32
	// Traffic, when not nil, counts every connection's messages and bytes (shared by all of them).
	Traffic *Traffic
}

// settings is a validated Config with defaults filled in and the derived values precomputed.
type settings struct {
	priv, pub []byte
	self      ID
	genesis   [32]byte
	prologue  []byte
	hello     func() Hello

	handshakeTimeout time.Duration
	idleTimeout      time.Duration
	pingInterval     time.Duration
	messageTimeout   time.Duration
	writeTimeout     time.Duration
	dialTimeout      time.Duration
	minRate          int
	sendQueue        int
	limits           [256]uint32
	traffic          *Traffic
}

// DefaultLimit returns the default payload limit of a message type.
func DefaultLimit(typ uint8) uint32 {
	switch typ {
	case MsgBlock:
		return BlockLimit
	case MsgTx:
		return TxLimit
	case MsgAddr:
		return AddrLimit
	case MsgInv, MsgGetData, MsgNotFound:
		return InvLimit
	case MsgCmpctBlock:
		return CmpctBlockLimit
	case MsgGetBlockTxn:
		return GetBlockTxnLimit
	case MsgBlockTxn:
		return BlockTxnLimit
	}
	return ControlLimit
}

func dur(name string, v, def time.Duration) (time.Duration, error) {
	switch {
	case v < 0:
		return 0, fmt.Errorf("noisep2p: config: %s must be >= 0, got %v", name, v)
	case v == 0:
		return def, nil
	}
	return v, nil
}

// Validate checks c and reports the first problem.
func (c *Config) Validate() error {
	_, err := c.settings()
	return err
}

func (c *Config) settings() (*settings, error) {
	if err := c.checkKey(); err != nil {
		return nil, err
	}
	s := &settings{
		priv:     c.Key.Bytes(),
		pub:      c.Key.PublicKey().Bytes(),
		genesis:  c.Genesis,
		prologue: Prologue(c.Genesis),
		hello:    c.Hello,
		traffic:  c.Traffic,
	}
	copy(s.self[:], s.pub)
	if s.hello == nil {
		s.hello = func() Hello { return Hello{} }
	}
	if err := s.setTimeouts(c); err != nil {
		return nil, err
	}
	var err error
	if s.minRate, err = intOrDefault("MinRate", c.MinRate, DefaultMinRate); err != nil {
		return nil, err
	}
	if s.sendQueue, err = intOrDefault("SendQueue", c.SendQueue, DefaultSendQueue); err != nil {
		return nil, err
	}
	if err := s.setLimits(c.MaxMessage); err != nil {
		return nil, err
	}
	return s, nil
}

// checkKey checks that c is set and holds an X25519 key.
func (c *Config) checkKey() error {
	if c == nil {
		return errors.New("noisep2p: config is nil")
	}
	if c.Key == nil {
		return errors.New("noisep2p: config: Key is nil")
	}
	if c.Key.Curve() != ecdh.X25519() {
		return errors.New("noisep2p: config: Key is not an X25519 key")
	}
	return nil
}

// setTimeouts sets s's timeouts from c's, defaults for those at 0, and checks that the ping
// interval is shorter than the idle timeout.
func (s *settings) setTimeouts(c *Config) error {
	var err error
	for _, d := range []struct {
		name   string
		v, def time.Duration
		out    *time.Duration
	}{
		{"HandshakeTimeout", c.HandshakeTimeout, DefaultHandshakeTimeout, &s.handshakeTimeout},
		{"IdleTimeout", c.IdleTimeout, DefaultIdleTimeout, &s.idleTimeout},
		{"PingInterval", c.PingInterval, DefaultPingInterval, &s.pingInterval},
		{"MessageTimeout", c.MessageTimeout, DefaultMessageTimeout, &s.messageTimeout},
		{"WriteTimeout", c.WriteTimeout, DefaultWriteTimeout, &s.writeTimeout},
		{"DialTimeout", c.DialTimeout, DefaultDialTimeout, &s.dialTimeout},
	} {
		if *d.out, err = dur(d.name, d.v, d.def); err != nil {
			return err
		}
	}
	if s.pingInterval >= s.idleTimeout {
		return fmt.Errorf("noisep2p: config: PingInterval (%v) must be shorter than IdleTimeout (%v)", s.pingInterval, s.idleTimeout)
	}
	return nil
}

// intOrDefault returns v, or def when v is 0; a negative v is an error naming name.
func intOrDefault(name string, v, def int) (int, error) {
	switch {
	case v < 0:
		return 0, fmt.Errorf("noisep2p: config: %s must be >= 0, got %d", name, v)
	case v == 0:
		return def, nil
	}
	return v, nil
}

// setLimits sets s's payload limits: the defaults, overridden by the non-zero values of
// overrides, each at most MaxMessageCap.
func (s *settings) setLimits(overrides map[uint8]uint32) error {
	for t := range s.limits {
		s.limits[t] = DefaultLimit(uint8(t))
	}
	for t, v := range overrides {
		if v > MaxMessageCap {
			return fmt.Errorf("noisep2p: config: MaxMessage[%d] = %d over the cap of %d", t, v, MaxMessageCap)
		}
		if v != 0 {
			s.limits[t] = v
		}
	}
	return nil
}

// budget returns base + n/minRate: the time allowed for n bytes on top of a fixed allowance.
func (s *settings) budget(base time.Duration, n int) time.Duration {
	return base + time.Duration(int64(n)*int64(time.Second)/int64(s.minRate))
}
