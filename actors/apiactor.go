package actors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/actorchain/actorchain/api"
	"github.com/asynkron/protoactor-go/actor"
)

// apiActor owns the HTTP server: it binds in Started and shuts the server down (in-flight requests
// get up to apiDrain to finish, then connections are closed) and joins its serve goroutine in
// Stopping and Restarting. A restart rebinds the same address.
type apiActor struct {
	d   apiDeps
	srv *http.Server
	wg  sync.WaitGroup
}

const apiDrain = 2 * time.Second

func (a *apiActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		if err := a.start(); err != nil {
			panic(err)
		}
		a.d.markReady()
	case *actor.Stopping, *actor.Restarting:
		a.stop()
	}
}

func (a *apiActor) start() error {
	addr := a.d.cfg.Listen
	if addr == "" {
		return nil
	}
	// The first instance takes the listener Start bound; after a restart, bind the port the
	// first instance got (matters when the config says :0).
	ln := a.d.takeListener()
	if ln == nil {
		if prev := a.d.boundAddr(); prev != "" {
			addr = prev
		}
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("api: listen on %s: %w", addr, err)
		}
	}
	// The handler serves the node's facade; the listener makes net/http's own error answers
	// (431, 400 before any handler runs) JSON too.
	h := api.NewHandler(a.d.backend, api.Options{Logger: a.d.log, Version: Version, Pprof: a.d.pprof})
	ln = api.Listener(ln)
	a.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	a.d.setBound(ln.Addr().String())
	srv := a.srv
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.d.log.Error("api server stopped", "actor", nameAPI, "err", err)
		}
	}()
	a.d.log.Info("api listening", "actor", nameAPI, "addr", ln.Addr().String())
	return nil
}

func (a *apiActor) stop() {
	if a.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), apiDrain)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		_ = a.srv.Close()
	}
	a.wg.Wait()
	a.srv = nil
}
