// The audit form: every change goes into the outbox (static/offline.js) and from there to
// the server, so nothing typed is lost to a dead network, a reload or an expired session;
// the server's reply is morphed in (idiomorph) so that focus stays on the control. Also:
// show_if visibility, number limits, photos (scaled down in the browser, queued like
// answers), signatures, edit conflicts, "next unanswered" below the run bar, sign offline.
//
// Without JavaScript the same forms post and redirect back to their item (pages.py).
/* global htmx, Idiomorph */
"use strict";
(function () {
  const A = window.Auditrail || {};
  const root = document.getElementById("run");
  if (!root) return;
  const run = Number(root.dataset.audit);
  const t = (key, n) => (A.t ? A.t(key, n) : "");
  let pendingItems = new Set(); // items with a change in the outbox

  const itemOf = (el) => el && el.closest && el.closest("li.item");
  // Item ids may contain dots (PS1.03): found by getElementById, never a CSS id selector.
  const byId = (id) => document.getElementById("item-" + id);

  function setState(li, text, isError) {
    const state = li && li.querySelector(".save-state");
    if (!state) return;
    state.textContent = text;
    state.classList.toggle("error", !!isError);
  }

  // Items hidden by show_if: the server sends the list with every save (#progress
  // data-hidden). An item whose condition reads a change still on this device (no network)
  // is decided here, by the same rules (conditions.js), over what the page shows.
  function valueOf(li) {
    const type = li.dataset.type;
    if (type === "photo" || type === "signature") {
      return li.querySelectorAll(".thumbs img, img.signature-img").length || null;
    }
    const form = li.querySelector("form.answer-form");
    if (!form) return null;
    if (type === "multi_choice") {
      return [...form.querySelectorAll("input[type=checkbox]:checked")].map((i) => i.value);
    }
    const checked = form.querySelector("input[type=radio]:checked");
    if (checked) return type === "scale" ? Number(checked.value) : checked.value;
    const field = form.querySelector('input[name="value"]:not([type=radio]), textarea[name="value"]');
    if (!field || !field.value.trim()) return null;
    return type === "number" ? parseFloat(field.value) : field.value.trim();
  }

  function applyVisibility() {
    const progress = document.getElementById("progress");
    if (!progress) return;
    const hidden = new Set((progress.dataset.hidden || "").split(/\s+/).filter(Boolean));
    const local = A.showIf && pendingItems.size > 0;
    const seen = {};
    document.querySelectorAll("#run li.item").forEach((li) => {
      let hide = hidden.has(li.dataset.item);
      const source = li.dataset.showIf;
      if (local && source && (source.match(/[A-Za-z][A-Za-z0-9_.-]*/g) || [])
        .some((word) => pendingItems.has(word))) {
        const condition = A.showIf(source);
        if (condition) hide = !condition(seen);
      }
      li.hidden = hide;
      if (!hide) {
        const value = valueOf(li);
        if (value !== null && value !== "" && !(Array.isArray(value) && !value.length)) {
          seen[li.dataset.item] = value;
        }
      }
    });
  }

  function checkLimits(input) {
    const li = itemOf(input);
    const warning = li && li.querySelector(".limit-warning");
    if (!warning) return;
    const v = parseFloat(input.value);
    const min = input.dataset.min !== undefined ? parseFloat(input.dataset.min) : -Infinity;
    const max = input.dataset.max !== undefined ? parseFloat(input.dataset.max) : Infinity;
    warning.hidden = !(input.value !== "" && !Number.isNaN(v) && (v < min || v > max));
  }

  // ---- swapping the server's replies in -------------------------------------------

  const MORPH = {
    morphStyle: "outerHTML",
    ignoreActiveValue: true, // what is being typed stays
    callbacks: {
      // an open comment or guidance stays open; one the server opens (a failed item
      // asking for its finding, an N/A for its reason) opens
      beforeAttributeUpdated: (name, node, kind) =>
        !(name === "open" && node.tagName === "DETAILS" && kind === "remove"),
    },
  };

  function morph(target, fresh) {
    if (!target || !fresh) return;
    if (window.Idiomorph) Idiomorph.morph(target, fresh.outerHTML, MORPH);
    else target.outerHTML = fresh.outerHTML;
  }

  function morphProgress(doc) {
    const fresh = doc.getElementById("progress");
    if (!fresh) return;
    fresh.removeAttribute("hx-swap-oob");
    morph(document.getElementById("progress"), fresh);
    updateSkip();
  }

  async function swapItem(item, html, status) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const fresh = doc.getElementById("item-" + item);
    if (fresh) morph(byId(item), fresh);
    morphProgress(doc);
    applyVisibility();
    const li = byId(item);
    if (li) {
      await overlay([li]); // a newer change made while this one was on its way
      initSignatures(li);
      li.querySelectorAll('input[type="number"][name="value"]').forEach(checkLimits);
      if (status >= 400 && status !== 409) li.classList.add("has-error");
    }
  }

  // After a batch: the items it saved, as the server now has them.
  async function refreshItems(ids) {
    const response = await fetch(`/audits/${run}`, { credentials: "same-origin",
                                                   cache: "no-store" });
    if (!response.ok) return;
    const html = await response.text();
    if (A.refreshToken) A.refreshToken(html);
    const doc = new DOMParser().parseFromString(html, "text/html");
    const sections = new Set();
    for (const id of ids) {
      const fresh = doc.getElementById("item-" + id);
      if (fresh) morph(byId(id), fresh);
      else if (byId(id)) sections.add(byId(id).closest("section").dataset.section);
    }
    for (const section of sections) {
      const part = await fetch(`/audits/${run}/sections/${encodeURIComponent(section)}`,
                               { credentials: "same-origin", headers: { "HX-Request": "true" } });
      if (!part.ok) continue;
      const sdoc = new DOMParser().parseFromString(await part.text(), "text/html");
      for (const id of ids) {
        const fresh = sdoc.getElementById("item-" + id);
        if (fresh) morph(byId(id), fresh);
      }
    }
    morphProgress(doc);
    applyVisibility();
    await overlay(document.querySelectorAll("#run li.item"));
  }

  A.form = { run, swapItem, refreshItems };

  // ---- what the outbox holds, shown on the page -----------------------------------

  function setControls(li, values, comment) {
    if (values) {
      const form = li.querySelector("form.answer-form");
      if (form) {
        form.querySelectorAll('input[name="value"], textarea[name="value"]').forEach((input) => {
          if (input.type === "radio" || input.type === "checkbox") {
            input.checked = values.includes(input.value);
          } else if (document.activeElement !== input) {
            input.value = values[0] ?? "";
          }
        });
      }
    }
    if (comment !== undefined && comment !== null) {
      const text = li.querySelector('textarea[name="comment"]');
      if (text && document.activeElement !== text) text.value = comment;
      if (comment && text) text.closest("details").open = true;
    }
  }

  function setBase(li, version) {
    li.dataset.version = String(version);
    li.querySelectorAll('form.answer-form input[name="base_version"],'
                        + ' form.comment-form input[name="base_version"]')
      .forEach((input) => { input.value = String(version); });
  }

  function pendingThumb(li, entry) {
    let list = li.querySelector("ul.thumbs");
    if (!list) {
      list = document.createElement("ul");
      list.className = "thumbs";
      li.querySelector(".item-tools").before(list);
    }
    if (list.querySelector(`[data-entry="${entry.key}"]`)) return;
    const thumb = document.createElement("li");
    thumb.className = "pending";
    thumb.dataset.entry = entry.key;
    const img = document.createElement("img");
    img.src = URL.createObjectURL(entry.blob);
    img.alt = t("photo_waiting");
    img.width = img.height = 96;
    const badge = document.createElement("span");
    badge.className = "pending-badge";
    badge.textContent = "⏳";
    thumb.append(img, badge);
    list.appendChild(thumb);
  }

  // The page may come from the device's cache, older than what the server acknowledged
  // since (the acked store) and than what waits in the outbox: show the newest of each.
  async function overlay(items) {
    if (!A.entries) return;
    const pending = await A.entries(run);
    const answers = new Map(pending.filter((e) => e.kind === "answer").map((e) => [e.item, e]));
    pendingItems = new Set(pending.filter((e) => e.item).map((e) => e.item));
    const ackedNow = await A.ackedOf(run);
    for (const li of items) {
      const item = li.dataset.item;
      const known = ackedNow.get(item);
      if (known && known.version > Number(li.dataset.version || 0)) {
        setControls(li, known.values, known.comment);
        setBase(li, known.version);
      } else if (known) {
        await A.forgetAcked(run, item); // the page knows as much already
      }
      const entry = answers.get(item);
      if (entry) {
        setControls(li, entry.mode === "value" ? entry.values : null, entry.comment);
        setState(li, t("queued"), navigator.onLine === false);
      }
      for (const e of pending) {
        if (e.item !== item) continue;
        if (e.kind === "photo" && e.photoKind !== "signature") pendingThumb(li, e);
        if (e.kind === "photo" && e.photoKind === "signature") setState(li, t("queued"));
        if (e.kind === "remove") {
          const button = li.querySelector(`form[action$="/photos/${e.photo}/remove"]`);
          if (button) button.closest("li").hidden = true;
        }
      }
    }
    showCount(pending.length);
    applyVisibility();
    root.dataset.shown = "1"; // what the device holds is on the page (tests wait for it)
  }

  // The count of changes waiting shows in the bar while there are any; "all sent" is
  // only said to screen readers, so that the bar stays slim.
  function showCount(pending) {
    const status = document.getElementById("outbox-status");
    if (!status) return;
    status.classList.toggle("visually-hidden", !pending);
    status.hidden = !pending && !status.classList.contains("shown");
    if (!pending) {
      status.textContent = status.classList.contains("shown") ? t("all_sent") : "";
      return;
    }
    status.classList.add("shown");
    status.textContent = (pending === 1 ? t("waiting_one") : t("waiting_many", pending))
      + (navigator.onLine === false ? " · " + t("offline") : "");
  }

  document.addEventListener("outbox:changed", () => {
    if (!A.entries) return;
    A.entries(run).then((list) => {
      pendingItems = new Set(list.filter((e) => e.item).map((e) => e.item));
      showCount(list.length);
      readyBanner(list.some((e) => e.kind === "submit"));
    });
  });
  document.addEventListener("outbox:failed", () => {
    pendingItems.forEach((id) => setState(byId(id), t("queued"), true));
  });
  document.addEventListener("outbox:offline", () => {
    pendingItems.forEach((id) => setState(byId(id), t("queued"), true));
  });
  document.addEventListener("outbox:refused", (e) => {
    if (e.detail.run === run) setState(byId(e.detail.item), e.detail.message, true);
  });
  document.addEventListener("outbox:locked", (e) => {
    if (e.detail.run === run) window.location.reload();
  });

  // ---- capturing changes -------------------------------------------------------------

  function changeOf(form, extra) {
    const data = new FormData(form);
    const mode = data.get("mode") === "comment" ? "comment" : "value";
    const change = { mode, base: Number(data.get("base_version") || 0), ...extra };
    if (mode === "value") {
      change.values = data.getAll("value").map(String);
      change.multi = data.has("multi");
    }
    if (data.has("comment")) change.comment = String(data.get("comment"));
    return change;
  }

  async function record(form, extra) {
    const li = itemOf(form);
    if (!li || !A.queueAnswer) return;
    const item = li.dataset.item;
    const change = changeOf(form, extra);
    const known = await A.acked(run, item);
    if (!change.rebase && known && known.version > change.base) change.base = known.version;
    await A.queueAnswer(run, item, change);
    pendingItems.add(item);
    applyVisibility();
    setState(li, navigator.onLine === false ? t("queued") : t("saving"), false);
    A.flush();
  }

  const typing = new Map();
  document.addEventListener("input", (e) => {
    const input = e.target;
    if (input.matches('input[type="number"][name="value"]')) checkLimits(input);
    // What is typed is kept even if the page goes before the field is left.
    const form = input.closest && input.closest("form.answer-form, form.comment-form");
    if (!form || !input.matches("textarea, input[type=number], input[type=date]")) return;
    clearTimeout(typing.get(form));
    typing.set(form, setTimeout(() => record(form), 2000));
  });

  document.addEventListener("change", async (e) => {
    const input = e.target;
    if (input.matches(".photo-input")) return addPhotos(input);
    const form = input.closest && input.closest("form.answer-form, form.comment-form");
    if (!form) return;
    clearTimeout(typing.get(form));
    record(form);
  });

  document.addEventListener("submit", async (e) => {
    const form = e.target;
    if (form.matches("form.answer-form, form.comment-form")) {
      e.preventDefault();
      record(form);
    } else if (form.matches("form.keep-mine")) {
      e.preventDefault();
      const li = itemOf(form);
      await record(form, { rebase: true });
      const box = form.closest(".conflict");
      if (box) box.remove();
      li.classList.remove("has-conflict");
    } else if (form.matches("form.remove-photo-form")) {
      e.preventDefault();
      const button = form.querySelector("button");
      if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
      const li = itemOf(form);
      const photo = Number(form.action.split("/photos/")[1].split("/")[0]);
      await A.queue(`r|${run}|${photo}`, { kind: "remove", run, item: li.dataset.item, photo });
      form.closest("li").hidden = true;
      if (navigator.onLine === false) setState(li, t("remove_offline"));
      A.flush();
    } else if (form.matches("form.photo-form")) {
      e.preventDefault();
      addPhotos(form.querySelector(".photo-input"));
    }
  });

  document.addEventListener("click", (e) => {
    const dismiss = e.target.closest(".dismiss-conflict");
    if (dismiss) {
      e.preventDefault();
      const li = itemOf(dismiss);
      dismiss.closest(".conflict").remove();
      li.classList.remove("has-conflict");
      const control = li.querySelector("input:checked, input:not([type=hidden]), textarea");
      if (control) control.focus();
    }
  });

  // Photos: scaled down here (evidence.js), then queued with the answers: taken in a plant
  // room, they are sent from upstairs.
  async function addPhotos(input) {
    const li = itemOf(input);
    const files = Array.from(input.files || []);
    for (const file of files) {
      const shrink = window.Auditrail && window.Auditrail.shrinkImage;
      const blob = shrink ? await shrink(file) : file;
      const key = await A.queue(`p|${run}|${li.dataset.item}`, {
        kind: "photo", run, item: li.dataset.item, blob, name: file.name || "photo.jpg",
        photoKind: "photo",
      });
      pendingThumb(li, { key, blob });
      pendingItems.add(li.dataset.item);
    }
    input.value = "";
    setState(li, navigator.onLine === false ? t("queued") : t("uploading"));
    A.flush();
  }

  function initSignatures(scope) {
    scope.querySelectorAll("canvas.signature-pad").forEach((canvas) => {
      if (canvas.dataset.ready || !(window.Auditrail && window.Auditrail.signaturePad)) return;
      canvas.dataset.ready = "1";
      const pad = window.Auditrail.signaturePad(canvas);
      const block = canvas.closest(".signature-block");
      block.querySelector(".signature-clear").addEventListener("click", () => pad.clear());
      block.querySelector(".signature-save").addEventListener("click", async (ev) => {
        if (pad.isEmpty()) return;
        const li = itemOf(ev.currentTarget);
        await A.queue(`p|${run}|${li.dataset.item}`, {
          kind: "photo", run, item: li.dataset.item, blob: await pad.toBlob(),
          name: "signature.png", photoKind: "signature",
        });
        setState(li, navigator.onLine === false ? t("queued") : t("uploading"));
        A.flush();
      });
    });
  }

  // ---- getting around: next unanswered, sections, the skip link ----------------------

  function runbarHeight() {
    const bar = document.getElementById("runbar");
    if (!bar) return;
    const set = () => document.documentElement.style.setProperty(
      "--runbar-h", `${Math.ceil(bar.getBoundingClientRect().height)}px`);
    set();
    if (window.ResizeObserver) new ResizeObserver(set).observe(bar);
  }

  // What still blocks submit, as the server last said, less what this device has answered
  // since (offline the server cannot say).
  function nextUnanswered() {
    const progress = document.getElementById("progress");
    const missing = (progress.dataset.missing || "").split(/\s+/).filter(Boolean);
    const hidden = new Set((progress.dataset.hidden || "").split(/\s+/).filter(Boolean));
    return missing.find((id) => !hidden.has(id) && !pendingItems.has(id)) || null;
  }

  function updateSkip() {
    const next = nextUnanswered();
    for (const id of ["next-unanswered", "skip-unanswered"]) {
      const link = document.getElementById(id);
      if (!link) continue;
      link.hidden = !next;
      if (next) link.setAttribute("href", "#item-" + next);
    }
  }

  function focusItem(li) {
    // land below the run bar (scroll-margin-top), then on the item's first control
    li.scrollIntoView({ block: "start", behavior: "instant" });
    const control = li.querySelector("input:checked:not([type=hidden]):not([disabled])")
      || li.querySelector("input:not([type=hidden]):not([disabled]), textarea:not([disabled]),"
                          + " button:not([disabled]), summary");
    (control || li).focus({ preventScroll: true });
  }

  // Jumping to an item in a section that has not loaded yet: load it, then go there.
  function goTo(itemId) {
    const li = byId(itemId);
    if (li) { focusItem(li); return; }
    const lazy = Array.from(document.querySelectorAll("section.lazy"))
      .find((s) => (s.dataset.items || "").split(/\s+/).includes(itemId));
    if (!lazy) return;
    const onSettle = () => {
      const target = byId(itemId);
      if (target) {
        document.removeEventListener("htmx:afterSettle", onSettle);
        focusItem(target);
      }
    };
    document.addEventListener("htmx:afterSettle", onSettle);
    htmx.trigger(lazy, "load-now");
  }

  document.addEventListener("click", (e) => {
    const link = e.target.closest && e.target.closest("a");
    if (!link) return;
    if (link.id === "next-unanswered" || link.id === "skip-unanswered") {
      e.preventDefault();
      const id = nextUnanswered() || link.hash.slice("#item-".length);
      if (id) goTo(id);
      return;
    }
    if (link.closest(".section-list")) {
      const menu = link.closest("details");
      setTimeout(() => { menu.open = false; }, 0);
      const section = document.getElementById(link.hash.slice(1));
      if (section && section.classList.contains("lazy")) htmx.trigger(section, "load-now");
      return;
    }
    if ((link.id === "review-link" || link.id === "review-bottom") && navigator.onLine === false) {
      e.preventDefault();
      openSign();
      return;
    }
    if (link.hash.startsWith("#item-") && link.pathname === window.location.pathname) {
      const id = decodeURIComponent(link.hash.slice("#item-".length));
      if (!byId(id)) { e.preventDefault(); goTo(id); }
    }
  });

  document.addEventListener("keydown", (e) => {
    const menu = document.getElementById("section-menu");
    if (e.key === "Escape" && menu && menu.open) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });

  // ---- signing without a network, and logging in again --------------------------------

  function readyBanner(ready) {
    const banner = document.getElementById("ready-banner");
    if (!banner) return;
    banner.hidden = !ready;
    if (ready) banner.textContent = A.passwords && A.passwords.has(run) ? t("ready")
      : t("ready_needs_password");
  }

  function openSign(error) {
    const dialog = document.getElementById("sign-dialog");
    if (!dialog || dialog.open) return;
    const message = document.getElementById("sign-error");
    message.hidden = !error;
    message.textContent = error || "";
    dialog.showModal();
  }

  document.getElementById("sign-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const dialog = document.getElementById("sign-dialog");
    const field = e.target.querySelector('input[name="password"]');
    if (e.submitter && e.submitter.value === "cancel") {
      // not now: no longer marked ready to submit (Review signs again)
      dialog.close();
      A.passwords.delete(run);
      await A.drop(`s|${run}`);
      readyBanner(false);
      return;
    }
    if (!field.value) { field.focus(); return; }
    A.passwords.set(run, field.value);
    field.value = "";
    dialog.close();
    await A.queueSubmit(run);
    readyBanner(true);
    A.flush();
  });

  document.addEventListener("outbox:password-needed", (e) => {
    if (e.detail.run !== run) return;
    readyBanner(true);
    openSign(e.detail.wrong ? t("wrong_password") : "");
  });
  document.addEventListener("outbox:submitting", (e) => {
    const banner = document.getElementById("ready-banner");
    if (e.detail.run === run && banner) banner.textContent = t("submitting");
  });
  document.addEventListener("outbox:submitted", (e) => {
    if (e.detail.run === run) window.location.href = e.detail.url;
  });
  document.addEventListener("outbox:submit-refused", (e) => {
    if (e.detail.run === run) window.location.href = e.detail.url;
  });

  document.addEventListener("outbox:login-needed", () => {
    pendingItems.forEach((id) => setState(byId(id), t("queued"), true));
    const dialog = document.getElementById("reauth-dialog");
    if (!dialog || dialog.open) return;
    document.getElementById("reauth-error").hidden = true;
    dialog.showModal();
    dialog.querySelector('input[name="password"]').focus();
  });

  document.getElementById("reauth-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const dialog = document.getElementById("reauth-dialog");
    const form = e.target;
    if (e.submitter && e.submitter.value === "later") { dialog.close(); return; }
    const login = form.querySelector('input[name="login"]').value;
    const password = form.querySelector('input[name="password"]');
    let ok = false;
    try { ok = await A.logIn(login, password.value); } catch (err) { ok = false; }
    if (!ok) {
      const message = document.getElementById("reauth-error");
      message.hidden = false;
      message.textContent = t("login_failed");
      password.focus();
      return;
    }
    password.value = "";
    dialog.close();
    A.unblock();
  });

  // A lazily loaded section whose request met an ended session: the dialog, not a jump
  // to the login page (which would leave the form).
  document.addEventListener("htmx:beforeOnLoad", (e) => {
    if (e.detail.xhr && e.detail.xhr.status === 401) {
      e.preventDefault();
      document.dispatchEvent(new CustomEvent("outbox:login-needed", { detail: {} }));
    }
  });

  // ---- keeping this form on the device ----------------------------------------------

  async function showStored() {
    const state = document.getElementById("offline-state");
    const stored = A.storedRun ? await A.storedRun(run) : null;
    if (state && stored) {
      state.textContent = `${t("stored")} ✓ · ${Math.max(1, Math.round(stored.bytes / 1024))} kB`;
    }
  }

  async function takeOffline(quiet) {
    const state = document.getElementById("offline-state");
    if (!quiet && state) state.textContent = t("storing");
    try {
      await A.takeOffline(run);
    } catch (err) {
      if (!quiet && state) state.textContent = t("store_failed");
      return;
    }
    showStored();
  }

  document.addEventListener("htmx:afterSettle", (e) => {
    applyVisibility();
    const scope = e.detail.elt && e.detail.elt.querySelectorAll ? e.detail.elt : document;
    const items = scope.matches && scope.matches("li.item") ? [scope]
      : scope.querySelectorAll("li.item");
    if (items.length) overlay(items);
  });
  document.addEventListener("htmx:load", (e) => initSignatures(e.detail.elt));

  function start() {
    document.documentElement.classList.add("js");
    applyVisibility();
    initSignatures(document);
    runbarHeight();
    document.querySelectorAll('input[type="number"][name="value"]').forEach(checkLimits);
    overlay(document.querySelectorAll("#run li.item")).then(updateSkip);
    if (window.location.hash.startsWith("#item-")) {
      const id = decodeURIComponent(window.location.hash.slice(6));
      if (!byId(id)) goTo(id);
    }
    const tools = document.getElementById("offline-tools");
    if (tools && A.takeOffline && "caches" in window && "serviceWorker" in navigator) {
      tools.hidden = false;
      document.getElementById("take-offline").addEventListener("click", () => takeOffline(false));
      showStored();
      // Any form opened is kept: the network may be gone by the next room.
      if (navigator.onLine !== false) setTimeout(() => takeOffline(true), 800);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
