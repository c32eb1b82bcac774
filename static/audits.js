// The audit form: autosave feedback and retry, show_if visibility, number limit warnings,
// photo uploads (scaled down in the browser), signatures, and edit conflicts.
"use strict";
(function () {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const retries = new Map(); // item id -> attempt count

  function itemOf(el) { return el && el.closest && el.closest("li.item"); }

  function setState(li, text, isError) {
    const state = li && li.querySelector(".save-state");
    if (!state) return;
    state.textContent = text;
    state.classList.toggle("error", !!isError);
  }

  // Items hidden by show_if: the server sends the list with every save (#progress data-hidden).
  function applyVisibility() {
    const progress = document.getElementById("progress");
    if (!progress) return;
    const hidden = new Set((progress.dataset.hidden || "").split(/\s+/).filter(Boolean));
    document.querySelectorAll("#run li.item").forEach((li) => {
      li.hidden = hidden.has(li.dataset.item);
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

  const banner = () => document.getElementById("offline-banner");
  function pending() { return retries.size; }

  function scheduleRetry(itemId, form) {
    const attempt = (retries.get(itemId) || 0) + 1;
    retries.set(itemId, attempt);
    if (banner()) banner().hidden = false;
    const delay = Math.min(30000, 1000 * 2 ** Math.min(attempt, 5));
    setState(document.getElementById("item-" + itemId), document.documentElement.lang === "en"
      ? "Not saved – retrying…" : "未保存，正在重试…", true);
    setTimeout(() => {
      // The failed request swapped nothing, so the form still holds what was entered.
      if (document.body.contains(form)) htmx.trigger(form, "change");
      else retries.delete(itemId);
    }, delay);
  }

  document.addEventListener("htmx:beforeRequest", (e) => {
    const li = itemOf(e.detail.elt);
    if (li) setState(li, document.documentElement.lang === "en" ? "Saving…" : "正在保存…", false);
  });

  document.addEventListener("htmx:afterRequest", (e) => {
    const form = (e.detail.requestConfig && e.detail.requestConfig.elt) || e.detail.elt;
    const li = itemOf(form) || itemOf(e.detail.elt);
    if (!li || !form || form.tagName !== "FORM") return;
    const itemId = li.dataset.item;
    const status = e.detail.xhr ? e.detail.xhr.status : 0;
    if (e.detail.successful || status === 409 || status === 413 || status === 415
        || status === 422) {
      retries.delete(itemId);
      if (banner() && pending() === 0) banner().hidden = true;
    } else if (status === 0 || status >= 500) {
      // Network gone or the server failed: never silent, and try again.
      scheduleRetry(itemId, form);
    }
  });

  document.addEventListener("htmx:afterSettle", () => { applyVisibility(); });

  document.addEventListener("input", (e) => {
    if (e.target.matches('input[type="number"][name="value"]')) checkLimits(e.target);
  });

  document.addEventListener("click", (e) => {
    const dismiss = e.target.closest(".dismiss-conflict");
    if (dismiss) dismiss.closest(".conflict").remove();
  });

  // Item ids may contain dots (PS1.03), so items are found by DOM position or by
  // getElementById, never by a CSS id selector.
  async function upload(url, li, blob, name) {
    const body = new FormData();
    body.append("file", blob, name);
    setState(li, document.documentElement.lang === "en" ? "Uploading…" : "正在上传…", false);
    let response;
    try {
      response = await fetch(url, {
        method: "POST", body, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), "HX-Request": "true" },
      });
    } catch (err) {
      setState(li, document.documentElement.lang === "en"
        ? "Upload failed: no connection. Try again." : "上传失败：网络中断，请重试。", true);
      return;
    }
    const html = await response.text();
    if (response.status === 401) { window.location.reload(); return; }
    if (html && response.status < 500) {
      htmx.swap(li, html, { swapStyle: "outerHTML" });
      applyVisibility();
    } else {
      setState(li, document.documentElement.lang === "en"
        ? "Upload failed. Try again." : "上传失败，请重试。", true);
    }
  }

  document.addEventListener("change", async (e) => {
    const input = e.target;
    if (!input.matches(".photo-input")) return;
    const files = Array.from(input.files || []);
    for (const file of files) {
      const shrink = window.Auditrail && window.Auditrail.shrinkImage;
      const blob = shrink ? await shrink(file) : file;
      await upload(input.dataset.url, itemOf(input), blob, file.name || "photo.jpg");
    }
  });

  function initSignatures(root) {
    root.querySelectorAll("canvas.signature-pad").forEach((canvas) => {
      if (canvas.dataset.ready || !(window.Auditrail && window.Auditrail.signaturePad)) return;
      canvas.dataset.ready = "1";
      const pad = window.Auditrail.signaturePad(canvas);
      const block = canvas.closest(".signature-block");
      block.querySelector(".signature-clear").addEventListener("click", () => pad.clear());
      block.querySelector(".signature-save").addEventListener("click", async (ev) => {
        if (pad.isEmpty()) return;
        const btn = ev.currentTarget;
        await upload(btn.dataset.url, itemOf(btn), await pad.toBlob(), "signature.png");
      });
    });
  }

  // Jumping to an item in a section that has not loaded yet: load it, then scroll.
  function reveal(itemId) {
    if (document.getElementById("item-" + itemId)) return false;
    const lazy = Array.from(document.querySelectorAll("section.lazy"))
      .find((s) => (s.dataset.items || "").split(/\s+/).includes(itemId));
    if (!lazy) return false;
    const onSettle = () => {
      const target = document.getElementById("item-" + itemId);
      if (target) {
        document.removeEventListener("htmx:afterSettle", onSettle);
        target.scrollIntoView();
      }
    };
    document.addEventListener("htmx:afterSettle", onSettle);
    htmx.trigger(lazy, "load-now");
    return true;
  }

  document.addEventListener("click", (e) => {
    const link = e.target.closest('a[href*="#item-"]');
    if (link && link.pathname === window.location.pathname) {
      const id = link.hash.slice("#item-".length);
      if (reveal(id)) e.preventDefault();
    }
  });

  document.addEventListener("htmx:load", (e) => initSignatures(e.detail.elt));
  document.addEventListener("DOMContentLoaded", () => {
    applyVisibility();
    initSignatures(document);
    if (window.location.hash.startsWith("#item-")) reveal(window.location.hash.slice(6));
    document.querySelectorAll('input[type="number"][name="value"]').forEach(checkLimits);
  });
})();
