package api

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/actorchain/actorchain/errcode"
)

func exampleHealth(healthy bool) Health {
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := Health{Healthy: healthy}
	for _, n := range []string{"storage", "consensus", "mempool", "peers", "miner"} {
		h.Components = append(h.Components, HealthComponent{Name: n, Healthy: true, Since: since})
	}
	if !healthy {
		h.Components[0] = HealthComponent{Name: "storage", Error: "commits failing: connect block: injected storage fault", Since: since}
	}
	return h
}

// TestHealth: 200 with the components for a healthy node, 503 with the same body shape for an
// unhealthy one, and the client reads both.
func TestHealth(t *testing.T) {
	for _, healthy := range []bool{true, false} {
		t.Run(fmt.Sprint(healthy), func(t *testing.T) {
			f := newFake()
			want := exampleHealth(healthy)
			f.set(func(f *fake) { f.health = want })
			srv := server(t, f, Options{})
			a := get(t, srv, "/v1/health")
			wantStatus := http.StatusOK
			if !healthy {
				wantStatus = http.StatusServiceUnavailable
			}
			if a.status != wantStatus || a.header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d %q, want %d: %q", a.status, a.header.Get("Content-Type"), wantStatus, a.raw)
			}
			m := a.json(t)
			wantKeys(t, "health", m, "healthy", "components")
			if m["healthy"] != healthy {
				t.Errorf("healthy %v, want %v", m["healthy"], healthy)
			}
			comps, _ := m["components"].([]any)
			if len(comps) != 5 {
				t.Fatalf("components %v, want 5", m["components"])
			}
			for _, c := range comps {
				wantKeys(t, "component", c.(map[string]any), "name", "healthy", "error", "since", "restarts_recent")
			}
			got, err := NewClient(srv.URL, srv.Client()).Health(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Client.Health = %+v, want %+v", got, want)
			}
		})
	}
}

// TestHealthBusy: a 503 that is not a health body (the node did not answer) is an error for the
// client, not an unhealthy verdict.
func TestHealthBusy(t *testing.T) {
	f := newFake()
	f.set(func(f *fake) { f.err = errUnavailable })
	srv := server(t, f, Options{})
	wantError(t, get(t, srv, "/v1/health"), 503, errcode.Busy)
	_, err := NewClient(srv.URL, nil).Health(t.Context())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != errcode.Busy {
		t.Fatalf("Client.Health of a busy node: %v, want an *APIError busy", err)
	}
}

// TestSubmitTxStorageUnavailable: a transfer refused because storage commits fail is 503
// storage_unavailable, whether the mempool refused it at the door or its commit failed.
func TestSubmitTxStorageUnavailable(t *testing.T) {
	for _, err := range []error{
		errStorageUnavailable,
		fmt.Errorf("the node cannot store transfers now (connect: disk full): %w", errStorageUnavailable),
	} {
		f := newFake()
		f.set(func(f *fake) { f.submitErr = err })
		srv := server(t, f, Options{})
		wantError(t, post(t, srv, "/v1/txs", exampleBody()), 503, errcode.StorageUnavailable, "storage")
	}
}
