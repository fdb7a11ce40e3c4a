  function cisMatch(ids, q) {
    for (var i = 0; i < ids.length; i++) {
      if (ids[i] === q || ids[i].indexOf(q + ".") === 0) { return true; }
    }
    return false;
  }

  function state() {
    var f = { statuses: {}, all: true };
    each(bar.querySelectorAll("input[name=status]"), function (box) {
      f.statuses[box.value] = box.checked;
      f.all = f.all && box.checked;
    });
    f.layer = document.getElementById("f-layer").value;
    f.severity = document.getElementById("f-severity").value;
    f.level = document.getElementById("f-level").value;
    f.waived = waived ? waived.value : "";  // "yes": waived results only, "no": the others
    f.q = search.value.trim().toLowerCase();
    f.cis = isCis.test(f.q);
    f.active = !f.all || !!(f.layer || f.severity || f.level || f.waived || f.q);
    return f;
  }
