package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestInlineTimeout: an answer in time is written as the handler wrote it (status, headers,
// body); a handler past the deadline gets the client 503 with the busy body at once, its context
// ended, and its late writes refused; a handler that panics with http.ErrAbortHandler gets no
// answer written after it.
func TestInlineTimeout(t *testing.T) {
	const d = 100 * time.Millisecond
	busy := []byte(`{"error":"busy","code":"busy"}`)
	release := make(chan struct{})
	var lateErr atomic.Value
	var goroutines atomic.Int64
	h := inlineTimeout{d: d, busy: busy, next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fast":
			w.Header().Set("X-A", "1")
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, "fast")
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-release:
			}
			if _, err := io.WriteString(w, "late"); err != nil {
				lateErr.Store(err)
			}
			goroutines.Add(1)
		case "/abort":
			panic(http.ErrAbortHandler)
		}
	})}
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer close(release)

	res, err := http.Get(srv.URL + "/fast")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted || res.Header.Get("X-A") != "1" || string(body) != "fast" {
		t.Errorf("fast: %d %v %q", res.StatusCode, res.Header, body)
	}

	t0 := time.Now()
	res, err = http.Get(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if el := time.Since(t0); res.StatusCode != http.StatusServiceUnavailable || string(body) != string(busy) || el < d || el > d+3*time.Second {
		t.Errorf("slow: %d %q after %v", res.StatusCode, body, el)
	}
	deadline := time.Now().Add(5 * time.Second)
	for goroutines.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // a bounded poll for the handler's return
	}
	if err, _ := lateErr.Load().(error); !errors.Is(err, http.ErrHandlerTimeout) {
		t.Errorf("late write: %v, want ErrHandlerTimeout", err)
	}

	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/abort", nil)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Errorf("abort: got an answer %d", res.StatusCode)
	} else if !strings.Contains(err.Error(), "EOF") {
		t.Logf("abort: %v", err)
	}
}
