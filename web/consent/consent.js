/*! Trustee cookie banner: plain JavaScript, no build step. docs/consent.md
 * <script src="https://trustee.example.com/consent.js" data-site="KEY"></script>
 * Put it first in <head>, before any tag: it sets Google Consent Mode
 * defaults at once. Mark optional scripts and iframes until consent:
 * <script type="text/plain" data-category="analytics">…</script>
 * <iframe data-category="advertising" data-src="…"></iframe>
 * Reopen with window.trusteeConsent.open() or any [data-trustee-open];
 * after adding marked elements later, call window.trusteeConsent.scan(). */
(function () {
  "use strict";
  var d = document, w = window, sc = d.currentScript;
  if (!sc || w.trusteeConsent) return;
  var site = sc.getAttribute("data-site") || "";
  var api = (sc.getAttribute("data-api") || new URL(sc.src, location.href).origin).replace(/\/+$/, "");
  var CATS = ["functional", "analytics", "advertising"];
  var KEY = "trusteeConsent:" + site;
  var mem = null, cfg = null, T = null, lang = "", root = null, back = null, expanded = false, pending = false;
  var gpc = navigator.globalPrivacyControl === true;
  var state = load();

  // Google Consent Mode v2: a default before any tag, an update on change.
  w.dataLayer = w.dataLayer || [];
  function gtag() { w.dataLayer.push(arguments); }
  function mode(c) {
    function g(on) { return on ? "granted" : "denied"; }
    return {
      ad_storage: g(c.advertising), ad_user_data: g(c.advertising), ad_personalization: g(c.advertising),
      analytics_storage: g(c.analytics), functionality_storage: g(c.functional),
      personalization_storage: g(c.functional), security_storage: "granted"
    };
  }
  var dm = mode(granted());
  dm.wait_for_update = 500;
  gtag("consent", "default", dm);

  function load() {
    var s = null;
    try { s = JSON.parse(localStorage.getItem(KEY)); } catch (e) { s = mem; }
    return s && s.v === 1 && s.bid ? s : null;
  }
  function save() {
    mem = state;
    try { localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* private mode: memory only */ }
    if (cfg) {
      var f = CATS.filter(function (c) { return state.c[c]; }).map(function (c) { return c[0]; }).join("") || "-";
      d.cookie = cfg.cookie + "=" + ["v1", state.ver, f, state.r || ""].join(".") + "; path=/; max-age=31536000; SameSite=Lax" +
        (location.protocol === "https:" ? "; Secure" : "");
    }
  }
  function live() { return state && state.asked && !(state.exp && Date.now() > state.exp); }
  // granted returns what may run now: only what was chosen, never
  // advertising under Global Privacy Control.
  function granted() {
    var c = {};
    CATS.forEach(function (k) { c[k] = !!(live() && state.c[k]) && !(gpc && (k === "advertising" || sale(k))); });
    return c;
  }
  function sale(k) { return !!(cfg && cat(k) && cat(k).sale_or_share); }
  function cat(k) { return cfg && cfg.categories.filter(function (c) { return c.key === k; })[0]; }
  function bid() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return btoa(String.fromCharCode.apply(null, b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // Blocked elements run once their categories (all of them) are allowed.
  function activate() {
    var c = granted();
    Array.prototype.forEach.call(d.querySelectorAll("[data-category]"), function (el) {
      if (!el.getAttribute("data-category").split(/\s+/).every(function (k) { return c[k]; })) return;
      if (el.tagName === "SCRIPT") {
        if (el.type !== "text/plain") return;
        var s = d.createElement("script");
        Array.prototype.forEach.call(el.attributes, function (a) {
          if (a.name !== "type" && a.name !== "data-category" && a.name !== "data-type") s.setAttribute(a.name, a.value);
        });
        if (el.getAttribute("data-type")) s.type = el.getAttribute("data-type");
        s.text = el.text;
        el.parentNode.replaceChild(s, el);
      } else if (el.hasAttribute("data-src")) {
        el.src = el.getAttribute("data-src");
        el.removeAttribute("data-src");
        el.removeAttribute("data-category");
      }
    });
  }
  // Withdrawal deletes the category's cookies (a trailing * matches a
  // prefix) on this host and its parent domains, and its storage keys.
  function purge(k) {
    var c = cat(k);
    if (!c) return;
    var names = d.cookie.split(";").map(function (x) { return x.split("=")[0].trim(); });
    var hosts = [""], parts = location.hostname.split(".");
    for (var i = 0; i < parts.length - 1; i++) hosts.push("; domain=." + parts.slice(i).join("."));
    c.cookies.forEach(function (ck) {
      function hit(n) { return ck.name.slice(-1) === "*" ? n.indexOf(ck.name.slice(0, -1)) === 0 : n === ck.name; }
      names.filter(hit).forEach(function (n) {
        hosts.forEach(function (h) { d.cookie = n + "=; path=/; max-age=0" + h; });
      });
      [w.localStorage, w.sessionStorage].forEach(function (st) {
        try { Object.keys(st).filter(hit).forEach(function (n) { st.removeItem(n); }); } catch (e) { /* blocked */ }
      });
    });
  }

  // choose records a choice: at once in the browser (so scripts run
  // without waiting), then in the ledger, whose receipt is kept.
  function choose(ch, asked) {
    var before = granted();
    if (!state) state = { v: 1, bid: bid(), c: {} };
    CATS.forEach(function (k) { if (k in ch) state.c[k] = ch[k]; });
    state.ver = cfg.policy_version;
    state.asked = state.asked || asked;
    if (gpc) state.gpc = true;
    save();
    var now = granted();
    CATS.forEach(function (k) { if (before[k] && !now[k]) purge(k); });
    gtag("consent", "update", mode(now));
    activate();
    w.dispatchEvent(new CustomEvent("trustee:consent", { detail: now }));
    var body = { browser_id: state.bid, policy_version: cfg.policy_version, language: lang, choices: ch,
      page_url: location.origin + location.pathname, gpc: gpc };
    return fetch(api + "/v1/public/" + encodeURIComponent(site) + "/consents", {
      method: "POST", credentials: "omit", keepalive: true,
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (res) {
      if (!res || !res.receipt_id) return;
      state.r = res.receipt_id;
      state.at = res.at;
      state.exp = res.expires_at ? Date.parse(res.expires_at) : 0;
      save();
      receipt();
    }, function () { /* offline: asked again when the receipt is missing */ });
  }

  function el(tag, attrs, kids) {
    var e = d.createElement(tag);
    for (var a in attrs || {}) {
      if (a === "text") e.textContent = attrs[a]; else e.setAttribute(a, attrs[a]);
    }
    (kids || []).forEach(function (k) { if (k) e.appendChild(k); });
    return e;
  }
  function receipt() {
    var p = root && root.querySelector(".tc-receipt");
    if (!p) return;
    p.hidden = !(state && state.r);
    if (state && state.r) {
      p.textContent = T.receipt + ": " + state.r + " · " + new Date(state.at || Date.now()).toLocaleString(lang);
    }
  }
  function focusables() {
    return Array.prototype.filter.call(root.querySelectorAll("button,a[href],input:not([disabled]),summary"),
      function (x) { return x.offsetParent !== null; });
  }
  function close() {
    if (!root) return;
    root.parentNode.removeChild(root);
    root = null;
    if (back && back.focus) back.focus();
  }

  // open shows the banner (first visit) or the preferences dialog.
  function open(prefs) {
    if (!cfg) { pending = true; return; }
    close();
    expanded = !!prefs;
    back = d.activeElement;
    var c = granted(), boxes = [];
    var cats = cfg.categories.map(function (x) {
      var label = T[x.key + "_label"], on = x.required || c[x.key], locked = x.required || gpc && (x.key === "advertising" || x.sale_or_share);
      var box = el("input", { type: "checkbox", id: "tc-" + x.key });
      box.checked = on && !(gpc && locked && !x.required);
      box.disabled = locked;
      box.setAttribute("data-cat", x.key);
      if (!x.required) boxes.push(box);
      var list = el("ul", {}, x.cookies.map(function (k) {
        return el("li", { text: k.name + " (" + k.provider + ", " + k.duration + "): " + k.purpose });
      }));
      return el("div", { "class": "tc-cat" }, [
        el("label", { "for": "tc-" + x.key }, [box, el("span", { text: label + (x.required ? " · " + T.always_on : "") })]),
        el("p", { text: T[x.key + "_description"] }),
        x.cookies.length ? el("details", {}, [el("summary", { text: T.cookies + " (" + x.cookies.length + ")" }), list]) : null
      ]);
    });
    var panel = el("div", { "class": "tc-cats" }, cats);
    panel.hidden = !expanded;
    function btn(act, text) { return el("button", { type: "button", "data-act": act, text: text }); }
    var more = btn("choose", T.customize), saveBtn = btn("save", T.save);
    saveBtn.hidden = !expanded;
    more.hidden = expanded;
    var dlg = el("div", { "class": "tc-dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": "tc-title", "aria-describedby": "tc-desc", tabindex: "-1", lang: lang }, [
      el("h2", { id: "tc-title", text: prefs ? T.settings : T.title }),
      el("p", { id: "tc-desc" }, [d.createTextNode(T.description + " "), cfg.notice_url ? el("a", { href: cfg.notice_url, text: T.notice_link }) : null]),
      gpc ? el("p", { "class": "tc-gpc", text: T.gpc }) : null,
      panel,
      el("p", { "class": "tc-receipt", "aria-live": "polite" }),
      el("div", { "class": "tc-btns" }, [btn("reject", T.reject_all), btn("accept", T.accept_all), more, saveBtn]),
      prefs ? el("button", { type: "button", "class": "tc-x", "data-act": "close", "aria-label": T.close, text: "×" }) : null
    ]);
    root = el("div", { "class": "tc-root", id: "trustee-consent" }, [dlg]);
    root.addEventListener("click", function (e) {
      var act = e.target.getAttribute && e.target.getAttribute("data-act");
      var all = {};
      if (act === "accept" || act === "reject") {
        boxes.forEach(function (b) { all[b.getAttribute("data-cat")] = act === "accept" && !b.disabled; });
        choose(all, true);
        close();
      } else if (act === "save") {
        boxes.forEach(function (b) { all[b.getAttribute("data-cat")] = b.checked; });
        choose(all, true);
        close();
      } else if (act === "choose") {
        panel.hidden = saveBtn.hidden = false;
        more.hidden = true;
        (boxes.filter(function (b) { return !b.disabled; })[0] || saveBtn).focus();
      } else if (act === "close") {
        close();
      }
    });
    // Keyboard: Escape closes, Tab stays inside the dialog.
    root.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); close(); return; }
      if (e.key !== "Tab") return;
      var f = focusables(), first = f[0], last = f[f.length - 1];
      if (e.shiftKey && (d.activeElement === first || d.activeElement === dlg)) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && d.activeElement === last) { e.preventDefault(); first.focus(); }
    });
    (d.body || d.documentElement).appendChild(root);
    receipt();
    dlg.querySelector("button").focus();
  }

  function ask() {
    if (!live() || state.ver < cfg.policy_version && cfg.categories.some(function (c) { return c.since > state.ver; })) return true;
    return cfg.categories.some(function (c) { return !c.required && !(c.key in state.c); });
  }
  function start() {
    activate();
    d.addEventListener("click", function (e) {
      var t = e.target.closest && e.target.closest("[data-trustee-open],a[href='#cookie-settings']");
      if (t) { e.preventDefault(); open(true); }
    });
    fetch(api + "/v1/public/" + encodeURIComponent(site) + "/consent-config", { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (c) {
        cfg = c;
        gpc = gpc || c.gpc;
        var want = sc.getAttribute("data-lang") || d.documentElement.lang || navigator.language || "";
        lang = c.languages.filter(function (l) { return l.toLowerCase() === want.toLowerCase(); })[0] ||
          c.languages.filter(function (l) { return l.toLowerCase() === want.split("-")[0].toLowerCase(); })[0] || c.language;
        T = c.texts[lang];
        var link = d.createElement("link");
        link.rel = "stylesheet";
        link.href = api + "/consent.css";
        d.head.appendChild(link);
        if (gpc && !(state && state.gpc)) {
          if (!state) state = { v: 1, bid: bid(), c: {}, ver: c.policy_version };
          choose({}, false);
        }
        if (ask() || pending) link.onload = link.onerror = function () { if (!root) open(pending); };
      }, function () { /* no configuration: nothing optional runs */ });
  }

  w.trusteeConsent = {
    open: function () { open(true); },
    get: granted,
    scan: activate,
    state: function () { return state && { receipt: state.r, at: state.at, choices: granted(), gpc: !!state.gpc }; }
  };
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", start); else start();
})();
