package actors

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// TestParseBundleErrors: a bad bundle's error names the field and says what it must hold.
func TestParseBundleErrors(t *testing.T) {
	id := strings.Repeat("ab", 32)
	peer := func(fields string) string {
		return `{"version":1,"chain_id":"c","genesis_hash":"g","exported_at":"2026-01-02T15:04:05Z","peers":[` + fields + `]}`
	}
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", []string{"empty", "node peers export"}},
		{"  \n", []string{"empty"}},
		{"{", []string{"truncated JSON"}},
		{"{]", []string{"invalid JSON at byte 2"}},
		{"[1]", []string{"want a JSON object", "got a list"}},
		{`"x"`, []string{"want a JSON object", "got a string"}},
		{"{} {}", []string{"trailing data"}},
		{`{"extra":1}`, []string{"extra: unknown field", "version, chain_id, genesis_hash, exported_at and peers"}},
		{`{"version":"1"}`, []string{`version: want the number 1, got a string "1"`}},
		{`{"version":1.5}`, []string{"version: want the number 1, got a number 1.5"}},
		{`{"chain_id":7}`, []string{"chain_id: want the chain id, a string, got a number 7"}},
		{`{"genesis_hash":[]}`, []string{"genesis_hash: want", "64 hex characters, got a list"}},
		{`{"exported_at":5}`, []string{"exported_at: want a time in RFC 3339 form", "got a number 5"}},
		{`{"exported_at":"yesterday"}`, []string{"exported_at: want a time in RFC 3339 form", `got a string "yesterday"`}},
		{`{"peers":"x"}`, []string{`peers: want a list of peers, each {"id", "addr", "last_seen"}, got a string "x"`}},
		{`{"peers":{}}`, []string{"peers: want a list", "got an object"}},
		{peer(`3`), []string{`peers[0]: want an object {"id", "addr", "last_seen"}, got a number 3`}},
		{peer(`null`), []string{"peers[0]: want an object", "got null"}},
		{peer(`{"id":"` + id + `"},{"ip":1}`), []string{"peers[1].ip: unknown field (the fields are id, addr and last_seen)"}},
		{peer(`{"id":5}`), []string{"peers[0].id: want the node id, a string of 64 hex characters, got a number 5"}},
		{peer(`{"addr":true}`), []string{"peers[0].addr: want HOST:PORT, a string, got a boolean true"}},
		{peer(`{"last_seen":"2026-13-01"}`), []string{"peers[0].last_seen: want a time in RFC 3339 form"}},
		{`{"peers":[` + strings.Repeat(`{},`, 3) + `7]}`, []string{"peers[3]: want an object"}},
	} {
		_, err := ParseBundle([]byte(tc.in))
		if err == nil {
			t.Errorf("%.60q: parsed", tc.in)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%.60q: error %q does not say %q", tc.in, err, w)
			}
		}
		if !strings.HasPrefix(err.Error(), "peer bundle: ") {
			t.Errorf("%.60q: error %q does not start with peer bundle:", tc.in, err)
		}
	}
}

// TestBundleRecordsErrors: a peer's id and address are checked with errors in words.
func TestBundleRecordsErrors(t *testing.T) {
	p := testBundleParams(t)
	good := api.NewBundle(p, nil, time.Now())
	id := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		peer api.BundlePeer
		want string
	}{
		{api.BundlePeer{ID: "ab", Addr: "127.0.0.1:1"}, `peers[0].id: want the node id, 64 hex characters, got "ab"`},
		{api.BundlePeer{ID: id, Addr: "x"}, `peers[0].addr: want HOST:PORT (a host name or IP address, a colon and a port from 1 to 65535), got "x"`},
		{api.BundlePeer{ID: id, Addr: "1.2.3.4:99999"}, `got "1.2.3.4:99999"`},
		{api.BundlePeer{ID: id, Addr: ":80"}, `got ":80"`},
		{api.BundlePeer{ID: id, Addr: "h:0"}, `got "h:0"`},
		{api.BundlePeer{ID: id, Addr: "h:http"}, `got "h:http"`},
	} {
		b := *good
		b.Peers = []api.BundlePeer{tc.peer}
		_, err := b.Records(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.peer, err, tc.want)
		}
	}
	// The control: good peers pass.
	b := *good
	b.Peers = []api.BundlePeer{{ID: id, Addr: "127.0.0.1:9000"}, {ID: id, Addr: "[::1]:9000"}, {ID: id, Addr: "seed.example.org:1"}}
	if recs, err := b.Records(p); err != nil || len(recs) != 3 {
		t.Errorf("good peers: %d records, %v", len(recs), err)
	}
}

// TestParseBundleRoundTrip: what NewBundle makes, encoded as export writes it, parses back equal.
func TestParseBundleRoundTrip(t *testing.T) {
	p := testBundleParams(t)
	b := api.NewBundle(p, nil, time.Now())
	b.Peers = []api.BundlePeer{{ID: strings.Repeat("cd", 32), Addr: "10.0.0.1:8601", LastSeen: time.Unix(1700000000, 0).UTC()}, {ID: strings.Repeat("ef", 32), Addr: "h:1"}}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Errorf("parsed %+v, want %+v", got, b)
	}
	if _, err := got.Records(p); err != nil {
		t.Errorf("records: %v", err)
	}
}

func testBundleParams(t *testing.T) *chainstate.Params {
	t.Helper()
	p, err := ParamsFromConfig(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	return p
}
