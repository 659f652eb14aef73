package dashboard_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/actorchain/actorchain/dashboard"
)

func get(t *testing.T, h http.Handler, method string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/", nil))
	return rec
}

// The page is one self-contained HTML document: its script and style are inline, the CSP allows
// exactly those (by hash) and this origin, and nothing in it names another origin.
func TestPageIsSelfContained(t *testing.T) {
	rec := get(t, dashboard.Handler(nil), http.MethodGet)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	body := rec.Body.String()
	csp := rec.Header().Get("Content-Security-Policy")
	for _, tag := range []string{"script", "style"} {
		m := regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllStringSubmatch(body, -1)
		if len(m) != 1 {
			t.Fatalf("want one inline <%s>, got %d", tag, len(m))
		}
		if len(m[0][1]) < 500 || strings.Contains(m[0][1], "/*"+strings.ToUpper(tag)+"*/") {
			t.Fatalf("<%s> was not filled in: %q", tag, m[0][1][:min(len(m[0][1]), 80)])
		}
		sum := sha256.Sum256([]byte(m[0][1]))
		want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !strings.Contains(csp, tag+"-src "+want) {
			t.Errorf("CSP %q does not allow the inline %s by its hash %s", csp, tag, want)
		}
	}
	for _, must := range []string{"default-src 'none'", "connect-src 'self'"} {
		if !strings.Contains(csp, must) {
			t.Errorf("CSP %q lacks %q", csp, must)
		}
	}
	// The SVG namespace is a name, not a request; nothing else may name an origin or load a file.
	rest := strings.ReplaceAll(body, "http://www.w3.org/2000/svg", "")
	for _, bad := range []string{"http://", "https://", "//cdn", " src=", " href=", "@import", "url("} {
		if strings.Contains(rest, bad) {
			t.Errorf("the page contains %q: it must not load anything from elsewhere", bad)
		}
	}
	if len(body) > 64<<10 {
		t.Errorf("the page is %d bytes; keep it small", len(body))
	}
}

// The crash and kill buttons exist only with fault injection: the page carries the flag.
func TestPageCarriesTheFaultInjectionFlag(t *testing.T) {
	for _, on := range []bool{false, true} {
		body := get(t, dashboard.Handler(func() bool { return on }), http.MethodGet).Body.String()
		want := `<meta name="actorchain-fault-injection" content="false">`
		if on {
			want = `<meta name="actorchain-fault-injection" content="true">`
		}
		if strings.Count(body, `<meta name="actorchain-fault-injection" content=`) != 1 || !strings.Contains(body, want) {
			t.Errorf("fault injection %v: the page lacks %s", on, want)
		}
	}
}

func TestHeadHasNoBody(t *testing.T) {
	rec := get(t, dashboard.Handler(nil), http.MethodHead)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "0" {
		t.Errorf("HEAD / = %d with %d body bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
}
