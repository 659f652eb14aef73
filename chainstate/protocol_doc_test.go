package chainstate

import (
	"encoding/hex"
	"math/big"
	"os"
	"strconv"
	"strings"
	"testing"
)

// docTables returns the rows of the markdown tables in the section of docs/protocol.md that
// starts at heading and ends at the next heading of the same or a higher level, each row as its
// trimmed cells (backquotes removed), grouped by the number of cells.
func docTables(t *testing.T, heading string) map[int][][]string {
	t.Helper()
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("docs/protocol.md has no heading %q", heading)
	}
	level := strings.Index(heading, " ")
	out := map[int][][]string{}
	for _, line := range strings.Split(text[i+len(heading)+2:], "\n") {
		if strings.HasPrefix(line, "#") && strings.Index(line, " ") <= level {
			break
		}
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for k := range cells {
			cells[k] = strings.Trim(strings.TrimSpace(cells[k]), "`")
		}
		out[len(cells)] = append(out[len(cells)], cells)
	}
	return out
}

func docUint(t *testing.T, s string, base int) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		t.Fatalf("docs/protocol.md: %q: %v", s, err)
	}
	return v
}

// TestProtocolDocDifficulty checks the tables of docs/protocol.md §8 against the code: every
// compact target row (bits, header bytes, target, work) and every schedule vector (ASERT from the
// anchor and the parent, then the compact form).
func TestProtocolDocDifficulty(t *testing.T) {
	compact := docTables(t, "### 8.2 Compact targets")[5]
	if len(compact) < 6 {
		t.Fatalf("docs/protocol.md 8.2: %d compact rows, want at least 6", len(compact))
	}
	for _, r := range compact[2:] { // after the header and the separator
		bits := uint32(docUint(t, r[0], 16))
		want, ok := new(big.Int).SetString(r[2], 16)
		if !ok || len(r[2]) != 64 {
			t.Fatalf("8.2: target %q is not 64 hex", r[2])
		}
		got, err := CompactToTarget(bits)
		if err != nil || got.Cmp(want) != 0 {
			t.Errorf("8.2: bits %08x decode to %x (%v), the doc says %s", bits, got, err, r[2])
			continue
		}
		if b := hex.EncodeToString(be.AppendUint32(nil, bits)); strings.ReplaceAll(r[1], " ", "") != b {
			t.Errorf("8.2: bits %08x as bytes %s, the doc says %s", bits, b, r[1])
		}
		if c := TargetToCompact(got); c != bits {
			t.Errorf("8.2: target %s encodes as %08x, the doc says %08x", r[2], c, bits)
		}
		if w := WorkForTarget(got).String(); w != r[3] {
			t.Errorf("8.2: work of %08x is %s, the doc says %s", bits, w, r[3])
		}
	}
	vectors := docTables(t, "### 8.6 Test vectors")[9]
	if len(vectors) < 12 {
		t.Fatalf("docs/protocol.md 8.6: %d vector rows, want at least 12", len(vectors))
	}
	for _, r := range vectors[2:] {
		anchor, err := CompactToTarget(uint32(docUint(t, r[0], 16)))
		if err != nil {
			t.Fatal(err)
		}
		a := ASERT{AnchorHeight: 1, AnchorTimeMs: docUint(t, r[1], 10), AnchorTarget: anchor,
			IdealMs: int64(docUint(t, r[2], 10)), HalfLifeMs: int64(docUint(t, r[3], 10))}
		got := a.Next(docUint(t, r[4], 10), docUint(t, r[5], 10))
		if g := hex.EncodeToString(got.FillBytes(make([]byte, 32))); g != r[6] {
			t.Errorf("8.6 %s: next target %s, the doc says %s", r[8], g, r[6])
		}
		if c := TargetToCompact(got); c != uint32(docUint(t, r[7], 16)) {
			t.Errorf("8.6 %s: next bits %08x, the doc says %s", r[8], c, r[7])
		}
	}
	// The genesis example of 8.3: pow_bits 20 gives bits 1e0fffff and G = 0x0fffff * 2^216.
	p := &Params{ChainID: "doc", PowBits: 20, TargetBlockTimeMs: 1000, HalfLifeMs: 300_000}
	g := new(big.Int).Lsh(big.NewInt(0x0fffff), 216)
	if p.GenesisBits() != 0x1e0fffff || p.GenesisTarget().Cmp(g) != 0 {
		t.Errorf("8.3: pow_bits 20 gives bits %08x target %x", p.GenesisBits(), p.GenesisTarget())
	}
}
