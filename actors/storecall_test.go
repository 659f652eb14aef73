package actors

import (
	"errors"
	"fmt"
	"testing"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
)

// TestStoreErr: a failed write's error keeps a rule violation (the block's fault) and a coded
// error (busy, storage_unavailable) as they are, and makes anything else the node's: busy,
// wrapping ErrUnavailable, with the cause in the message.
func TestStoreErr(t *testing.T) {
	rule := &chainstate.RuleError{Code: chainstate.CodeBadPoW, Reason: "not enough work"}
	disk := errors.New("disk full")
	for _, tc := range []struct {
		name string
		in   error
		want errcode.Code // "" for a rule error, which has none
		is   error
	}{
		{"rule", fmt.Errorf("connect: %w", rule), "", rule},
		{"stopped", ErrStopped, errcode.Busy, ErrStopped},
		{"unavailable", fmt.Errorf("storage did not answer: %w", ErrUnavailable), errcode.Busy, ErrUnavailable},
		{"storage failing", ErrStorageUnavailable, errcode.StorageUnavailable, ErrUnavailable},
		{"plain", disk, errcode.Busy, ErrUnavailable},
	} {
		got := storeErr(tc.in)
		if !errors.Is(got, tc.is) {
			t.Errorf("%s: storeErr(%v) = %v, not %v", tc.name, tc.in, got, tc.is)
		}
		e, ok := errcode.Of(got)
		switch {
		case tc.want == "" && ok:
			t.Errorf("%s: storeErr(%v) = %v has code %s, want the rule error alone", tc.name, tc.in, got, e.Code)
		case tc.want != "" && (!ok || e.Code != tc.want):
			t.Errorf("%s: storeErr(%v) = %v, want code %s", tc.name, tc.in, got, tc.want)
		}
	}
	if got := storeErr(disk); !errors.Is(got, ErrUnavailable) || got.Error() != "storage: disk full: temporarily unavailable" {
		t.Errorf("storeErr(disk) = %q", got)
	}
}
