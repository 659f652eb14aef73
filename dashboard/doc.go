// Package dashboard is the node's operator page (CONTRACT §11; docs/operations.md, "The
// dashboard"): one HTML page built into the binary with embed, served by the API at GET /.
//
// The page is plain HTML, CSS and a small script (static/index.html, style.css, app.js), inlined
// into one document when the package initialises, so it needs no other path, no CDN and no
// build step. Its Content-Security-Policy allows exactly those inline blocks (by hash) and
// requests to its own origin, so the browser itself refuses any outside request.
//
// The script polls the node's own API every 2 s, one round at a time, each request bounded by a
// timeout: /v1/status (height, tip, peers and mempool counts, difficulty once the status has
// it), /v1/health, /v1/peers, /v1/blocks/{hash} (walking back from the tip by prev_hash, each
// block fetched once), /v1/actors (the supervision tree, updated in place so a restart flashes
// the actor and a click is never lost to a redraw) and /metrics (actorchain_miner_hashes_total,
// for this node's hash rate). When the node does not answer, the page says so, greys out what it
// shows and retries; on reconnect it reloads everything, including whether the fault hooks are on.
//
// Handler takes whether debug.fault_injection is on: only then does the page carry crash and kill
// buttons (the §3 debug calls). The package imports only the standard library; the api package
// mounts Handler at GET / (api.NewHandler).
package dashboard
