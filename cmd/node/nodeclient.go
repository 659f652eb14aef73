package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/actorchain/actorchain/api"
)

// client is the API client of the node the command talks to: --api, else http:// + the config's
// api.listen. Every failure of a call on it goes through nodeError.
func (g *globals) client() (*api.Client, error) {
	u, err := g.apiURL()
	if err != nil {
		return nil, err
	}
	return api.NewClient(u, &http.Client{Timeout: 30 * time.Second}), nil
}

// noNodeError is a call that reached no node: nothing listens at the URL (or the host is
// unknown or unreachable).
type noNodeError struct {
	url   string
	cause error // the dial error, for its last words
}

func (e *noNodeError) Error() string {
	msg := fmt.Sprintf("no node answers at %s; start it with node run", e.url)
	var oe *net.OpError
	if errors.As(e.cause, &oe) && oe.Err != nil {
		msg += " (" + oe.Err.Error() + ")"
	}
	return msg
}

func (e *noNodeError) Unwrap() error { return e.cause }

// nodeError is the one place where a failed call on the node's API becomes the command's error.
// The node's own answers (*api.APIError) pass as they are: they say what is wrong. A call that
// could not connect is a *noNodeError ("no node answers at URL; start it with node run"). Any
// other failure (a timeout or a connection dropped after connecting, an answer that is not the
// API's) names the URL.
func nodeError(c *api.Client, err error) error {
	if err == nil {
		return nil
	}
	var ae *api.APIError
	if errors.As(err, &ae) {
		return err
	}
	var nn *noNodeError
	if errors.As(err, &nn) {
		return err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return &noNodeError{url: c.BaseURL(), cause: err}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("the node at %s did not answer in time (busy or stuck; see its log): %w", c.BaseURL(), err)
	}
	return fmt.Errorf("no answer from the node at %s: %w", c.BaseURL(), err)
}
