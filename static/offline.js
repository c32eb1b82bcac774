// Auditrail offline: the service worker, the outbox and the forms kept on this device.
// Loaded on every page of a logged-in user (after idb-keyval); static/audits.js builds the
// form's behaviour on it.
//
// The outbox (IndexedDB "auditrail-outbox") holds every answer, comment, photo (the
// downscaled JPEG), photo removal and offline signature until the server acknowledges it:
// it survives a reload and a browser restart. Entries are sent in the order they were
// made, as soon as the connection returns (the `online` event, then quick retries), several
// answers in one answers:batch request, each with the version it was made on. A 401 keeps
// them and asks for the password (the form's dialog); nothing is dropped but what the
// server has answered for good (saved, a conflict shown to the user, a refusal).
//
// Keys: "a|<run>|<item>" one pending answer per item (later changes merge into it),
// "p|<run>|<item>|<n>" a photo, "r|<run>|<photo>" a removal, "s|<run>" a signed submit.
/* global idbKeyval */
"use strict";

window.Auditrail = window.Auditrail || {};

(function (A) {
  const kv = window.idbKeyval;
  const RUNS_CACHE = "auditrail-runs";
  const PAGES_CACHE = "auditrail-pages";
  const stores = kv ? {
    outbox: kv.createStore("auditrail-outbox", "entries"),
    acked: kv.createStore("auditrail-acked", "answers"), // last acknowledged, per item
    runs: kv.createStore("auditrail-runs", "runs"), // forms kept on this device
  } : null;

  const meta = (name) => (document.querySelector(`meta[name="${name}"]`) || {}).content || "";
  const strings = (() => {
    try { return JSON.parse(document.getElementById("ui-strings").textContent); }
    catch (e) { return {}; }
  })();
  A.t = (key, n) => (strings[key] || "").replace("{n}", n);
  A.csrf = () => meta("csrf-token");
  A.userId = meta("user-id");
  A.hasOutbox = !!stores;
  A.passwords = new Map(); // run -> password of a signed submit: memory only, never stored

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail }));
  }

  // ---- the outbox ----------------------------------------------------------------

  let seq = Date.now() * 1000;
  const nextSeq = () => (seq = Math.max(seq + 1, Date.now() * 1000));

  async function entries(run) {
    if (!stores) return [];
    const all = await kv.entries(stores.outbox);
    return all.map(([key, value]) => ({ ...value, key }))
      .filter((e) => e.user === A.userId && (run === undefined || e.run === run))
      .sort((a, b) => a.seq - b.seq);
  }
  A.entries = entries;

  // An answer (mode "value": values, multi) or a comment alone (mode "comment"): merged into
  // the item's pending entry, so the outbox holds the item's latest state on one base.
  A.queueAnswer = async (run, item, change) => {
    const key = `a|${run}|${item}`;
    await kv.update(key, (old) => {
      const entry = old || { kind: "answer", run, item, user: A.userId, seq: nextSeq(),
                             rev: 0, base: change.base, mode: "comment" };
      entry.rev += 1;
      entry.at = Date.now();
      if (change.mode === "value") {
        entry.mode = "value";
        entry.values = change.values;
        entry.multi = change.multi;
      }
      if (change.comment !== undefined && change.comment !== null) entry.comment = change.comment;
      if (change.rebase) entry.base = change.base;
      delete entry.conflict;
      return entry;
    }, stores.outbox);
    changed();
    return key;
  };

  A.queue = async (prefix, value) => {
    const n = nextSeq();
    const key = `${prefix}|${n}`;
    await kv.set(key, { ...value, user: A.userId, seq: n, at: Date.now() }, stores.outbox);
    changed();
    return key;
  };

  A.queueSubmit = async (run) => {
    await kv.set(`s|${run}`, { kind: "submit", run, user: A.userId, seq: 9e18, at: Date.now() },
                 stores.outbox);
    changed();
  };

  A.drop = async (key) => { await kv.del(key, stores.outbox); changed(); };

  // An answer acknowledged with `version`: gone from the outbox unless the item changed
  // again meanwhile, in which case that newer change now builds on `version`.
  async function acked(entry, version, values, comment) {
    await kv.update(entry.key, (current) => {
      if (!current || current.rev === entry.rev) return undefined;
      if (current.base === entry.base) current.base = version;
      return current;
    }, stores.outbox);
    const left = await kv.get(entry.key, stores.outbox);
    if (left === undefined) await kv.del(entry.key, stores.outbox);
    const key = `${entry.run}|${entry.item}`;
    const before = (await kv.get(key, stores.acked)) || {};
    await kv.set(key, { version, values: values ?? before.values,
                        comment: comment ?? before.comment, at: Date.now() }, stores.acked);
  }
  A.acked = async (run, item) => kv.get(`${run}|${item}`, stores.acked);
  A.ackedOf = async (run) => new Map((await kv.entries(stores.acked))
    .filter(([key]) => key.startsWith(`${run}|`))
    .map(([key, value]) => [key.slice(String(run).length + 1), value]));
  A.forgetAcked = async (run, item) => kv.del(`${run}|${item}`, stores.acked);

  async function changed() {
    const pending = (await entries()).length;
    emit("outbox:changed", { pending });
    const global = document.getElementById("outbox-global");
    if (global) {
      global.hidden = pending === 0;
      global.textContent = pending === 1 ? A.t("waiting_one") : A.t("waiting_many", pending);
    }
  }
  A.refreshCount = changed;

  // ---- sending ---------------------------------------------------------------------

  let flushing = null;
  let again = false;
  let blocked = null; // "auth" while the session is gone: wait for the login dialog
  let failures = 0;
  let retryTimer = null;

  // After a failed send. Quick: the link in a plant room comes and goes; the online event
  // covers the rest (no tries at all while the browser knows it is offline).
  function scheduleRetry() {
    failures += 1;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => A.flush(), Math.min(5000, 1000 * failures));
  }

  A.flush = () => {
    if (flushing) { again = true; return flushing; }
    flushing = (async () => {
      try {
        do { again = false; await flushOnce(); } while (again && !blocked);
      } finally { flushing = null; }
    })();
    return flushing;
  };

  A.unblock = () => { blocked = null; failures = 0; return A.flush(); };

  class Stop extends Error {}

  async function post(url, body, headers = {}) {
    let response;
    try {
      response = await fetch(url, { method: "POST", body, credentials: "same-origin",
                                    headers: { "X-CSRF-Token": A.csrf(), "HX-Request": "true",
                                               ...headers } });
    } catch (err) {
      throw new Stop("network");
    }
    if (response.status === 401) {
      blocked = "auth";
      emit("outbox:login-needed", {});
      throw new Stop("auth");
    }
    if (response.status >= 500 || response.status === 429) throw new Stop("server");
    return response;
  }

  async function flushOnce() {
    if (!stores) return;
    if (blocked) { emit("outbox:login-needed", {}); return; } // "Later" was chosen: ask again
    if (navigator.onLine === false) { emit("outbox:offline", {}); return; }
    const pending = await entries();
    if (!pending.length) return;
    emit("outbox:sending", { pending: pending.length });
    try {
      const byRun = new Map();
      for (const e of pending) {
        if (!byRun.has(e.run)) byRun.set(e.run, []);
        byRun.get(e.run).push(e);
      }
      for (const [run, list] of byRun) await flushRun(run, list);
      failures = 0;
      emit("outbox:sent", {});
    } catch (err) {
      if (!(err instanceof Stop)) throw err;
      if (err.message !== "auth") {
        emit("outbox:failed", { reason: err.message });
        scheduleRetry();
      }
    } finally {
      changed();
    }
  }

  async function flushRun(run, all) {
    const form = A.form && A.form.run === run ? A.form : null;
    // A conflict waits for its form, where both values are shown and someone chooses.
    const list = form ? all : all.filter((e) => !e.conflict);
    let answers = [];
    const sendAnswers = async () => {
      if (!answers.length) return;
      const batch = answers;
      answers = [];
      // One at a time while someone is answering (each reply re-renders its item); a
      // batch when the device comes back with a queue.
      if (form && batch.length <= 2 && !batch.some((e) => e.conflict)) {
        for (const e of batch) await sendOne(form, e);
      } else {
        await sendBatch(run, batch, form);
      }
    };
    for (const entry of list) {
      if (entry.kind === "answer") { answers.push(entry); continue; }
      await sendAnswers();
      if (entry.kind === "photo") await sendPhoto(form, entry);
      else if (entry.kind === "remove") await sendRemoval(form, entry);
      else if (entry.kind === "submit") await sendSubmit(form, entry);
    }
    await sendAnswers();
  }

  function answerBody(entry) {
    const body = new URLSearchParams();
    body.set("base_version", String(entry.base));
    if (entry.mode === "comment") body.set("mode", "comment");
    else {
      if (entry.multi) body.set("multi", "1");
      for (const v of entry.values || []) body.append("value", v);
    }
    if (entry.comment !== undefined) body.set("comment", entry.comment);
    return body;
  }

  async function sendOne(form, entry) {
    const url = `/audits/${entry.run}/answers/${encodeURIComponent(entry.item)}`;
    const response = await post(url, answerBody(entry));
    const html = await response.text();
    if (response.status === 403) { await refreshToken(); throw new Stop("server"); }
    if (response.status === 409 && !html.includes('class="item')) return lockedRun(entry.run);
    const current = await kv.get(entry.key, stores.outbox);
    if (response.ok) {
      const version = Number((/data-version="(\d+)"/.exec(html) || [])[1] || entry.base + 1);
      await acked(entry, version, entry.values, entry.comment);
    } else if (current && current.rev !== entry.rev && response.status === 409) {
      // changed again while this was on its way: send the newest, which shows both values
      again = true;
      await kv.update(entry.key, (c) => ({ ...c, conflict: true }), stores.outbox);
    } else {
      await kv.del(entry.key, stores.outbox); // 409 shown with both values, 422 refused
    }
    await changed(); // the count first: "saved" must never show beside "1 waiting"
    form.swapItem(entry.item, html, response.status);
  }

  async function sendBatch(run, batch, form) {
    const body = JSON.stringify({ answers: batch.map((e) => {
      const one = { item_id: e.item, base_version: e.base };
      if (e.mode === "comment") one.keep_value = true;
      else one.value = e.multi ? e.values || [] : (e.values || [])[0] ?? null;
      if (e.comment !== undefined) one.comment = e.comment;
      return one;
    }) });
    const response = await post(`/audits/${run}/answers:batch`, body,
                                { "Content-Type": "application/json" });
    if (response.status === 403) { await refreshToken(); throw new Stop("server"); }
    if (response.status === 409) return lockedRun(run);
    if (response.status === 404) { for (const e of batch) await kv.del(e.key, stores.outbox); return; }
    if (!response.ok) throw new Stop("server");
    const { results } = await response.json();
    const saved = [];
    const conflicts = [];
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i];
      const r = results[i] || {};
      if (r.status === 200) {
        await acked(entry, r.version, entry.values, entry.comment);
        saved.push(entry.item);
      } else if (r.status === 409 && form) {
        conflicts.push(entry); // sent again on its own: its reply shows both values
      } else if (r.status === 409) {
        await kv.update(entry.key, (c) => (c ? { ...c, conflict: true } : c), stores.outbox);
      } else {
        await kv.del(entry.key, stores.outbox);
        emit("outbox:refused", { run, item: entry.item, message: r.error || "" });
      }
    }
    await changed();
    if (form && saved.length) await form.refreshItems(saved);
    if (form) for (const entry of conflicts) await sendOne(form, entry);
  }

  async function sendPhoto(form, entry) {
    const body = new FormData();
    body.append("file", entry.blob, entry.name || "photo.jpg");
    const query = entry.photoKind === "signature" ? "?kind=signature" : "";
    const response = await post(
      `/audits/${entry.run}/items/${encodeURIComponent(entry.item)}/photos${query}`, body);
    if (response.status === 403) { await refreshToken(); throw new Stop("server"); }
    const html = await response.text();
    if (response.status === 409 && !html.includes('class="item')) return lockedRun(entry.run);
    await kv.del(entry.key, stores.outbox); // stored, or refused for good (413, 415, 422)
    await changed();
    if (form) form.swapItem(entry.item, html, response.status);
  }

  async function sendRemoval(form, entry) {
    const response = await post(`/audits/${entry.run}/photos/${entry.photo}/remove`,
                                new URLSearchParams());
    if (response.status === 403) { await refreshToken(); throw new Stop("server"); }
    const html = await response.text();
    await kv.del(entry.key, stores.outbox);
    await changed();
    if (form && response.ok) form.swapItem(entry.item, html, response.status);
  }

  async function sendSubmit(form, entry) {
    const others = (await entries(entry.run)).filter((e) => e.kind !== "submit");
    if (others.length) return; // everything else first, then the signature
    const password = A.passwords.get(entry.run);
    if (!password) { emit("outbox:password-needed", { run: entry.run }); return; }
    const body = new URLSearchParams({ password });
    emit("outbox:submitting", { run: entry.run });
    const response = await post(`/audits/${entry.run}/submit`, body);
    if (response.ok && response.url.includes("submitted=1")) {
      A.passwords.delete(entry.run);
      await kv.del(entry.key, stores.outbox);
      await A.forgetRun(entry.run);
      emit("outbox:submitted", { run: entry.run, url: response.url });
      return;
    }
    if (response.status === 403) {
      const html = await response.text();
      if (!html.includes('name="password"')) { await refreshToken(); throw new Stop("server"); }
      A.passwords.delete(entry.run); // a wrong password: ask again
      emit("outbox:password-needed", { run: entry.run, wrong: true });
      return;
    }
    // Refused (what is missing): the review page says what; the mark goes.
    await kv.del(entry.key, stores.outbox);
    A.passwords.delete(entry.run);
    emit("outbox:submit-refused", { run: entry.run, url: `/audits/${entry.run}/submit` });
  }

  async function lockedRun(run) {
    for (const e of await entries(run)) await kv.del(e.key, stores.outbox);
    emit("outbox:locked", { run });
  }

  // After a new login the session's CSRF token is new: take it from a fresh page.
  async function refreshToken(html) {
    try {
      const text = html || await (await fetch(location.pathname, { credentials: "same-origin",
                                                                  cache: "no-store" })).text();
      const token = /name="csrf-token" content="([^"]+)"/.exec(text);
      if (token) document.querySelector('meta[name="csrf-token"]').content = token[1];
    } catch (e) { /* offline: the next try does it */ }
  }
  A.refreshToken = refreshToken;

  // Log in again without leaving the page: the login form's token (before login), then the
  // login itself, which sends us back to this page with the new session's token.
  A.logIn = async (login, password) => {
    const page = await (await fetch("/login", { credentials: "same-origin", cache: "no-store" }))
      .text();
    const anon = /name="_csrf" value="([^"]+)"/.exec(page);
    const next = location.pathname;
    const body = new URLSearchParams({ login, password, next, _csrf: anon ? anon[1] : "" });
    const response = await fetch("/login", { method: "POST", body, credentials: "same-origin" });
    if (!response.ok || !response.redirected) return false;
    await refreshToken(await response.text());
    return true;
  };

  window.addEventListener("online", () => { failures = 0; A.flush(); });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") A.flush();
  });

  // ---- forms kept on this device ---------------------------------------------------

  async function cached(cache, url, headers) {
    const response = await fetch(url, { credentials: "same-origin", headers, cache: "no-store" });
    if (!response.ok || response.redirected) throw new Error(`${url}: ${response.status}`);
    const copy = response.clone();
    await cache.put(url, response);
    return copy;
  }

  // Store a run's form, its lazily loaded sections and its photos' thumbnails, so that it
  // opens with no network, even after a reload or a browser restart.
  A.takeOffline = async (run) => {
    if (!("caches" in window) || !stores) throw new Error("no cache storage");
    const cache = await caches.open(RUNS_CACHE);
    const url = `/audits/${run}`;
    const html = await (await cached(cache, url)).text();
    const doc = new DOMParser().parseFromString(html, "text/html");
    if (!doc.getElementById("run")) { await A.forgetRun(run); return null; } // submitted
    const parts = [doc];
    for (const lazy of doc.querySelectorAll("section.lazy[hx-get]")) {
      const text = await (await cached(cache, lazy.getAttribute("hx-get"),
                                       { "HX-Request": "true" })).text();
      parts.push(new DOMParser().parseFromString(text, "text/html"));
    }
    const thumbs = new Set();
    for (const part of parts) {
      part.querySelectorAll('img[src$="/thumb"]').forEach((img) => thumbs.add(img.getAttribute("src")));
    }
    for (const src of thumbs) {
      if (!(await cache.match(src, { ignoreVary: true }))) await cached(cache, src);
    }
    const record = { run, url, title: doc.title, stored: Date.now(), bytes: await runBytes(run) };
    await kv.set(String(run), record, stores.runs);
    return record;
  };

  // What one run takes in the cache: its page, sections and thumbnails.
  async function runBytes(run) {
    const cache = await caches.open(RUNS_CACHE);
    let total = 0;
    for (const request of await cache.keys()) {
      const path = new URL(request.url).pathname;
      if (path === `/audits/${run}` || path.startsWith(`/audits/${run}/`)) {
        const response = await cache.match(request, { ignoreVary: true });
        if (response) total += (await response.blob()).size;
      }
    }
    return total;
  }
  A.runBytes = runBytes;

  A.storedRun = async (run) => (stores ? kv.get(String(run), stores.runs) : undefined);
  A.storedRuns = async () => (stores ? (await kv.values(stores.runs)) : []);

  A.forgetRun = async (run) => {
    if (stores) await kv.del(String(run), stores.runs);
    if (!("caches" in window)) return;
    const cache = await caches.open(RUNS_CACHE);
    for (const request of await cache.keys()) {
      const path = new URL(request.url).pathname;
      if (path === `/audits/${run}` || path.startsWith(`/audits/${run}/`)) {
        await cache.delete(request, { ignoreVary: true });
      }
    }
  };

  // The engineer's coming inspections and the auditor's planned audits: kept on the
  // device whenever it is online, at most every ten minutes.
  const SYNC_EVERY_MS = 10 * 60 * 1000;
  async function keepDueRuns() {
    if (navigator.onLine === false || !stores) return;
    const last = Number(localStorage.getItem("auditrail-offline-set") || 0);
    if (Date.now() - last < SYNC_EVERY_MS) return;
    localStorage.setItem("auditrail-offline-set", String(Date.now()));
    try {
      const response = await fetch("/audits/offline-set", { credentials: "same-origin" });
      if (!response.ok) return;
      const { runs } = await response.json();
      for (const url of runs) {
        const run = Number(url.split("/").pop());
        const stored = await A.storedRun(run);
        if (!stored || Date.now() - stored.stored > SYNC_EVERY_MS) {
          await A.takeOffline(run).catch(() => null);
        }
      }
    } catch (e) { /* offline again: next time */ }
  }

  // ---- the service worker, leaving, logging out -------------------------------------

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => null);
  }
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => null);

  window.addEventListener("beforeunload", (event) => {
    if (A.pendingCount > 0) {
      event.preventDefault();
      event.returnValue = A.t("leave");
    }
  });
  document.addEventListener("outbox:changed", (e) => { A.pendingCount = e.detail.pending; });

  // Logging out: the next person on this device must not find this one's forms. The
  // caches are emptied on the way out, and again at the next page of another user (the
  // way out may be cut short). Unsent changes stay, for this user's next login here.
  async function forgetForms() {
    try {
      await caches.delete(RUNS_CACHE);
      await caches.delete(PAGES_CACHE);
      if (stores) await kv.clear(stores.runs);
    } catch (e) { /* nothing stored */ }
  }
  document.addEventListener("submit", (event) => {
    if (!event.target.matches('form[action="/logout"]')) return;
    if (A.pendingCount > 0 && !window.confirm(A.t("logout_unsent"))) {
      event.preventDefault();
      return;
    }
    A.pendingCount = 0; // kept in the outbox: not a reason to stay on the page
    localStorage.removeItem("auditrail-user");
    forgetForms();
  });
  if (A.userId && localStorage.getItem("auditrail-user") !== A.userId) {
    forgetForms().then(() => localStorage.setItem("auditrail-user", A.userId));
  }

  // The page shown offline for a place not stored: the forms that are.
  async function listStoredRuns() {
    const list = document.getElementById("offline-runs");
    if (!list) return;
    const runs = (await A.storedRuns()).sort((a, b) => b.stored - a.stored);
    for (const r of runs) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = r.url;
      a.textContent = (r.title || r.url).replace(/ · Auditrail$/, "") + ` (#${r.run})`;
      li.appendChild(a);
      list.appendChild(li);
    }
    const empty = document.getElementById("offline-none");
    if (empty) empty.hidden = runs.length > 0;
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!document.getElementById("outbox-status") && document.getElementById("main")) {
      const note = document.createElement("p");
      note.id = "outbox-global";
      note.className = "alert alert-warn";
      note.setAttribute("role", "status");
      note.hidden = true;
      document.getElementById("main").prepend(note);
    }
    changed();
    listStoredRuns();
    A.flush();
    setTimeout(keepDueRuns, 1500);
  });
})(window.Auditrail);
