package dashboard_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: the nodes are stopped, and the browser
// the tests share is closed after the last one (chromedp.Cancel, then the allocator's cancel,
// which waits for the browser process); that joins chromedp's goroutines.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(closingM{m})
}

// closingM runs the tests, then closes the browser they shared.
type closingM struct{ m *testing.M }

func (c closingM) Run() int {
	code := c.m.Run()
	closeBrowser()
	return code
}
