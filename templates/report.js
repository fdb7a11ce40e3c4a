(function () {
  "use strict";
  var bar = document.getElementById("filters");
  if (!bar) { return; }
  var search = document.getElementById("q");
  var count = document.getElementById("shown");
  var printed = document.getElementById("printed");
  var waived = document.getElementById("f-waived");
  var isCis = /^[0-9]+(\.[0-9]+)*$/;
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  // Findings (and fleet checks) already in the page as markup.
  var items = Array.prototype.map.call(document.querySelectorAll(".f"), function (el) {
    return {
      el: el,
      s: (el.getAttribute("data-s") || "").split(" "),
      l: el.getAttribute("data-l"),
      v: el.getAttribute("data-v"),
      lv: el.getAttribute("data-lv"),
      cis: (el.getAttribute("data-cis") || "").split(" "),
      w: el.getAttribute("data-w"),
      text: null
    };
  });
  var groups = Array.prototype.slice.call(document.querySelectorAll(".fgroup"));
  var data = document.getElementById("fleet-data");
  var fleet = data ? Fleet(JSON.parse(data.textContent)) : null;
  if (fleet) {  // a fleet's checks are shown when some host's finding for them passes the filters
    items.forEach(function (it) { if (it.el.id.indexOf("c-") === 0) { it.check = fleet.checkIndex[it.el.id.slice(2)]; } });
  }

  {% include "filters_read.js" +%}

  function apply() {
    var started = performance.now(), f = state(), shown = 0, found = fleet ? fleet.apply(f) : null;
    for (var i = 0; i < items.length; i++) {
      var it = items[i], ok = false;
      if (found && it.check !== undefined) {
        ok = found.hits[it.check] > 0;
        if (it.el.hidden === ok) { it.el.hidden = !ok; }
        if (ok) { shown++; }
        continue;
      }
      for (var j = 0; j < it.s.length; j++) { if (f.statuses[it.s[j]]) { ok = true; break; } }
      if (ok && f.layer && it.l !== f.layer) { ok = false; }
      if (ok && f.severity && it.v !== f.severity) { ok = false; }
      if (ok && f.level && it.lv !== f.level) { ok = false; }
      if (ok && f.waived && (it.w === "1") !== (f.waived === "yes")) { ok = false; }
      if (ok && f.q) {
        if (f.cis) { ok = cisMatch(it.cis, f.q); } else {
          if (it.text === null) { it.text = it.el.textContent.toLowerCase(); }
          ok = it.text.indexOf(f.q) !== -1;
        }
      }
      if (it.el.hidden === ok) { it.el.hidden = !ok; }
      if (ok) { shown++; }
    }
    groups.forEach(function (group) {
      var empty = group.querySelector(".empty");
      if (empty) { empty.hidden = group.querySelector(".f:not([hidden])") !== null; }
    });
    printed.textContent = f.active ? "Printed with filters: " + describe(f) + "." : "All findings.";
    count.textContent = found ? found.text + "; " + shown + " of " + items.length + " checks" : shown + " of " + items.length + " shown";
    window.dockbenchFilterMs = performance.now() - started;
  }

  {% include "filters_text.js" +%}

  // A fleet's host findings live in a JSON block (see render._fleet_data) and become markup
  // only when a host or check is opened. Host data is only ever set as text (textContent).
  function Fleet(D) {
    var S = D.statuses, checks = D.checks, strings = D.strings, hosts = D.hosts;
    var sections = hosts.map(function (_, h) { return document.getElementById("h" + (h + 1)); });
    var notes = sections.map(function (sec) { return sec.querySelector(".hm"); });
    var checkText = checks.map(function (c) { return (c[0] + " " + c[1]).toLowerCase(); });
    var checkIndex = {};
    checks.forEach(function (c, i) { checkIndex[c[0]] = i; });
    var lower = null, byCheck = null, matches = hosts.map(function (rows) { return rows.map(function (_, i) { return i; }); });
    var rendered = hosts.map(function () { return false; });

    function finding(h, row) {
      var c = checks[row[0]], st = S[row[1]];
      var d = el("details", "x");
      d.id = "h" + (h + 1) + "-" + c[0];
      var s = el("summary"), id = el("span", "id", c[0]);
      id.appendChild(el("span", "t", c[1]));
      var msg = el("span", "msg", strings[row[2]]);
      if (row.length > 4) { msg.prepend(el("span", "wb", row[4] ? "waived" : "partly waived"), " "); }
      s.append(el("span", "b " + st, D.labels[st]), el("span", "sev " + c[3], c[3]), el("span", "lay", c[2]), id,
               el("span", "cis", c[5].join(" ")), msg);
      var body = el("div", "d"), ev = row[3];
      if (ev.length) {
        var table = el("table", "ev"), head = el("tr");
        head.append(el("th", null, "subject"), el("th", null, "observed"));
        table.appendChild(head);
        for (var k = 0; k < ev.length; k += 2) {
          var tr = el("tr");
          tr.append(el("td", "s", strings[ev[k]]), el("td", "o", strings[ev[k + 1]]));
          table.appendChild(tr);
        }
        body.appendChild(table);
      } else {
        body.appendChild(el("p", "none", "no evidence recorded"));
      }
      if (row.length > 4) { body.appendChild(el("p", "waiver", strings[row[5]])); }
      var p = el("p"), a = el("a", null, c[1] + ": why and how to fix");
      a.href = "#c-" + c[0];
      p.appendChild(a);
      body.appendChild(p);
      d.append(s, body);
      return d;
    }

    function renderHost(h, everything) {
      var rows = hosts[h], list = everything ? rows.map(function (_, i) { return i; }) : matches[h];
      var box = sections[h].querySelector(".hf"), frag = document.createDocumentFragment();
      frag.appendChild(el("div", "head")).append(el("span", null, "status"), el("span", null, "severity"), el("span", null, "layer"),
                                                 el("span", null, "check"), el("span", null, "CIS"), el("span", null, "finding"));
      list.forEach(function (i) { frag.appendChild(finding(h, rows[i])); });
      if (!list.length) { frag.appendChild(el("p", "none", "No finding of this host matches the filters.")); }
      box.replaceChildren(frag);
      rendered[h] = true;
    }

    function renderCheck(det) {
      var ci = checkIndex[det.id.slice(2)], box = det.querySelector(".hl");
      if (ci === undefined || !box) { return; }
      if (!byCheck) {
        byCheck = checks.map(function () { return []; });
        hosts.forEach(function (rows, h) { rows.forEach(function (row) { byCheck[row[0]].push([h, row]); }); });
      }
      var listed = byCheck[ci].filter(function (e) { return S[e[1][1]] !== "PASS" && S[e[1][1]] !== "NOT_APPLICABLE"; });
      listed.sort(function (a, b) { return a[1][1] - b[1][1] || a[0] - b[0]; });
      if (!listed.length) {
        box.replaceChildren(el("p", "none", "no host fails, errs or needs review on this check"));
        return;
      }
      var table = el("table", "ev"), head = el("tr");
      head.append(el("th", null, "host"), el("th", null, "status"), el("th", null, "finding"), el("th", null, "evidence"));
      table.appendChild(head);
      listed.forEach(function (e) {
        var h = e[0], row = e[1], st = S[row[1]], tr = el("tr"), link = el("a", null, D.names[h]), lines = [];
        link.href = "#h" + (h + 1) + "-" + checks[ci][0];
        for (var k = 0; k < row[3].length; k += 2) { lines.push(strings[row[3][k]] + ": " + strings[row[3][k + 1]]); }
        var cell = el("td"), badge = el("td");
        cell.appendChild(link);
        badge.appendChild(el("span", "b " + st, D.labels[st]));
        tr.append(cell, badge, el("td", null, strings[row[2]]), el("td", "o", lines.join("\n")));
        table.appendChild(tr);
      });
      box.replaceChildren(table);
    }

    function apply(f) {
      var strHit = null, checkHit = null, total = 0, all = 0, shownHosts = 0, hits = new Uint32Array(checks.length);
      if (f.q && !f.cis) {
        if (!lower) { lower = strings.map(function (s) { return s.toLowerCase(); }); }
        strHit = new Uint8Array(strings.length);
        for (var i = 0; i < lower.length; i++) { strHit[i] = lower[i].indexOf(f.q) !== -1 ? 1 : 0; }
        checkHit = checkText.map(function (t) { return t.indexOf(f.q) !== -1; });
      }
      var checkOk = checks.map(function (c) {
        return (!f.layer || c[2] === f.layer) && (!f.severity || c[3] === f.severity) &&
          (!f.level || String(c[4] === null ? "none" : c[4]) === f.level) && (!f.q || !f.cis || cisMatch(c[5], f.q));
      });
      for (var h = 0; h < hosts.length; h++) {
        var rows = hosts[h], m = [], named = strHit !== null && D.names[h].toLowerCase().indexOf(f.q) !== -1;
        for (var r = 0; r < rows.length; r++) {
          var row = rows[r];
          if (!f.statuses[S[row[1]]] || !checkOk[row[0]]) { continue; }
          if (f.waived && (row[4] === 1) !== (f.waived === "yes")) { continue; }
          if (strHit !== null && !named && !checkHit[row[0]] && !strHit[row[2]]) {
            var hit = false;
            for (var k = 0; k < row[3].length && !hit; k++) { hit = strHit[row[3][k]] === 1; }
            if (!hit) { continue; }
          }
          m.push(r);
          hits[row[0]]++;
        }
        matches[h] = m;
        total += m.length;
        all += rows.length;
        var hide = f.active && m.length === 0;
        if (sections[h].hidden !== hide) { sections[h].hidden = hide; }
        if (!hide) { shownHosts++; }
        notes[h].textContent = f.active ? m.length + " of " + rows.length + " findings match" : "";
        if (sections[h].open) { renderHost(h); } else { rendered[h] = false; }
      }
      return { hits: hits, text: total + " of " + all + " findings on " + shownHosts + " of " + hosts.length + " hosts" };
    }

    sections.forEach(function (sec, h) {
      sec.addEventListener("toggle", function () { if (sec.open && !rendered[h]) { renderHost(h); } });
    });
    each(document.querySelectorAll("details.f[id^='c-']"), function (det) {
      det.addEventListener("toggle", function () { if (det.open) { renderCheck(det); } });
    });

    // "hN" or "hN-CHECK": open that host (clearing filters that hide the finding) and return the element.
    function reveal(id) {
      var m = /^h([0-9]+)(-.*)?$/.exec(id), h = m ? parseInt(m[1], 10) - 1 : -1;
      if (h < 0 || h >= hosts.length) { return null; }
      var wanted = m[2] ? checkIndex[m[2].slice(1)] : undefined;
      var filtered = sections[h].hidden || (wanted !== undefined && !matches[h].some(function (r) { return hosts[h][r][0] === wanted; }));
      if (filtered) { document.getElementById("reset").click(); }
      sections[h].open = true;
      if (!rendered[h]) { renderHost(h); }
      return document.getElementById(id);
    }

    // Printing shows what the filters keep (all of it unless filtered), every part expanded.
    function printAll() {
      sections.forEach(function (sec, h) {
        if (!sec.hidden) { sec.open = true; if (!rendered[h]) { renderHost(h); } }
      });
      each(document.querySelectorAll("details.f[id^='c-']:not([hidden])"), renderCheck);
    }

    return { apply: apply, reveal: reveal, printAll: printAll, checkIndex: checkIndex };
  }

  function openAll(open) {
    each(document.querySelectorAll(".f, .x"), function (d) { if (!d.hidden) { d.open = open; } });
  }

  bar.addEventListener("change", apply);
  search.addEventListener("input", apply);
  document.getElementById("expand").addEventListener("click", function () { openAll(true); });
  document.getElementById("collapse").addEventListener("click", function () { openAll(false); });
  document.getElementById("reset").addEventListener("click", function () {
    each(bar.querySelectorAll("input[name=status]"), function (box) { box.checked = true; });
    each(bar.querySelectorAll("select"), function (sel) { sel.value = ""; });
    search.value = "";
    apply();
  });

  // Printing gives an audit document: what the filters keep (everything by default), all expanded.
  var closed = new Set();
  window.addEventListener("beforeprint", function () {
    each(document.querySelectorAll("details"), function (d) { if (!d.open) { closed.add(d); } });
    if (fleet) { fleet.printAll(); }
    each(document.querySelectorAll("details:not([hidden])"), function (d) { if (!d.open) { closed.add(d); d.open = true; } });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
    closed.clear();
    if (fleet) { apply(); }
  });

  // Following a link to a finding or a host opens it and makes sure the filters do not hide it.
  function reveal() {
    var id;
    try { id = decodeURIComponent(location.hash.slice(1)); } catch (e) { return; }
    if (!id) { return; }
    var target = fleet && /^h[0-9]+/.test(id) ? fleet.reveal(id) : document.getElementById(id);
    if (!target) { return; }
    if (target.hidden) { document.getElementById("reset").click(); }
    if (target.tagName === "DETAILS") { target.open = true; }
    target.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);

  // A host page's findings sort by a column: click its header (again: the other way round).
  // Each finding carries its place in every order (data-by-KEY, see html_parts.sort_ranks); ties keep CIS order.
  var sortHead = document.querySelector(".head[data-sortable]");
  if (sortHead) {
    var sortList = sortHead.parentNode, sortEnd = sortList.querySelector(".empty");
    var rows = Array.prototype.slice.call(sortList.querySelectorAll(":scope > .f"));
    var sortedBy = "cis", ascending = true;
    var rank = function (row, key) { return Number(row.getAttribute("data-by-" + key)); };
    each(sortHead.querySelectorAll("button[data-sort]"), function (button) {
      button.addEventListener("click", function () {
        var key = button.getAttribute("data-sort");
        ascending = key === sortedBy ? !ascending : true;
        sortedBy = key;
        rows.sort(function (a, b) { return (rank(a, key) - rank(b, key)) * (ascending ? 1 : -1) || rank(a, "cis") - rank(b, "cis"); });
        var frag = document.createDocumentFragment();
        rows.forEach(function (row) { frag.appendChild(row); });
        sortList.insertBefore(frag, sortEnd);
        each(sortHead.querySelectorAll("[role=columnheader][aria-sort]"), function (cell) {
          cell.setAttribute("aria-sort", cell === button.parentNode ? (ascending ? "ascending" : "descending") : "none");
        });
      });
    });
  }

  bar.hidden = false;
  apply();
  reveal();
})();
