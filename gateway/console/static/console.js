// signpost console: live SMS preview of reply fields, self-refreshing lists, confirmations. No libraries.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');
  var previewUrl = document.querySelector('meta[name="preview-url"]');

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function shown(ch) {
    if (ch === "\u00a0") return "non-breaking space";
    if (/\s/.test(ch) || ch === "\u200b" || ch === "\ufeff") return "invisible character";
    return ch;
  }

  function render(box, area, data) {
    box.textContent = "";
    var summary = el("p", {"class": "pv-summary" + (data.encoding === "UCS-2" ? " ucs2" : "")});
    summary.appendChild(el("strong", {"data-pv": "chars"}, String(data.chars)));
    summary.appendChild(document.createTextNode(" characters · "));
    summary.appendChild(el("strong", {"data-pv": "encoding"}, data.encoding));
    summary.appendChild(document.createTextNode(" · "));
    summary.appendChild(el("strong", {"data-pv": "segments"}, String(data.segments)));
    summary.appendChild(document.createTextNode(" SMS part" + (data.segments === 1 ? "" : "s") +
      " (" + data.per_part + " characters per part)"));
    box.appendChild(summary);
    if (data.non_gsm.length) {
      var warn = el("div", {"class": "pv-warn"});
      warn.appendChild(el("p", {}, "These characters make it UCS-2: 67 characters per part instead of 153."));
      var list = el("ul", {"class": "pv-fixes"});
      data.non_gsm.forEach(function (c) {
        var item = el("li");
        item.appendChild(el("mark", {}, shown(c.char)));
        item.appendChild(document.createTextNode(" " + c.code + " " + c.name + " "));
        if (c.fix !== null) {
          var button = el("button", {"type": "button", "class": "small", "data-replace": c.char},
            "Replace with " + (c.fix === "" ? "nothing" : c.fix === " " ? "a space" : c.fix));
          button.addEventListener("click", function () {
            area.value = area.value.split(c.char).join(c.fix);
            area.dispatchEvent(new Event("input"));
            area.focus();
          });
          item.appendChild(button);
        }
        list.appendChild(item);
      });
      warn.appendChild(list);
      var marked = el("p", {"class": "pv-text", "aria-label": "Text with the UCS-2 characters highlighted"});
      var bad = {};
      data.non_gsm.forEach(function (c) { bad[c.char] = true; });
      Array.from(area.value).forEach(function (ch) {
        marked.appendChild(bad[ch] ? el("mark", {}, ch) : document.createTextNode(ch));
      });
      warn.appendChild(marked);
      box.appendChild(warn);
    }
    if (data.bad_numbers.length) {
      box.appendChild(el("p", {"class": "pv-error"}, "Not a valid UK phone number: " + data.bad_numbers.join(", ")));
    }
  }

  function watch(box) {
    var area = document.getElementById(box.getAttribute("data-preview-for"));
    if (!area || !previewUrl) return;
    var timer = null, seq = 0;
    function update() {
      var mine = ++seq;
      fetch(previewUrl.content, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.content : ""},
        body: JSON.stringify({text: area.value})
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (data && mine === seq) render(box, area, data);
      }).catch(function () {});
    }
    area.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 120); });
    update();
  }

  function refresh(node) {
    var every = parseInt(node.getAttribute("data-every") || "5", 10) * 1000;
    setInterval(function () {
      fetch(node.getAttribute("data-refresh"), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null && html !== node.innerHTML) node.innerHTML = html; })
        .catch(function () {});
    }, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-preview-for]").forEach(watch);
    document.querySelectorAll("[data-refresh]").forEach(refresh);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
      });
    });
    var latest = document.getElementById("latest");
    if (latest) latest.scrollIntoView({block: "nearest"});
  });
})();
