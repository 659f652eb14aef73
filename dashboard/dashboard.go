package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

//go:embed static/index.html static/style.css static/app.js
var static embed.FS

// flagMeta is the placeholder in index.html that carries whether the fault-injection hooks are
// on; the page reads it on load and again from a fresh GET / after a reconnect.
const flagMeta = `<meta name="actorchain-fault-injection" content="false">`

// page is the dashboard assembled once at start: index.html with style.css and app.js inlined,
// so GET / is the only path it needs, and the Content-Security-Policy that allows exactly those
// two inline blocks (by hash) and requests to this origin only.
type page struct {
	off, on []byte // the HTML with fault injection off and on
	csp     string
}

var built = mustBuild()

func mustBuild() page {
	read := func(name string) string {
		b, err := static.ReadFile("static/" + name)
		if err != nil {
			panic("dashboard: embedded " + name + ": " + err.Error()) // embedded at build time: cannot happen
		}
		return string(b)
	}
	html, css, js := read("index.html"), read("style.css"), read("app.js")
	if strings.Count(html, flagMeta) != 1 || strings.Count(html, "/*STYLE*/") != 1 || strings.Count(html, "/*SCRIPT*/") != 1 {
		panic("dashboard: index.html lacks one of its placeholders")
	}
	html = strings.Replace(html, "/*STYLE*/", css, 1)
	html = strings.Replace(html, "/*SCRIPT*/", js, 1)
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	return page{
		off: []byte(html),
		on:  []byte(strings.Replace(html, flagMeta, strings.Replace(flagMeta, `"false"`, `"true"`, 1), 1)),
		csp: fmt.Sprintf("default-src 'none'; script-src %s; style-src %s; connect-src 'self'; img-src 'self' data:; "+
			"base-uri 'none'; form-action 'none'; frame-ancestors 'none'", hash(js), hash(css)),
	}
}

// Handler serves the dashboard page. faultInjection reports whether the node runs with
// debug.fault_injection: only then does the page show crash and kill buttons. It answers any
// request it is given (the caller routes GET / to it).
func Handler(faultInjection func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := built.off
		if faultInjection != nil && faultInjection() {
			body = built.on
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", built.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = bytes.NewReader(body).WriteTo(w)
		}
	})
}
