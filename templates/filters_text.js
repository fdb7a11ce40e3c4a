  function describe(f) {
    var parts = [], statuses = Object.keys(f.statuses).filter(function (s) { return f.statuses[s]; });
    if (!f.all) { parts.push("status " + (statuses.join(", ") || "none")); }
    if (f.layer) { parts.push("layer " + f.layer); }
    if (f.severity) { parts.push("severity " + f.severity); }
    if (f.level) { parts.push("CIS level " + f.level); }
    if (f.waived) { parts.push(f.waived === "yes" ? "waived only" : "not waived"); }
    if (f.q) { parts.push("search \u201c" + f.q + "\u201d"); }
    return parts.join("; ");
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
