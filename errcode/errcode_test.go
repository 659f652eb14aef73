package errcode

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestDocsTable: docs/api.md's table of error codes lists exactly the codes of the table, each
// with the status the table maps it to.
func TestDocsTable(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([0-9]{3}) \\|").FindAllSubmatch(doc, -1)
	documented := map[Code]int{}
	for _, r := range rows {
		st, _ := strconv.Atoi(string(r[2]))
		documented[Code(r[1])] = st
	}
	for c := range statuses {
		st, ok := documented[c]
		if !ok {
			t.Errorf("code %s is not in docs/api.md's table", c)
		} else if st != c.Status() {
			t.Errorf("code %s: docs/api.md says %d, the table %d", c, st, c.Status())
		}
	}
	for c := range documented {
		if !c.Known() {
			t.Errorf("docs/api.md documents %s, which is not in the table", c)
		}
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		c    Code
		want int
	}{
		{BadNonce, http.StatusBadRequest},
		{NotFound, http.StatusNotFound},
		{Busy, http.StatusServiceUnavailable},
		{StorageUnavailable, http.StatusServiceUnavailable},
		{HeaderTooLarge, http.StatusRequestHeaderFieldsTooLarge},
		{"no_such_code", http.StatusInternalServerError},
	} {
		if got := tc.c.Status(); got != tc.want {
			t.Errorf("%s.Status() = %d, want %d", tc.c, got, tc.want)
		}
	}
	for _, c := range TxCodes {
		if !c.Known() || c.Status() != http.StatusBadRequest {
			t.Errorf("transaction code %s: known %v, status %d", c, c.Known(), c.Status())
		}
	}
	for _, d := range []Code{NonceUsed, NonceGap} {
		if d.Known() {
			t.Errorf("detail %s is in the table of codes", d)
		}
	}
}

func TestErrorChain(t *testing.T) {
	cause := New(Busy, "temporarily unavailable")
	storage := &Error{Code: StorageUnavailable, Reason: "storage commits are failing", Err: cause}
	err := fmt.Errorf("submit: %w", storage)
	e, ok := Of(err)
	if !ok || e != storage {
		t.Fatalf("Of(%v) = %v, %v; want the outermost coded error", err, e, ok)
	}
	if !errors.Is(err, cause) {
		t.Fatal("the cause is not seen through the coded error")
	}
	if _, ok := Of(errors.New("plain")); ok {
		t.Fatal("Of found a code in a plain error")
	}
	if got := New(Busy, "").Error(); got != "busy" {
		t.Fatalf("Error() without a reason = %q, want the code", got)
	}
}
