// signpost console: live SMS preview of reply fields, self-refreshing lists, relay inbox alerts, confirmations.
// No libraries.
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
    if (data.case_id) {
      box.appendChild(el("p", {"class": "pv-offers"}, "Counted with {id} as a case id, as sent: " + data.case_id));
    }
    if (data.offers) {
      box.appendChild(el("p", {"class": "pv-offers"}, "Counted with the other languages sent under it: " +
        data.offers.split("\n").join(" / ")));
    }
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
    if ("open" in data) renderOpening(box, data);
  }

  // A closed reply at the moment picked on the form, with the hours typed there.
  function renderOpening(box, data) {
    if (data.hours_error) {
      box.appendChild(el("p", {"class": "pv-error"}, "Opening hours: " + data.hours_error));
      return;
    }
    var state = el("p", {"class": "pv-hours"});
    state.appendChild(document.createTextNode("At " + data.at + " the service is "));
    state.appendChild(el("strong", {"data-pv": "state"}, data.open ? "open" : "closed"));
    if (data.open) {
      state.appendChild(document.createTextNode(": texters get the reply, not this one."));
      box.appendChild(state);
      return;
    }
    state.appendChild(document.createTextNode(data.opens ? ", {opens} reads \u201c" + data.opens + "\u201d. Texters get:" :
      ", with no opening in the next three weeks. Texters get:"));
    box.appendChild(state);
    box.appendChild(el("p", {"class": "pv-text", "data-pv": "filled"}, data.filled));
  }

  function watch(box) {
    var area = document.getElementById(box.getAttribute("data-preview-for"));
    if (!area || !previewUrl) return;
    var timer = null, seq = 0;
    // A closed reply is previewed with the form's opening hours, at the moment picked there.
    var closedIn = area.getAttribute("data-closed-in"), form = area.form;
    var hourInputs = closedIn !== null && form ? form.querySelectorAll("[data-hours-day], [data-hours-at]") : [];
    function body() {
      var data = {text: area.value};
      if (closedIn === null || !form) {
        if (area.dataset.previewSet) {
          data.set = area.dataset.previewSet;
          data.language = area.dataset.previewLanguage;
        }
        if (area.hasAttribute("data-preview-case-id")) data.case_id = true;
        return JSON.stringify(data);
      }
      data.hours = {};
      form.querySelectorAll("[data-hours-day]").forEach(function (input) {
        data.hours[input.getAttribute("data-hours-day")] = input.value;
      });
      var at = form.querySelector("[data-hours-at]");
      data.at = at ? at.value : "";
      data.language = closedIn;
      return JSON.stringify(data);
    }
    function update() {
      var mine = ++seq;
      fetch(previewUrl.content, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.content : ""},
        body: body()
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (data && mine === seq) render(box, area, data);
      }).catch(function () {});
    }
    function later() { clearTimeout(timer); timer = setTimeout(update, 120); }
    area.addEventListener("input", later);
    Array.prototype.forEach.call(hourInputs, function (input) {
      input.addEventListener("input", later);
      input.addEventListener("change", later);
    });
    update();
  }

  var timers = [], signedOut = false;

  function meta(name) {
    var node = document.querySelector('meta[name="' + name + '"]');
    return node ? node.content : "";
  }

  // The session has ended: stop refreshing (the server would only answer 401 now) and say so at the top.
  function showSignedOut(loginUrl) {
    if (signedOut) return;
    signedOut = true;
    timers.forEach(clearInterval);
    document.querySelectorAll("[data-refresh]").forEach(function (node) { node.classList.add("stale"); });
    var login = /^\/(?![\/\\])/.test(loginUrl || "") ? loginUrl :
      meta("login-url") + "?next=" + encodeURIComponent(location.pathname + location.search);
    var notice = el("p", {"class": "flash error signed-out"});
    notice.appendChild(el("strong", {}, "You have been signed out."));
    notice.appendChild(document.createTextNode(" This page has stopped updating. "));
    notice.appendChild(el("a", {"href": login}, "Sign in again"));
    var box = document.getElementById("notices");
    if (box) box.appendChild(notice);
    document.title = "Signed out - " + document.title.replace(/^\(\d+\)\s*/, "");
    document.dispatchEvent(new CustomEvent("signpost:signed-out"));
  }

  // Swap in a fresh fragment, keeping keyboard focus on the same link if it is still there.
  function replace(node, html) {
    var active = document.activeElement;
    var href = active && node.contains(active) ? active.getAttribute("href") : null;
    node.innerHTML = html;
    if (href) {
      var again = Array.prototype.filter.call(node.querySelectorAll("a[href]"), function (a) {
        return a.getAttribute("href") === href;
      })[0];
      if (again) again.focus();
    }
  }

  // A list that silently stops updating looks like a quiet night: after two failed refreshes in a row say so,
  // with the time of the last good one, until a refresh works again.
  var lastGood = new Date(), failures = 0, offline = null;

  function clock(d) { return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2) + ":" +
    ("0" + d.getSeconds()).slice(-2); }

  function refreshed(ok) {
    if (ok) {
      failures = 0;
      lastGood = new Date();
      if (offline) { offline.parentNode.removeChild(offline); offline = null; }
      document.querySelectorAll("[data-refresh]").forEach(function (node) { node.classList.remove("stale"); });
      return;
    }
    failures += 1;
    if (failures < 2 || signedOut) return;
    document.querySelectorAll("[data-refresh]").forEach(function (node) { node.classList.add("stale"); });
    var text = "Not updating: the console cannot reach the server (last update " + clock(lastGood) +
      "). New emergency texts may not show here; keep trying, or check the control-room phones.";
    if (!offline) {
      offline = el("p", {"class": "flash error offline", "role": "alert"});
      var box = document.getElementById("notices");
      if (box) box.appendChild(offline);
    }
    if (offline.textContent !== text) offline.textContent = text;
  }

  function refresh(node) {
    var every = parseInt(node.getAttribute("data-every") || "5", 10) * 1000;
    timers.push(setInterval(function () {
      if (signedOut) return;
      fetch(node.getAttribute("data-refresh"), {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
        .then(function (r) {
          if (r.status === 401) {
            return r.json().catch(function () { return {}; }).then(function (data) {
              showSignedOut(data.login);
              return null;
            });
          }
          // A redirect lands on some other page (the sign-in form, say): never put that in the fragment's place.
          if (!r.ok || r.redirected) {
            refreshed(false);
            return null;
          }
          return r.text();
        })
        .then(function (html) {
          if (html === null || signedOut) return;
          refreshed(true);
          if (html !== node.innerHTML) replace(node, html);
          node.dispatchEvent(new CustomEvent("signpost:refreshed", {bubbles: true}));
        })
        .catch(function () { refreshed(false); });
    }, every));
  }

  function stored(key, value) {
    // localStorage can be switched off or full: alerts still work, only the choice is not remembered.
    try {
      if (value === undefined) return window.localStorage.getItem(key);
      window.localStorage.setItem(key, value);
    } catch (e) { /* not remembered */ }
    return null;
  }

  function session(key, value) {
    try {
      if (value === undefined) return JSON.parse(window.sessionStorage.getItem(key) || "null");
      window.sessionStorage.setItem(key, JSON.stringify(value));
    } catch (e) { /* a fresh tab's behaviour: nothing counted as seen */ }
    return null;
  }

  // Relay inbox: the unacknowledged count in the title, the banner, a sound and a desktop notification for
  // each case that was not unacknowledged on the previous refresh. Rows carry data-case/-state/-age.
  function inboxAlerts(rows, banner) {
    var AudioCtx = window.AudioContext || window.webkitAudioContext;
    var canNotify = "Notification" in window;
    var soundButton = document.getElementById("sound-toggle"), soundState = document.getElementById("sound-state");
    var notifyButton = document.getElementById("notify-enable"), notifyState = document.getElementById("notify-state");
    var baseTitle = document.title.replace(/^\(\d+\)\s*/, "");
    var audio = null;

    function muted() { return stored("signpost.sound") === "off"; }

    function context() {
      if (!audio && AudioCtx) {
        try {
          audio = new AudioCtx();
          audio.addEventListener("statechange", showSound);
        } catch (e) { audio = null; }
      }
      return audio;
    }

    // Browsers keep sound off until the user has interacted with the page; resume() works inside a click.
    function unlock() {
      var ctx = context();
      if (!ctx) return Promise.resolve(false);
      if (ctx.state === "running") return Promise.resolve(true);
      var resumed = ctx.resume();
      showSound();
      return resumed.then(function () { showSound(); return ctx.state === "running"; }, function () { return false; });
    }

    function chime() {
      if (muted() || !audio || audio.state !== "running") return false;
      // Three rising tones, twice: short, and unlike the system's own sounds.
      var osc = audio.createOscillator(), gain = audio.createGain(), t = audio.currentTime + 0.02;
      osc.type = "triangle";
      [660, 880, 1175, 660, 880, 1175].forEach(function (hz, i) {
        var at = t + i * 0.16 + (i > 2 ? 0.25 : 0);
        osc.frequency.setValueAtTime(hz, at);
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.5, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.14);
      });
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(t);
      osc.stop(t + 1.3);
      return true;
    }

    function showSound() {
      var state;
      soundState.classList.remove("warn");
      if (!AudioCtx) {
        soundButton.hidden = true;
        soundState.textContent = "This browser cannot play alert sounds.";
        return;
      }
      if (muted()) {
        soundButton.textContent = "Unmute sound";
        state = "Sound alerts are muted.";
      } else if (audio && audio.state === "running") {
        soundButton.textContent = "Mute sound";
        state = "Sound alerts are on.";
      } else {
        soundButton.textContent = "Enable sound";
        state = "The browser is blocking sound until you press Enable sound.";
        soundState.classList.add("warn");
      }
      if (soundState.textContent !== state) soundState.textContent = state;
    }

    soundButton.addEventListener("click", function () {
      if (!muted() && audio && audio.state === "running") {
        stored("signpost.sound", "off");
        showSound();
        return;
      }
      stored("signpost.sound", "on");
      unlock().then(function (on) { if (on) chime(); });
    });
    // Any click or key press on the page lets the browser start sound: take it. Not on the sound button
    // itself, whose click would otherwise find sound already on and mute it.
    ["pointerdown", "keydown"].forEach(function (type) {
      document.addEventListener(type, function (e) {
        if (!muted() && !soundButton.contains(e.target)) unlock();
      }, true);
    });

    function showNotify() {
      if (!canNotify) {
        notifyButton.hidden = true;
        notifyState.textContent = "This browser cannot show desktop notifications.";
        return;
      }
      var permission = Notification.permission;
      notifyButton.hidden = permission !== "default";
      notifyState.classList.toggle("warn", permission === "denied");
      notifyState.textContent = permission === "granted" ? "Desktop notifications are on." :
        permission === "denied" ? "Desktop notifications are blocked in this browser's site settings." : "";
    }

    notifyButton.addEventListener("click", function () {
      var asked = Notification.requestPermission(showNotify);  // older Safari takes a callback
      if (asked && asked.then) asked.then(showNotify, showNotify);
    });

    // No phone number and no text: a notification can show on a locked screen.
    function notify(title, body, tag, href) {
      if (!canNotify || Notification.permission !== "granted") return;
      try {
        var note = new Notification(title, {body: body, tag: tag, requireInteraction: true});
        note.onclick = function () {
          window.focus();
          if (href) location.href = href;
          note.close();
        };
      } catch (e) { /* Chrome on Android shows notifications only from a service worker */ }
    }

    function unacked() {
      return Array.prototype.map.call(rows.querySelectorAll('tr[data-state="new"]'), function (tr) {
        var link = tr.querySelector("a[href]");
        return {id: tr.getAttribute("data-case"), age: tr.getAttribute("data-age"),
                href: link ? link.getAttribute("href") : ""};
      });
    }

    // Same wording as inbox.html. Only touched when it changes, so screen readers announce it once.
    function bannerKey(list) {
      return list.length ? list.length + " " + list[list.length - 1].id : "";
    }
    var shownKey = bannerKey(unacked());

    function showBanner(list) {
      var key = bannerKey(list);
      if (key === shownKey) return;
      shownKey = key;
      banner.textContent = "";
      if (!list.length) return;
      var oldest = list[list.length - 1];  // rows are newest first
      var p = el("p", {"class": "alarm"});
      p.appendChild(el("strong", {}, list.length + " new emergency text" + (list.length === 1 ? "" : "s") +
        " not acknowledged."));
      p.appendChild(document.createTextNode(" "));
      p.appendChild(el("a", {"href": oldest.href}, "Open the oldest"));
      p.appendChild(document.createTextNode(" (case " + oldest.id + ")"));
      banner.appendChild(p);
    }

    function update() {
      var list = unacked();
      document.title = (list.length ? "(" + list.length + ") " : "") + baseTitle;
      showBanner(list);
      // Seen ids live in this tab's sessionStorage, so coming back from a case page does not alert again
      // for the same cases, but does for any that arrived meanwhile. A fresh tab alerts for none.
      var seen = session("signpost.unacked-seen");
      var ids = list.map(function (c) { return c.id; });
      if (seen) {
        var fresh = list.filter(function (c) { return seen.indexOf(c.id) < 0; });
        if (fresh.length) chime();
        fresh.forEach(function (c) {
          notify("New emergency text: case " + c.id, "Not acknowledged. Opened " + c.age + " ago.",
                 "signpost-case-" + c.id, c.href);
        });
      }
      session("signpost.unacked-seen", ids);
    }

    rows.addEventListener("signpost:refreshed", update);
    document.addEventListener("signpost:signed-out", function () {
      chime();
      notify("Signed out of the signpost console", "The relay inbox has stopped updating. Sign in again.",
             "signpost-signed-out", "");
    });
    if (!muted()) context();
    showSound();
    showNotify();
    document.getElementById("alert-controls").hidden = false;
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-preview-for]").forEach(watch);
    document.querySelectorAll("[data-refresh]").forEach(refresh);
    var rows = document.getElementById("inbox-rows"), banner = document.getElementById("unacked");
    if (rows && banner) inboxAlerts(rows, banner);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
      });
    });
    var latest = document.getElementById("latest");
    if (latest) latest.scrollIntoView({block: "nearest"});
  });
})();
