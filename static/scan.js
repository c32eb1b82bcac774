// The Scan page: the camera reads an asset label's QR code and opens the asset.
// BarcodeDetector where the browser has it, the vendored jsQR decoder otherwise.
// Only codes that point at this app's /a/<code> page (or a bare asset code) are followed.
"use strict";

(() => {
  const root = document.getElementById("scanner");
  if (!root) return;
  const video = document.getElementById("scan-video");
  const status = document.getElementById("scan-status");
  const startButton = document.getElementById("scan-start");
  const stopButton = document.getElementById("scan-stop");
  const CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$/;
  let stream = null;
  let timer = null;
  let busy = false;

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  function basePath() {
    try {
      return new URL(root.dataset.baseUrl).pathname.replace(/\/+$/, "");
    } catch (err) {
      return "";
    }
  }

  // The local path to open for a scanned text, or null when it is not ours.
  function assetPath(text) {
    const value = (text || "").trim();
    if (CODE.test(value)) return "/a/" + encodeURIComponent(value.toUpperCase());
    let url;
    try {
      url = new URL(value);
    } catch (err) {
      return null;
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    const origins = [window.location.origin];
    try { origins.push(new URL(root.dataset.baseUrl).origin); } catch (err) { /* no base URL */ }
    if (!origins.includes(url.origin)) return null;
    const prefix = url.origin === window.location.origin ? "" : basePath();
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : "";
    const match = /^\/a\/([^/]+)\/?$/.exec(path);
    if (!match) return null;
    let code;
    try {
      code = decodeURIComponent(match[1]);
    } catch (err) {
      return null;
    }
    return CODE.test(code) ? "/a/" + encodeURIComponent(code.toUpperCase()) : null;
  }

  function stop() {
    if (timer) window.clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.hidden = true;
    startButton.hidden = false;
    stopButton.hidden = true;
  }

  function found(text) {
    const path = assetPath(text);
    if (path) {
      say(root.dataset.msgFound);
      stop();
      window.location.assign(path);
      return true;
    }
    say(root.dataset.msgForeign + " " + String(text).slice(0, 120), true);
    return false;
  }

  function loadJsQR() {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = root.dataset.decoder;
      script.onload = () => (window.jsQR ? resolve(window.jsQR) : reject(new Error("jsQR")));
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  async function makeDecoder() {
    if ("BarcodeDetector" in window) {
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) {
          const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          return async () => {
            const codes = await detector.detect(video);
            return codes.length ? codes[0].rawValue : null;
          };
        }
      } catch (err) { /* fall back to jsQR */ }
    }
    const jsQR = await loadJsQR();
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    return async () => {
      const width = video.videoWidth;
      const height = video.videoHeight;
      if (!width || !height) return null;
      const scale = Math.min(1, 720 / Math.max(width, height));
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      const result = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      return result ? result.data : null;
    };
  }

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(root.dataset.msgUnsupported, true);
      document.getElementById("code-input").focus();
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } },
        audio: false,
      });
    } catch (err) {
      say(root.dataset.msgDenied, true);
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    startButton.hidden = true;
    stopButton.hidden = false;
    try {
      await video.play();
    } catch (err) { /* some browsers start on their own once visible */ }
    say(root.dataset.msgLooking);
    let decode;
    try {
      decode = await makeDecoder();
    } catch (err) {
      stop();
      say(root.dataset.msgUnsupported, true);
      return;
    }
    let lastForeign = "";
    const tick = async () => {
      if (!stream) return;
      if (!busy) {
        busy = true;
        try {
          const text = await decode();
          if (text && text !== lastForeign && !found(text)) lastForeign = text;
        } catch (err) { /* a frame that could not be read: try the next */ }
        busy = false;
      }
      if (stream) timer = window.setTimeout(tick, 200);
    };
    tick();
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  window.addEventListener("pagehide", stop);
  // Exposed for tests: what a scanned text would open.
  window.auditrailAssetPath = assetPath;
  // One tap from the menu: start at once where the camera is already allowed.
  if (navigator.permissions && navigator.permissions.query) {
    navigator.permissions.query({ name: "camera" })
      .then((result) => { if (result.state === "granted") start(); })
      .catch(() => {});
  }
})();
