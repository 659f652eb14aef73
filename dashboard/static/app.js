'use strict';
// The Actorchain dashboard: polls this node's own API every 2 s (one round at a time, each
// request bounded by a timeout) and renders it. Everything is built with textContent, never
// innerHTML, since peer addresses and errors come from outside.
(function () {
  var POLL_MS = 2000;          // one round every 2 s (after the previous one ended); ?refresh=S changes it
  var refresh = parseFloat(new URLSearchParams(location.search).get('refresh'));
  if (refresh >= 0.25 && refresh <= 60) { POLL_MS = refresh * 1000; }
  var TIMEOUT_MS = 4000;       // a request the node has not answered by then counts as failed
  var HISTORY_MS = 5 * 60000;  // the charts show the last 5 minutes
  var RATE_WINDOW_MS = 10000;  // the hash rate figure: hashes over about the last 10 s
  var NBLOCKS = 20;            // rows of the blocks table

  var $ = function (id) { return document.getElementById(id); };
  var flagMeta = document.querySelector('meta[name="actorchain-fault-injection"]');
  var st = {
    faultInjection: !!flagMeta && flagMeta.content === 'true',
    genesis: null,            // genesis hash of the chain shown; another one resets everything
    blocks: new Map(),        // hash -> block, the cache of the last NBLOCKS+1 main-chain blocks
    intervals: new Map(),     // hash -> {t, dt, h}: block intervals for the chart
    samples: [],              // {t, v}: actorchain_miner_hashes_total over time
    rates: [],                // {t, r}: hash rate points for the chart
    restarts: new Map(),      // actor name -> last restart count seen
    actorEls: new Map(),      // actor name -> its DOM parts (kept across rounds, so clicks land)
    down: false,              // the last round failed to reach the node
    downSince: 0,
    rounds: 0
  };

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); }); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function short(hex, n) { return typeof hex === 'string' ? hex.slice(0, n || 12) : '—'; }
  function showError(id, err) {
    var e = $(id);
    if (err) { e.textContent = String(err.message || err); e.hidden = false; } else { e.textContent = ''; e.hidden = true; }
  }
  function fmtRate(r) {
    if (!isFinite(r)) { return '—'; }
    var units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s'], i = 0;
    while (r >= 1000 && i < units.length - 1) { r /= 1000; i++; }
    return (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)) + ' ' + units[i];
  }
  function fmtSecs(ms) { return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s'; }

  // request fetches path from this node with a timeout; statuses lists the answers that carry a
  // body to use (GET /v1/health answers 503 with its body when unhealthy).
  function request(path, opts, statuses) {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, TIMEOUT_MS);
    opts = opts || {};
    opts.signal = ctl.signal;
    opts.cache = 'no-store';
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (text) {
        var body = null;
        try { body = JSON.parse(text); } catch (e) { body = null; }
        if ((statuses || [200]).indexOf(r.status) < 0) {
          var err = new Error((opts.method || 'GET') + ' ' + path + ': ' + r.status + (body && body.error ? ' ' + body.error : ''));
          err.status = r.status; err.code = body && body.code;
          throw err;
        }
        return { status: r.status, body: body, text: text };
      });
    }, function (e) {
      throw new Error((opts.method || 'GET') + ' ' + path + ': ' + (e.name === 'AbortError' ? 'no answer within ' + TIMEOUT_MS / 1000 + ' s' : e.message));
    }).finally(function () { clearTimeout(timer); });
  }
  function getJSON(path, statuses) { return request(path, null, statuses).then(function (r) { return r.body; }); }

  // ---- chain: status, blocks, difficulty -------------------------------------------------

  // blockWork is the work of one block for the network hash-rate estimate: 2^256/(target+1) once
  // blocks carry a target (CONTRACT §10), else 2^bits.
  function blockWork(b) {
    if (typeof b.target === 'string' && /^[0-9a-f]{64}$/i.test(b.target) && typeof BigInt === 'function') {
      var t = BigInt('0x' + b.target);
      return Number((BigInt(1) << BigInt(256)) / (t + BigInt(1)));
    }
    return Math.pow(2, b.bits || 0);
  }

  // loadBlocks walks back from the tip by prev_hash, fetching only the blocks not cached (blocks
  // are immutable by hash, so a reorg simply walks another path).
  function loadBlocks(tipHash, height) {
    var out = [];
    // A page with none of the tip's neighbours cached (the first round, a long absence) fetches
    // the last blocks by height at once; the walk below then finds them cached, checks they link
    // up and fetches whatever a concurrent new block or reorg left out.
    var top = -1;
    st.blocks.forEach(function (b) { top = Math.max(top, b.height); });
    var first = !st.blocks.has(tipHash) && top < height - 5;
    var prefetch = Promise.resolve();
    if (first && typeof height === 'number') {
      var ps = [];
      for (var h = height; h >= 0 && h >= height - NBLOCKS; h--) {
        ps.push(getJSON('/v1/blocks/' + h).then(function (b) { if (b && b.hash) { st.blocks.set(b.hash, b); } }, function () {}));
      }
      prefetch = Promise.all(ps);
    }
    function step(hash) {
      if (!hash || out.length > NBLOCKS) { return Promise.resolve(out); }
      var cached = st.blocks.get(hash);
      var p = cached ? Promise.resolve(cached) : getJSON('/v1/blocks/' + hash);
      return p.then(function (b) {
        if (!b || b.hash !== hash) { throw new Error('GET /v1/blocks/' + short(hash) + ': unexpected answer'); }
        out.push(b);
        return b.height === 0 ? out : step(b.prev_hash);
      });
    }
    return prefetch.then(function () { return step(tipHash); }).then(function (list) {
      st.blocks = new Map(list.map(function (b) { return [b.hash, b]; }));
      return list;
    });
  }

  function renderBlocks(list) {
    var tbody = $('blocks-table').tBodies[0];
    var rows = [];
    for (var i = 0; i < Math.min(list.length, NBLOCKS); i++) {
      // The interval after genesis is not one (genesis has the chain's fixed genesis_time).
      var b = list[i], parent = list[i + 1] && list[i + 1].height > 0 ? list[i + 1] : null;
      var tr = el('tr', { 'data-height': String(b.height), 'data-hash': b.hash });
      tr.append(el('td', { class: 'mono' }, String(b.height)));
      var h = el('td', { class: 'mono', title: b.hash }, short(b.hash));
      tr.append(h);
      tr.append(el('td', { class: 'mono' }, String((b.txs || []).length)));
      tr.append(el('td', { class: 'mono', title: b.miner || '' }, short(b.miner, 8)));
      tr.append(el('td', { class: 'mono' }, parent ? fmtSecs(b.time - parent.time) : '—'));
      rows.push(tr);
      if (parent) { st.intervals.set(b.hash, { t: b.time, dt: b.time - parent.time, h: b.height }); }
    }
    tbody.replaceChildren.apply(tbody, rows);
    // Forget intervals of blocks that left the main chain (a reorg) and those older than the chart.
    if (list.length) {
      var newest = list[0].time, lowest = list[list.length - 1].height, onChain = new Set(list.map(function (b) { return b.hash; }));
      st.intervals.forEach(function (v, k) {
        if (v.t < newest - HISTORY_MS || (v.h >= lowest && !onChain.has(k))) { st.intervals.delete(k); }
      });
    }
    // The network's hash rate, estimated from the work and time span of these blocks.
    // Genesis is left out: its time is the chain's genesis_time, not when it was mined.
    var net = NaN, mined = list.filter(function (b) { return b.height > 0; });
    if (mined.length > 2) {
      var work = 0;
      for (var j = 0; j < mined.length - 1; j++) { work += blockWork(mined[j]); }
      var span = (mined[0].time - mined[mined.length - 1].time) / 1000;
      if (span > 0) { net = work / span; }
    }
    return net;
  }

  function renderStatus(s, tip) {
    $('node-id').textContent = short(s.node_id, 8) + ' · ' + s.chain_id;
    $('node-id').title = s.node_id;
    $('height').textContent = String(s.height);
    $('tip').textContent = s.tip_hash;
    $('peer-count').textContent = String(s.peers);
    $('mempool').textContent = String(s.mempool);
    $('mining').textContent = (s.mining ? 'mining' : 'not mining') + ' · ' + (s.syncing ? 'syncing' : 'in sync') +
      (typeof s.sync_target_height === 'number' && s.syncing ? ' to ' + s.sync_target_height : '');
    $('version').textContent = 'Node version ' + s.version + '.';
    // difficulty: GET /v1/status has "difficulty" (a float) and "target" since CONTRACT §10 (1 on a
    // fixed-difficulty chain); a node from before shows the tip's pow bits instead.
    if (typeof s.difficulty === 'number') {
      $('difficulty').textContent = s.difficulty.toPrecision(4);
      // bits: pow bits on a fixed-difficulty chain (at most 256), a compact target (hex) on an
      // adjusting one.
      var bits = !tip ? '' : tip.bits <= 256 ? 'pow bits ' + tip.bits + ' · ' : 'bits ' + ('0000000' + tip.bits.toString(16)).slice(-8) + ' · ';
      $('difficulty-note').textContent = bits + (s.target ? 'target ' + short(s.target, 16) + '…' : '');
    } else {
      $('difficulty').textContent = tip ? tip.bits + ' bits' : '—';
      $('difficulty-note').textContent = 'fixed difficulty (pow bits of the tip)';
    }
    var h = $('health');
    if (typeof s.healthy === 'boolean') {
      h.textContent = s.healthy ? 'healthy' : 'unhealthy';
      h.className = 'value ' + (s.healthy ? 'ok' : 'bad');
    }
  }

  // ---- hash rate from /metrics -------------------------------------------------------------

  function metricValue(text, name) {
    var lines = text.split('\n');
    for (var i = 0; i < lines.length; i++) {
      var l = lines[i];
      if (l.lastIndexOf(name + ' ', 0) === 0 || l.lastIndexOf(name + '{', 0) === 0) {
        var v = parseFloat(l.slice(l.lastIndexOf(' ') + 1));
        if (isFinite(v)) { return v; }
      }
    }
    return NaN;
  }

  function addHashSample(v, now) {
    if (!isFinite(v)) { return NaN; }
    var last = st.samples[st.samples.length - 1];
    if (last && v < last.v) { st.samples = []; st.rates = []; } // the counter restarted: the node did
    st.samples.push({ t: now, v: v });
    while (st.samples.length > 2 && st.samples[0].t < now - RATE_WINDOW_MS) { st.samples.shift(); }
    var first = st.samples[0];
    if (st.samples.length < 2 || now <= first.t) { return NaN; }
    var r = (v - first.v) / ((now - first.t) / 1000);
    st.rates.push({ t: now, r: r });
    while (st.rates.length && st.rates[0].t < now - HISTORY_MS) { st.rates.shift(); }
    return r;
  }

  // ---- charts (inline SVG) ----------------------------------------------------------------

  var SVGNS = 'http://www.w3.org/2000/svg';
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function renderCharts() {
    var W = 300, H = 80;
    // Block intervals: one bar per block, placed by its time over the last HISTORY_MS.
    var iv = Array.from(st.intervals.values()).sort(function (a, b) { return a.t - b.t; });
    var svg = $('chart-interval');
    var parts = [svgEl('line', { class: 'axis', x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5 })];
    if (iv.length) {
      // The time axis spans what there is, up to HISTORY_MS, so a fresh page is not one thin line.
      var tmax = iv[iv.length - 1].t, tmin = Math.max(iv[0].t, tmax - HISTORY_MS), span = Math.max(tmax - tmin, 1);
      var vmax = Math.max.apply(null, iv.map(function (p) { return p.dt; })) || 1;
      var bw = Math.max(1, Math.min(6, W / Math.max(iv.length, 1) - 0.5));
      iv.forEach(function (p) {
        var x = (p.t - tmin) / span * (W - bw), h = Math.max(1, p.dt / vmax * (H - 4));
        parts.push(svgEl('rect', { class: 'bar', x: x.toFixed(1), y: (H - h).toFixed(1), width: bw.toFixed(1), height: h.toFixed(1) }));
      });
      $('interval-max').textContent = '(max ' + fmtSecs(vmax) + ', ' + iv.length + ' blocks)';
    } else {
      $('interval-max').textContent = '';
    }
    svg.replaceChildren.apply(svg, parts);
    // Hash rate of this node's miners: a line over the last HISTORY_MS.
    var hr = st.rates, svg2 = $('chart-hashrate');
    var parts2 = [svgEl('line', { class: 'axis', x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5 })];
    if (hr.length) {
      var t1 = hr[hr.length - 1].t, t0 = hr[0].t, tspan = Math.max(t1 - t0, 1);
      var rmax = Math.max.apply(null, hr.map(function (p) { return p.r; })) || 1;
      var pts = hr.map(function (p) {
        return ((p.t - t0) / tspan * W).toFixed(1) + ',' + (H - 2 - p.r / rmax * (H - 6)).toFixed(1);
      });
      if (pts.length === 1) { pts.push((W).toFixed(1) + ',' + pts[0].split(',')[1]); }
      parts2.push(svgEl('polyline', { class: 'line', points: pts.join(' ') }));
      $('hashrate-max').textContent = '(max ' + fmtRate(rmax) + ')';
    }
    svg2.replaceChildren.apply(svg2, parts2);
  }

  // ---- health, peers ----------------------------------------------------------------------

  function renderHealth(hb) {
    var tbody = $('health-table').tBodies[0];
    var rows = (hb.components || []).map(function (c) {
      var tr = el('tr', { 'data-component': c.name });
      tr.append(el('td', { class: 'mono' }, c.name));
      tr.append(el('td', { class: c.healthy ? 'ok' : 'bad' }, c.healthy ? 'yes' : 'no'));
      tr.append(el('td', { class: 'mono' }, String(c.restarts_recent)));
      tr.append(el('td', { class: 'err' }, c.error || ''));
      return tr;
    });
    tbody.replaceChildren.apply(tbody, rows);
    var h = $('health');
    h.textContent = hb.healthy ? 'healthy' : 'unhealthy';
    h.className = 'value ' + (hb.healthy ? 'ok' : 'bad');
  }

  function renderPeers(p) {
    var tbody = $('peers-table').tBodies[0];
    var rows = (p.connected || []).map(function (c) {
      var tr = el('tr', { 'data-peer': c.id });
      tr.append(el('td', { class: 'mono', title: c.id }, short(c.id, 8)));
      tr.append(el('td', {}, c.direction));
      tr.append(el('td', { class: 'mono' }, String(c.height)));
      tr.append(el('td', { class: 'mono' }, c.addr));
      return tr;
    });
    if (!rows.length) { rows.push(el('tr', {}, '')); rows[0].append(el('td', { colspan: '4', class: 'dim' }, 'no connected peers')); }
    tbody.replaceChildren.apply(tbody, rows);
  }

  // ---- the supervision tree ---------------------------------------------------------------

  function act(name, action, button) {
    button.disabled = true;
    request('/v1/debug/actors/' + encodeURIComponent(name) + '/' + action, { method: 'POST' }, [202]).then(function () {
      $('action-result').textContent = action + ' ' + name + ': accepted';
    }, function (e) {
      $('action-result').textContent = e.message;
      if (e.status === 404 && e.code === 'not_found') { st.faultInjection = false; } // the hooks are off now
    }).finally(function () { button.disabled = false; });
  }

  function actorParts(name) {
    var a = st.actorEls.get(name);
    if (a) { return a; }
    var li = el('li', { class: 'actor', 'data-actor': name });
    var row = el('div', { class: 'row' });
    var nameEl = el('span', { class: 'name' }, name);
    var stateEl = el('span', { class: 'state' });
    var restartsEl = el('span', { class: 'restarts' });
    var buttons = el('span', { class: 'buttons' });
    var ul = el('ul');
    row.append(nameEl, stateEl, restartsEl, buttons);
    li.append(row, ul);
    row.addEventListener('animationend', function () { row.classList.remove('flash'); });
    a = { li: li, row: row, stateEl: stateEl, restartsEl: restartsEl, buttons: buttons, ul: ul, flashes: 0, hasButtons: false };
    st.actorEls.set(name, a);
    return a;
  }

  function setButtons(a, name, on) {
    if (on === a.hasButtons) { return; }
    a.hasButtons = on;
    if (!on) { a.buttons.replaceChildren(); return; }
    ['crash', 'kill'].forEach(function (action) {
      var b = el('button', { type: 'button', class: action, 'data-action': action, title: action + ' ' + name + ' (POST /v1/debug/actors/…/' + action + ')' }, action);
      b.addEventListener('click', function () { act(name, action, b); });
      a.buttons.append(b);
    });
  }

  function flash(a) {
    a.flashes++;
    a.li.setAttribute('data-flashes', String(a.flashes));
    a.row.classList.remove('flash');
    void a.row.offsetWidth; // restart the animation
    a.row.classList.add('flash');
  }

  // place puts node n (and its subtree) at position i of container, reusing its elements.
  function place(n, container, i, seen) {
    seen.add(n.name);
    var a = actorParts(n.name);
    a.stateEl.textContent = n.state;
    a.stateEl.className = 'state ' + n.state;
    a.restartsEl.textContent = n.restarts + (n.restarts === 1 ? ' restart' : ' restarts');
    a.li.setAttribute('data-state', n.state);
    a.li.setAttribute('data-restarts', String(n.restarts));
    var prev = st.restarts.get(n.name);
    if (prev !== undefined && n.restarts > prev) { flash(a); }
    st.restarts.set(n.name, n.restarts);
    setButtons(a, n.name, st.faultInjection && n.name !== 'node');
    if (container.children[i] !== a.li) { container.insertBefore(a.li, container.children[i] || null); }
    var kids = n.children || [];
    kids.forEach(function (c, j) { place(c, a.ul, j, seen); });
    while (a.ul.children.length > kids.length) { a.ul.removeChild(a.ul.lastChild); }
  }

  function renderTree(root) {
    var seen = new Set();
    var tree = $('tree');
    place(root, tree, 0, seen);
    while (tree.children.length > 1) { tree.removeChild(tree.lastChild); }
    st.actorEls.forEach(function (a, name) {
      if (!seen.has(name)) { a.li.remove(); st.actorEls.delete(name); st.restarts.delete(name); }
    });
    tree.setAttribute('data-stale', 'false');
    $('fault-note').textContent = st.faultInjection
      ? 'debug.fault_injection is on: crash makes an actor panic in its handler, kill stops it abruptly.'
      : 'Crash and kill buttons appear when the node runs with debug.fault_injection: true.';
  }

  // ---- the round --------------------------------------------------------------------------

  function setConn(up, text) {
    var c = $('conn');
    c.setAttribute('data-state', up ? 'up' : 'down');
    c.textContent = text;
    $('main').classList.toggle('stale', !up);
    if (!up) { $('tree').setAttribute('data-stale', 'true'); }
  }

  // refreshFlag reads the fault-injection flag from a fresh copy of this page: a node restarted
  // under the page may have another configuration.
  function refreshFlag() {
    return request('/', null, [200]).then(function (r) {
      var m = new DOMParser().parseFromString(r.text, 'text/html').querySelector('meta[name="actorchain-fault-injection"]');
      if (m) { st.faultInjection = m.content === 'true'; }
    }, function () { /* the next round tries again through the status */ });
  }

  function round() {
    var now = Date.now();
    return getJSON('/v1/status').then(function (s) {
      var wasDown = st.down;
      st.down = false;
      if (st.genesis !== null && s.genesis_hash !== st.genesis) { // another chain behind this address
        st.blocks = new Map(); st.intervals = new Map(); st.samples = []; st.rates = []; st.restarts = new Map();
      }
      st.genesis = s.genesis_hash;
      var flag = wasDown ? refreshFlag() : Promise.resolve();
      var parts = [
        loadBlocks(s.tip_hash, s.height).then(function (list) { showError('blocks-error'); return list; },
          function (e) { showError('blocks-error', e); return null; }),
        getJSON('/v1/health', [200, 503]).then(function (hb) { showError('health-error'); renderHealth(hb); },
          function (e) { showError('health-error', e); }),
        getJSON('/v1/peers').then(function (p) { showError('peers-error'); renderPeers(p); },
          function (e) { showError('peers-error', e); }),
        request('/metrics', null, [200]).then(function (r) { return metricValue(r.text, 'actorchain_miner_hashes_total'); },
          function () { return NaN; }),
        flag.then(function () { return getJSON('/v1/actors'); }).then(function (t) { showError('tree-error'); renderTree(t); },
          function (e) { showError('tree-error', e); $('tree').setAttribute('data-stale', 'true'); })
      ];
      return Promise.all(parts).then(function (res) {
        var list = res[0], tip = list && list.length ? list[0] : null;
        renderStatus(s, tip && tip.hash === s.tip_hash ? tip : null);
        var net = list ? renderBlocks(list) : NaN;
        var local = addHashSample(res[3], now);
        $('hashrate').textContent = fmtRate(local);
        $('hashrate-note').textContent = "this node's miners" + (isFinite(net) ? ' · network ≈ ' + fmtRate(net) : '');
        renderCharts();
        st.rounds++;
        document.body.setAttribute('data-rounds', String(st.rounds));
        setConn(true, 'live · ' + new Date().toLocaleTimeString());
        $('updated').textContent = 'Last update ' + new Date().toLocaleTimeString() + '.';
      });
    }, function (e) {
      if (!st.down) { st.down = true; st.downSince = now; }
      setConn(false, 'no answer from the node since ' + new Date(st.downSince).toLocaleTimeString() + ' (' + e.message + '); retrying every ' + POLL_MS / 1000 + ' s');
    });
  }

  $('refresh').textContent = String(POLL_MS / 1000);

  function loop() {
    round().catch(function (e) { setConn(false, 'dashboard error: ' + e.message); })
      .finally(function () { setTimeout(loop, POLL_MS); });
  }
  loop();
})();
