package actors

import (
	"errors"
	"math/big"
	"testing"

	"github.com/actorchain/actorchain/chain"
	"github.com/actorchain/actorchain/chainstate"
)

// countingRules refuses every block in CheckBlock and counts the calls.
type countingRules struct{ checks int }

func (r *countingRules) CheckHeader(*chainstate.Header, chain.HeaderContext) error { return nil }
func (r *countingRules) Work(*chainstate.Header) *big.Int                          { return big.NewInt(1) }
func (r *countingRules) CheckBlock(*chainstate.Block) error {
	r.checks++
	return errors.New("refused")
}

// TestCheckedRulesSkipOnlyTheCheckedBlock: the block a connection checked passes without a
// second check; any other block (an equal copy included: the mark is the pointer) is checked.
func TestCheckedRulesSkipOnlyTheCheckedBlock(t *testing.T) {
	inner := &countingRules{}
	r := &checkedRules{Rules: inner}
	b := &chainstate.Block{Header: chainstate.Header{Height: 3}}
	other := *b
	tests := []struct {
		name       string
		checked    *chainstate.Block
		block      *chainstate.Block
		wantErr    bool
		wantChecks int
	}{
		{"nothing marked", nil, b, true, 1},
		{"the marked block", b, b, false, 0},
		{"an equal copy of the marked block", b, &other, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner.checks = 0
			r.checked = tt.checked
			err := r.CheckBlock(tt.block)
			if (err != nil) != tt.wantErr || inner.checks != tt.wantChecks {
				t.Fatalf("CheckBlock = %v after %d checks, want error %v after %d", err, inner.checks, tt.wantErr, tt.wantChecks)
			}
		})
	}
}
