(function () {
  "use strict";
  // The summary page of a big sweep (render/fleet_pages.py). Its data is one JSON block:
  // checks[i] = [id, title, layer, severity, level, cis ids]; hosts[h] = [name, score, status
  // letters (one per check, by index: codes[k] is statuses[k], lower case when waived, "-" none),
  // link to the host's page], worst host first. Host data is only ever set as text.
  var D = JSON.parse(document.getElementById("fleet-index").textContent);
  var bar = document.getElementById("filters"), search = document.getElementById("q");
  var waived = document.getElementById("f-waived"), more = document.getElementById("more");
  var body = document.querySelector("#host-table tbody"), checks = D.checks, hosts = D.hosts, S = D.statuses;
  var isCis = /^[0-9]+(\.[0-9]+)*$/;
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var code = {};
  for (var k = 0; k < D.codes.length; k++) { code[D.codes[k]] = k; code[D.codes[k].toLowerCase()] = k; }
  // The letters once more as numbers, a row of checks.length per host: the status index, +8 when
  // waived, 255 where the host has no result (filtering 10,000 hosts reads 1.4 million of them).
  var NONE = 255, WAIVED = 8, grid = new Uint8Array(hosts.length * checks.length).fill(NONE);
  hosts.forEach(function (host, h) {
    for (var c = 0; c < host[2].length; c++) {
      var s = code[host[2][c]];
      if (s !== undefined) { grid[h * checks.length + c] = s + (host[2][c] === D.codes[s] ? 0 : WAIVED); }
    }
  });
  var checkIndex = {}, layerOf = checks.map(function (c) { return D.layers.indexOf(c[2]); });
  checks.forEach(function (c, i) { checkIndex[c[0]] = i; });
  var checkText = checks.map(function (c) { return (c[0] + " " + c[1]).toLowerCase(); });
  var names = hosts.map(function (h) { return h[0].toLowerCase(); });
  var items = Array.prototype.map.call(document.querySelectorAll("details.f[id^='c-']"), function (det) {
    return { el: det, check: checkIndex[det.id.slice(2)] };
  });
  var shown = [], listed = 0;

  {% include "filters_read.js" +%}

  // A host is kept when one of its results passes every filter (or a search matches its name).
  function apply() {
    var started = performance.now(), f = state(), hits = new Uint32Array(checks.length), found = 0, all = 0;
    var text = f.q && !f.cis;
    var checkOk = checks.map(function (c) {
      return (!f.layer || c[2] === f.layer) && (!f.severity || c[3] === f.severity) &&
        (!f.level || String(c[4] === null ? "none" : c[4]) === f.level) && (!f.q || !f.cis || cisMatch(c[5], f.q));
    });
    var checkHit = checks.map(function (_, i) { return !text || checkText[i].indexOf(f.q) !== -1; });
    // keep[value] for each grid value: its status is wanted and its waiver state too
    var keep = new Uint8Array(256), n = checks.length;
    S.forEach(function (s, i) {
      keep[i] = f.statuses[s] && f.waived !== "yes" ? 1 : 0;
      keep[i + WAIVED] = f.statuses[s] && f.waived !== "no" ? 1 : 0;
    });
    var ok = new Uint8Array(n), okNamed = new Uint8Array(n);
    for (var c = 0; c < n; c++) { okNamed[c] = checkOk[c] ? 1 : 0; ok[c] = checkOk[c] && checkHit[c] ? 1 : 0; }
    shown = [];
    for (var h = 0; h < hosts.length; h++) {
      var use = text && names[h].indexOf(f.q) !== -1 ? okNamed : ok, m = 0, base = h * n;
      for (c = 0; c < n; c++) {
        var v = grid[base + c];
        if (v === NONE) { continue; }
        all++;
        if (keep[v] && use[c]) { m++; hits[c]++; }
      }
      found += m;
      if (!f.active || m > 0) { shown.push(h); }
    }
    var kept = 0;
    items.forEach(function (it) {
      var ok = it.check !== undefined && hits[it.check] > 0;
      if (it.el.hidden === ok) { it.el.hidden = !ok; }
      if (ok) { kept++; }
    });
    document.querySelector(".fgroup .empty").hidden = kept > 0;
    body.replaceChildren();
    listed = 0;
    showMore();
    document.getElementById("no-host").hidden = shown.length > 0;
    document.getElementById("printed").textContent = f.active ? "Printed with filters: " + describe(f) + "." : "All hosts.";
    document.getElementById("shown").textContent = found + " of " + all + " findings on " + shown.length + " of " + hosts.length +
      " hosts; " + kept + " of " + items.length + " checks";
    window.dockbenchFilterMs = performance.now() - started;
  }

  {% include "filters_text.js" +%}

  // One host's row: its link, score, results by status, and the worst status of each layer
  // (F 3: three FAILs; the first three statuses are FAIL, ERROR, MANUAL; the cell's title has all counts).
  function row(h) {
    var host = hosts[h], counts = S.map(function () { return 0; });
    var layers = D.layers.map(function () { return S.map(function () { return 0; }); });
    for (var c = 0; c < checks.length; c++) {
      var v = grid[h * checks.length + c], s = v & (WAIVED - 1);
      if (v === NONE) { continue; }
      counts[s]++;
      if (layerOf[c] >= 0) { layers[layerOf[c]][s]++; }
    }
    var tr = el("tr"), name = el("td", "h"), link = el("a", null, host[0]);
    link.href = host[3];
    name.appendChild(link);
    tr.append(name, el("td", null, host[1] === null ? "n/a" : host[1].toFixed(1)));
    counts.forEach(function (n) { tr.appendChild(el("td", null, String(n))); });
    layers.forEach(function (byStatus, l) {
      var worst = byStatus.findIndex(function (n) { return n > 0; });
      if (worst < 0) { tr.appendChild(el("td", null, "\u2013")); return; }
      var st = S[worst], cell = el("td", "w " + st), a = el("a", null, worst < 3 ? D.codes[worst] + " " + byStatus[worst] : D.labels[st]);
      cell.title = D.layers[l] + ": " + byStatus.map(function (n, i) { return n + " " + D.labels[S[i]]; }).join(", ");
      a.href = host[3];
      cell.appendChild(a);
      tr.appendChild(cell);
    });
    return tr;
  }

  function showMore() {
    var frag = document.createDocumentFragment(), end = Math.min(shown.length, listed + D.rows);
    for (; listed < end; listed++) { frag.appendChild(row(shown[listed])); }
    body.appendChild(frag);
    more.hidden = listed >= shown.length;
    more.textContent = "show " + Math.min(D.rows, shown.length - listed) + " more hosts";
    document.getElementById("rows-shown").textContent = shown.length ? "hosts 1\u2013" + listed + " of " + shown.length + " shown" : "";
  }

  // An opened check lists the hosts it fails on, errs on or needs review on, linked to the finding.
  function renderCheck(det) {
    var ci = checkIndex[det.id.slice(2)], box = det.querySelector(".hl"), found = [];
    if (ci === undefined || !box) { return; }
    for (var h = 0; h < hosts.length; h++) {
      var v = grid[h * checks.length + ci], s = v & (WAIVED - 1);
      if (v !== NONE && S[s] !== "PASS" && S[s] !== "NOT_APPLICABLE") { found.push([s, h]); }
    }
    found.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    if (!found.length) {
      box.replaceChildren(el("p", "none", "no host fails, errs or needs review on this check"));
      return;
    }
    var table = el("table", "ev"), head = el("tr");
    head.append(el("th", null, "host"), el("th", null, "status"));
    table.appendChild(head);
    found.forEach(function (e) {
      var tr = el("tr"), cell = el("td"), badge = el("td"), link = el("a", null, hosts[e[1]][0]);
      link.href = hosts[e[1]][3] + "#findings-" + checks[ci][0];
      cell.appendChild(link);
      badge.appendChild(el("span", "b " + S[e[0]], D.labels[S[e[0]]]));
      tr.append(cell, badge);
      table.appendChild(tr);
    });
    box.replaceChildren(table);
  }

  items.forEach(function (it) {
    it.el.addEventListener("toggle", function () { if (it.el.open) { renderCheck(it.el); } });
  });
  bar.addEventListener("change", apply);
  search.addEventListener("input", apply);
  more.addEventListener("click", showMore);
  document.getElementById("expand").addEventListener("click", function () {
    items.forEach(function (it) { if (!it.el.hidden) { it.el.open = true; } });
  });
  document.getElementById("collapse").addEventListener("click", function () {
    items.forEach(function (it) { it.el.open = false; });
  });
  document.getElementById("reset").addEventListener("click", function () {
    each(bar.querySelectorAll("input[name=status]"), function (box) { box.checked = true; });
    each(bar.querySelectorAll("select"), function (sel) { sel.value = ""; });
    search.value = "";
    apply();
  });

  bar.hidden = false;
  apply();
})();
