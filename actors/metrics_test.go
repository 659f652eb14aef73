package actors

import "testing"

func TestWithBounds(t *testing.T) {
	got := withBounds([]float64{0.0064, 0.0128, 0.0256}, 0.010, 0.0128)
	want := []float64{0.0064, 0.010, 0.0128, 0.0256}
	if len(got) != len(want) {
		t.Fatalf("withBounds = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("withBounds = %v, want %v", got, want)
		}
	}
}
