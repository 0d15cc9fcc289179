// grantmirror report: sortable and filterable tables, a filter per view, and
// sections opened for links and for printing. No network, no libraries.
(function () {
  "use strict";

  function cellText(row, i) {
    var c = row.cells[i];
    return c ? c.textContent.trim() : "";
  }

  function makeSortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, i) {
      th.tabIndex = 0;
      th.title = "Sort by " + th.textContent;
      function sort() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellText(a, i), y = cellText(b, i);
          var nx = Number(x), ny = Number(y);
          var r = (x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return asc ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
    });
  }

  function makeFilterable(table) {
    var body = table.tBodies[0];
    if (!body || body.rows.length < 10) { return; }
    var input = document.createElement("input");
    input.type = "search";
    input.className = "table-filter";
    input.placeholder = "Filter these " + body.rows.length + " rows";
    input.setAttribute("aria-label", "Filter table rows");
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(body.rows, function (r) {
        r.classList.toggle("hidden", q !== "" && r.textContent.toLowerCase().indexOf(q) < 0);
      });
    });
    var wrap = table.parentNode;
    wrap.parentNode.insertBefore(input, wrap);
  }

  function setupView(view) {
    var input = view.querySelector("input.view-filter");
    var items = view.querySelectorAll("details.item");
    var count = view.querySelector(".filter-count");
    var index = view.querySelector("details.index table.data");
    if (input) {
      input.addEventListener("input", function () {
        var q = input.value.trim().toLowerCase();
        var shown = 0, last = null;
        Array.prototype.forEach.call(items, function (d) {
          var hit = q === "" || d.textContent.toLowerCase().indexOf(q) >= 0;
          d.classList.toggle("hidden", !hit);
          if (hit) { shown++; last = d; }
        });
        if (index) {
          Array.prototype.forEach.call(index.tBodies[0].rows, function (r) {
            r.classList.toggle("hidden", q !== "" && r.textContent.toLowerCase().indexOf(q) < 0);
          });
        }
        if (count) { count.textContent = q === "" ? "" : shown + " of " + items.length + " shown"; }
        if (shown === 1 && last) { last.open = true; }
      });
    }
    var expand = view.querySelector("button.expand");
    var collapse = view.querySelector("button.collapse");
    function setAll(open) {
      Array.prototype.forEach.call(items, function (d) {
        if (!d.classList.contains("hidden")) { d.open = open; }
      });
    }
    if (expand) { expand.addEventListener("click", function () { setAll(true); }); }
    if (collapse) { collapse.addEventListener("click", function () { setAll(false); }); }
  }

  // Opening the section a link points to: a closed <details> hides its target.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) { return; }
    var el = document.getElementById(id);
    if (!el) { return; }
    for (var p = el; p; p = p.parentElement) {
      if (p.tagName === "DETAILS") { p.open = true; }
    }
    el.scrollIntoView();
  }

  // Printing shows every section; the ones a reader had closed close again after.
  var closedForPrint = [];
  window.addEventListener("beforeprint", function () {
    closedForPrint = Array.prototype.filter.call(document.querySelectorAll("details"), function (d) { return !d.open; });
    closedForPrint.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closedForPrint.forEach(function (d) { d.open = false; });
    closedForPrint = [];
  });

  Array.prototype.forEach.call(document.querySelectorAll("table.data"), function (t) {
    makeSortable(t);
    makeFilterable(t);
  });
  Array.prototype.forEach.call(document.querySelectorAll("section.view"), setupView);
  window.addEventListener("hashchange", openTarget);
  openTarget();
  document.documentElement.setAttribute("data-ready", "true");
}());
