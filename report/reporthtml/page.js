// escrowtrace report: zoom, axis, hover and pin details, follow an escrow.
// Only textContent is ever set from data: the data comes from trace files.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var svg = document.getElementById("lanes");
  if (!svg) { window.reportReady = performance.now(); return; }
  var NS = "http://www.w3.org/2000/svg";
  var zoomed = document.getElementById("zoomed");
  var marks = document.getElementById("marks");
  var axis = document.getElementById("axis");
  var scroll = document.getElementById("scroll");
  var tip = document.getElementById("tip");
  var pin = document.getElementById("pin");
  var pinBody = document.getElementById("pin-body");
  var W = D.w, H = +svg.getAttribute("height"), z = 1;
  var markEls = marks.querySelectorAll(".pm");
  var labelEls = document.querySelectorAll("#blabels text");

  function secs(ms) { return "+" + (ms / 1000).toFixed(3) + "s"; }
  function dur(ms) { return ms >= 10000 ? (ms / 1000).toFixed(1) + " s" : ms + " ms"; }
  function esc(n) { var e = D.escrows[n - 1]; return e ? "#" + n + " " + e.id : "?"; }

  function drawAxis() {
    while (axis.firstChild) axis.removeChild(axis.firstChild);
    var px = W * z, span = D.span;
    var steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000];
    var step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) { if (steps[i] / span * px >= 80) { step = steps[i]; break; } }
    for (var t = 0; t <= span; t += step) {
      var x = t / span * px;
      var l = document.createElementNS(NS, "line");
      l.setAttribute("x1", x); l.setAttribute("x2", x); l.setAttribute("y1", 16); l.setAttribute("y2", H);
      axis.appendChild(l);
      var tx = document.createElementNS(NS, "text");
      tx.setAttribute("x", x + 3); tx.setAttribute("y", 12);
      tx.textContent = step >= 1000 ? "+" + (t / 1000) + "s" : "+" + t + "ms";
      axis.appendChild(tx);
    }
  }

  // Method names on bars wide enough for them (about 5 px a letter).
  function placeLabels() {
    for (var i = 0; i < labelEls.length; i++) {
      var el = labelEls[i], w = +el.getAttribute("data-w") * sx * z;
      var fits = w >= el.textContent.length * 4.6 + 6;
      el.style.display = fits ? "" : "none";
      if (fits) el.setAttribute("x", +el.getAttribute("data-x") * sx * z + 3);
    }
  }

  var sx = 1;
  function setZoom(nz, anchor) {
    nz = Math.max(1, Math.min(nz, 4096));
    var ax = anchor === undefined ? scroll.clientWidth / 2 : anchor;
    var t = (scroll.scrollLeft + ax) / (W * z);
    z = nz;
    svg.setAttribute("width", W * z);
    zoomed.setAttribute("transform", "scale(" + z + " 1)");
    for (var i = 0; i < markEls.length; i++) {
      markEls[i].setAttribute("transform", "translate(" + (+markEls[i].getAttribute("data-x") * z) + " 0)");
    }
    placeLabels();
    drawAxis();
    scroll.scrollLeft = t * W * z - ax;
    document.getElementById("zoom-level").textContent = (z < 10 ? z.toFixed(1).replace(/\.0$/, "") : Math.round(z)) + "×";
  }

  function callText(c) {
    var s = c.m + "  (" + c.r + ", escrow " + esc(c.e) + ")\n" +
      "port " + c.p + (c.rd ? " · round " + c.rd : "") + "\n" +
      "start " + secs(c.s) + " · " + (c.ok === 2 ? "no end recorded" : dur(c.d)) + "\n" +
      (c.ok === 1 ? "ok" : c.ok === 0 ? "FAILED" + (c.code !== undefined ? " " + c.code : "") + ": " + (c.err || "") : "");
    if (c.pl) s += "\n▼ met the wrong wallet (" + c.pl.length + " pollution event" + (c.pl.length > 1 ? "s" : "") + ")";
    return s;
  }
  function pollText(p) {
    return "▼ cache pollution: " + p.why + "\n" +
      "escrow " + esc(p.e) + " (" + p.r + ") on " + (p.ep || "?") + " at " + secs(p.t) + "\n" +
      "wanted " + (p.want || "?") + ", but " + (p.got || "?") + " was open\n" +
      "opened by " + (p.o ? "escrow " + esc(p.o) : p.oid ? "escrow " + p.oid + " (not in this report)" : "unknown") + (p.cause ? ", " + p.cause : "") +
      (p.hit ? "\nhit " + p.hit : "") +
      (p.by === "collector" ? "\nfound by the collector (no process saw it)" + (p.oinst ? ": opened in service instance " + p.oinst : "") : "");
  }
  function openText(o) {
    return "open wallet: " + (o.w || "?") + (o.r ? " (" + o.r + ")" : "") + "\n" +
      (o.e ? "escrow " + esc(o.e) : "no escrow in this report") + "\n" +
      secs(o.s) + " – " + secs(o.t) + " · known from " + o.src;
  }
  function describe(el) {
    var i;
    if ((i = el.getAttribute("data-i")) !== null) return { text: callText(D.calls[+i]), e: D.calls[+i].e };
    if ((i = el.getAttribute("data-p")) !== null) { var p = D.pollution[+i]; return { text: pollText(p), e: p.e, o: p.o }; }
    if ((i = el.getAttribute("data-o")) !== null && el.classList.contains("open")) return { text: openText(D.open[+i]), e: D.open[+i].e };
    return null;
  }
  function target(ev) {
    var el = ev.target;
    while (el && el !== svg) {
      if (el.hasAttribute && (el.hasAttribute("data-i") || el.hasAttribute("data-p") || (el.hasAttribute("data-o") && el.classList.contains("open")))) return el;
      el = el.parentNode;
    }
    return null;
  }
  svg.addEventListener("mousemove", function (ev) {
    var el = target(ev), d = el && describe(el);
    if (!d) { tip.hidden = true; return; }
    tip.textContent = d.text;
    tip.hidden = false;
    var x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    var y = ev.clientY + 16 + tip.offsetHeight > window.innerHeight ? ev.clientY - tip.offsetHeight - 10 : ev.clientY + 16;
    tip.style.left = x + "px"; tip.style.top = y + "px";
  });
  svg.addEventListener("mouseleave", function () { tip.hidden = true; });

  function link(n) {
    var a = document.createElement("a");
    a.href = "#escrow-" + n;
    a.textContent = "escrow " + esc(n);
    a.addEventListener("click", function () { var d = document.getElementById("escrow-" + n); if (d) d.open = true; });
    return a;
  }
  svg.addEventListener("click", function (ev) {
    var el = target(ev), d = el && describe(el);
    if (!d) return;
    pinBody.textContent = d.text + "\n";
    pinBody.appendChild(link(d.e));
    if (d.o) { pinBody.appendChild(document.createTextNode(" · caused by ")); pinBody.appendChild(link(d.o)); }
    pin.hidden = false;
    highlight(d.o ? [d.e, d.o] : [d.e]);
  });
  document.getElementById("pin-close").addEventListener("click", function () { pin.hidden = true; highlight([]); });

  // Follow escrows: everything else fades.
  var chips = document.querySelectorAll(".chip");
  var items = zoomed.querySelectorAll(".b,.open,.lk");
  function highlight(list) {
    var on = {};
    list.forEach(function (n) { on["e" + n] = true; });
    var any = list.length > 0;
    for (var i = 0; i < items.length; i++) {
      var cls = items[i].classList, keep = false;
      for (var k in on) if (cls.contains(k)) { keep = true; break; }
      cls.toggle("dim", any && !keep);
    }
    for (var j = 0; j < markEls.length; j++) {
      var m = markEls[j];
      markEls[j].classList.toggle("dim", any && !on["e" + m.getAttribute("data-e")] && !on["e" + m.getAttribute("data-o")]);
    }
    for (var c = 0; c < chips.length; c++) chips[c].classList.toggle("on", !!on["e" + chips[c].getAttribute("data-e")]);
  }
  var followed = [];
  for (var c = 0; c < chips.length; c++) {
    chips[c].addEventListener("click", function () {
      var n = +this.getAttribute("data-e"), i = followed.indexOf(n);
      if (i >= 0) followed.splice(i, 1); else followed.push(n);
      highlight(followed);
    });
  }

  document.getElementById("zoom-in").addEventListener("click", function () { setZoom(z * 2); });
  document.getElementById("zoom-out").addEventListener("click", function () { setZoom(z / 2); });
  document.getElementById("zoom-fit").addEventListener("click", function () { setZoom(1); });
  scroll.addEventListener("wheel", function (ev) {
    if (!ev.ctrlKey && !ev.metaKey) return;
    ev.preventDefault();
    var r = scroll.getBoundingClientRect();
    setZoom(z * (ev.deltaY < 0 ? 1.25 : 0.8), ev.clientX - r.left);
  }, { passive: false });

  // Fit the plot to the width there is.
  W = Math.max(scroll.clientWidth - 2, 400);
  sx = W / D.w;
  for (var i = 0; i < markEls.length; i++) markEls[i].setAttribute("data-x", +markEls[i].getAttribute("data-x") * sx);
  svg.setAttribute("viewBox", null);
  zoomed.setAttribute("data-sx", sx);
  var base = zoomed.getAttribute("transform");
  var setZoomRaw = setZoom;
  setZoom = function (nz, anchor) {
    setZoomRaw(nz, anchor);
    zoomed.setAttribute("transform", "scale(" + (z * sx) + " 1)");
  };
  setZoom(1);
  window.reportReady = performance.now();
})();
