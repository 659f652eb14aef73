package actors

import (
	"log/slog"
	"time"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/noisep2p"
)

// linkSender is how a connection actor sends to its peer. Every method runs on the actor.
type linkSender interface {
	send(m noisep2p.Message)
	// due is called when the wake function given to the sender fired (linkDue).
	due()
	// stop stops the sender's timers (the actor is stopping).
	stop()
}

// connSender sends straight to the connection: the sender of a node without
// debug.fault_injection.
type connSender struct {
	conn *noisep2p.Conn
	log  *slog.Logger
	name string
}

func (s connSender) send(m noisep2p.Message) {
	if err := s.conn.SendMsg(m); err != nil {
		s.log.Debug("send to peer failed", "actor", s.name, "err", err)
	}
}
func (connSender) due()  {}
func (connSender) stop() {}

// faultySender is the link fault decorator (debug.fault_injection only): it applies the link
// filter set for the peer (POST /v1/debug/links) to every message before next sends it: loss
// drops it, delay holds it back in order (linkShaper), and wake asks the actor to call due once
// the first held message is due. Delays are real time (time.Now and timers), not the node's
// Clock: a delay is how long a message takes, whatever the clock says.
type faultySender struct {
	next   linkSender
	id     noisep2p.ID
	filter func(noisep2p.ID) api.LinkFilter
	wake   func()
	shaper *linkShaper // nil until a filter applies
	timer  *time.Timer // wakes the actor when the first held message is due
}

// linkSender returns the sender of the connection actor of peer id: the connection itself,
// decorated by a faultySender when fault injection is on.
func (n *Node) linkSender(id noisep2p.ID, c *noisep2p.Conn, wake func(), name string) linkSender {
	var s linkSender = connSender{conn: c, log: n.log, name: name}
	if n.faults != nil {
		s = &faultySender{next: s, id: id, filter: n.faults.link, wake: wake}
	}
	return s
}

func (s *faultySender) send(m noisep2p.Message) {
	if f := s.filter(s.id); f.Active() || s.shaper != nil {
		if s.shaper == nil {
			s.shaper = newLinkShaper(s.id)
		}
		now, pending := time.Now(), len(s.shaper.queue) > 0
		send, queued := s.shaper.offer(f, m, now)
		if queued && !pending {
			s.arm(s.shaper.queue[0].At.Sub(now))
		}
		if !send {
			return
		}
	}
	s.next.send(m)
}

// due sends the held-back messages that are due and re-arms for the next.
func (s *faultySender) due() {
	if s.shaper == nil {
		return
	}
	now := time.Now()
	msgs, next := s.shaper.due(now)
	for _, m := range msgs {
		s.next.send(m)
	}
	if !next.IsZero() {
		s.arm(next.Sub(now))
	}
}

func (s *faultySender) stop() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.next.stop()
}

// arm makes the sender wake the actor after d.
func (s *faultySender) arm(d time.Duration) {
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(max(d, 0), s.wake)
}
