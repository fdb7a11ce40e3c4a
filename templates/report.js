(function () {
  "use strict";
  var bar = document.getElementById("filters");
  if (!bar) { return; }
  var search = document.getElementById("q");
  var count = document.getElementById("shown");
  var items = Array.prototype.map.call(document.querySelectorAll(".f"), function (el) {
    return {
      el: el,
      s: (el.getAttribute("data-s") || "").split(" "),
      l: el.getAttribute("data-l"),
      v: el.getAttribute("data-v"),
      lv: el.getAttribute("data-lv"),
      cis: (el.getAttribute("data-cis") || "").split(" "),
      text: null
    };
  });
  var groups = Array.prototype.slice.call(document.querySelectorAll(".fgroup"));
  var isCis = /^[0-9]+(\.[0-9]+)*$/;

  function value(id) { return document.getElementById(id).value; }

  function cisMatch(ids, q) {
    for (var i = 0; i < ids.length; i++) {
      if (ids[i] === q || ids[i].indexOf(q + ".") === 0) { return true; }
    }
    return false;
  }

  function apply() {
    var started = performance.now();
    var statuses = {};
    Array.prototype.forEach.call(bar.querySelectorAll("input[name=status]"), function (box) {
      statuses[box.value] = box.checked;
    });
    var layer = value("f-layer"), severity = value("f-severity"), level = value("f-level");
    var q = search.value.trim().toLowerCase(), cis = isCis.test(q), shown = 0;
    for (var i = 0; i < items.length; i++) {
      var it = items[i], ok = false;
      for (var j = 0; j < it.s.length; j++) { if (statuses[it.s[j]]) { ok = true; break; } }
      if (ok && layer && it.l !== layer) { ok = false; }
      if (ok && severity && it.v !== severity) { ok = false; }
      if (ok && level && it.lv !== level) { ok = false; }
      if (ok && q) {
        if (cis) { ok = cisMatch(it.cis, q); } else {
          if (it.text === null) { it.text = it.el.textContent.toLowerCase(); }
          ok = it.text.indexOf(q) !== -1;
        }
      }
      if (it.el.hidden === ok) { it.el.hidden = !ok; }
      if (ok) { shown++; }
    }
    groups.forEach(function (group) {
      var empty = group.querySelector(".empty");
      if (empty) { empty.hidden = group.querySelector(".f:not([hidden])") !== null; }
    });
    count.textContent = shown + " of " + items.length + " shown";
    window.dockbenchFilterMs = performance.now() - started;
  }

  function openAll(open) {
    items.forEach(function (it) { if (!it.el.hidden) { it.el.open = open; } });
  }

  bar.addEventListener("change", apply);
  search.addEventListener("input", apply);
  document.getElementById("expand").addEventListener("click", function () { openAll(true); });
  document.getElementById("collapse").addEventListener("click", function () { openAll(false); });
  document.getElementById("reset").addEventListener("click", function () {
    Array.prototype.forEach.call(bar.querySelectorAll("input[name=status]"), function (box) { box.checked = true; });
    Array.prototype.forEach.call(bar.querySelectorAll("select"), function (sel) { sel.value = ""; });
    search.value = "";
    apply();
  });

  // Printing gives the whole audit document: every finding, every details section open.
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = Array.prototype.filter.call(document.querySelectorAll("details"), function (d) { return !d.open; });
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
    closed = [];
  });

  // Following a link to a finding or a host opens it and makes sure the filters do not hide it.
  function reveal() {
    var target = location.hash.length > 1 ? document.getElementById(location.hash.slice(1)) : null;
    if (target && target.classList.contains("f")) {
      if (target.hidden) { document.getElementById("reset").click(); }
      target.open = true;
      target.scrollIntoView();
    }
  }
  window.addEventListener("hashchange", reveal);

  bar.hidden = false;
  apply();
  reveal();
})();
