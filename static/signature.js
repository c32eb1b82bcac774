// Auditrail signature pad: sign with a finger, a pen or a mouse on a <canvas>.
//
//   <script src="/static/signature.js" defer></script>
//   <canvas class="signature-pad" aria-label="{{ _('Signature') }}"></canvas>
//
//   const pad = Auditrail.signaturePad(canvas, { color: "#111", lineWidth: 2.5 });
//   pad.isEmpty();            // true until something is drawn
//   pad.clear();              // start again
//   const png = await pad.toBlob();   // transparent PNG, longest side <= 2000 px
//   pad.destroy();            // before htmx swaps the canvas out (optional)
//
// Auditrail.signaturePad(canvas, options?) -> {clear(), isEmpty(), toBlob(): Promise<Blob>,
//   destroy()}
// - Pointer events (one pointer at a time: a resting palm or a second finger is ignored),
//   coalesced events for fast strokes, and lines smoothed with quadratic curves through
//   the midpoints; a pen's pressure varies the width a little.
// - Sharp on every screen: the canvas's pixel size follows its CSS size times
//   devicePixelRatio; on a resize or rotation (ResizeObserver, else window resize) the
//   drawing is redrawn, scaled with the width, so nothing is lost.
// - The canvas gets the class "signature-pad". Its stylesheet must hold
//   `.signature-pad { touch-action: none; }` (plus a size, e.g. width: 100%; height: 12rem)
//   so that drawing does not scroll the page; CSP forbids inline styles. Non-passive
//   touch listeners stop the scrolling too, where the rule is missing.
// - After every finished stroke and every clear(), the canvas fires "signature:change"
//   (detail: {empty}), e.g. to enable the sign button.
// - toBlob() draws the strokes again on a fresh canvas (<= 2000 px: the server takes up to
//   4000x4000), so the export does not depend on the screen's pixel ratio.
"use strict";

window.Auditrail = window.Auditrail || {};

(function (Auditrail) {
  const EXPORT_MAX_SIDE = 2000;
  const MAX_BACKING_SIDE = 4096;
  const MIN_STEP = 0.75; // CSS px: closer points add nothing but jitter

  // Stroke one segment list: a dot for a tap, else quadratic curves through the midpoints.
  function drawStroke(ctx, stroke, from) {
    const pts = stroke.points;
    if (pts.length === 1) {
      if (from > 0) return;
      ctx.beginPath();
      ctx.arc(pts[0].x, pts[0].y, pts[0].w / 2, 0, Math.PI * 2);
      ctx.fill();
      return;
    }
    for (let i = Math.max(1, from); i < pts.length; i++) {
      const prev = pts[i - 1];
      const cur = pts[i];
      const start = i === 1 ? prev : midpoint(pts[i - 2], prev);
      const end = midpoint(prev, cur);
      ctx.beginPath();
      ctx.lineWidth = (prev.w + cur.w) / 2;
      ctx.moveTo(start.x, start.y);
      ctx.quadraticCurveTo(prev.x, prev.y, end.x, end.y);
      if (i === pts.length - 1 && stroke.done) ctx.lineTo(cur.x, cur.y);
      ctx.stroke();
    }
  }

  function midpoint(a, b) {
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  }

  function prepare(ctx, color) {
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
  }

  function signaturePad(canvas, options = {}) {
    const color = options.color || "#111";
    const lineWidth = options.lineWidth || 2.5;
    const ctx = canvas.getContext("2d");
    canvas.classList.add("signature-pad");

    let strokes = [];
    let current = null;
    let activePointer = null;
    let cssWidth = 0;
    let cssHeight = 0;

    function redraw() {
      const ratio = canvas.width / (cssWidth || 1);
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      prepare(ctx, color);
      for (const stroke of strokes) drawStroke(ctx, stroke, 0);
    }

    function fitToLayout() {
      const width = canvas.clientWidth;
      const height = canvas.clientHeight;
      if (!width || !height) return; // hidden (collapsed section): keep what we have
      if (cssWidth && width !== cssWidth) {
        const factor = width / cssWidth; // scale the drawing with the pad's width
        for (const stroke of strokes) {
          for (const p of stroke.points) {
            p.x *= factor;
            p.y *= factor;
            p.w *= factor;
          }
        }
      }
      cssWidth = width;
      cssHeight = height;
      let dpr = window.devicePixelRatio || 1;
      dpr = Math.min(dpr, MAX_BACKING_SIDE / Math.max(width, height));
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      redraw();
    }

    function changed() {
      canvas.dispatchEvent(new CustomEvent("signature:change", {
        bubbles: true, detail: { empty: strokes.length === 0 },
      }));
    }

    function pointFrom(event) {
      const rect = canvas.getBoundingClientRect();
      // rect includes the border; clientLeft/Top is its width
      const scaleX = cssWidth && rect.width ? cssWidth / (rect.width - 2 * canvas.clientLeft) : 1;
      const scaleY = cssHeight && rect.height ? cssHeight / (rect.height - 2 * canvas.clientTop) : 1;
      const pressure = event.pointerType === "pen" && event.pressure > 0 ? event.pressure : 0.5;
      return {
        x: (event.clientX - rect.left - canvas.clientLeft) * scaleX,
        y: (event.clientY - rect.top - canvas.clientTop) * scaleY,
        w: lineWidth * (0.6 + 0.8 * pressure),
      };
    }

    function onDown(event) {
      if (activePointer !== null) return; // a second finger or a resting palm
      if (event.pointerType === "mouse" && event.button !== 0) return;
      if (!cssWidth) fitToLayout();
      event.preventDefault();
      activePointer = event.pointerId;
      try {
        canvas.setPointerCapture(event.pointerId);
      } catch (error) {
        // capture is a nicety (strokes leaving the pad); drawing works without it
      }
      current = { points: [pointFrom(event)], done: false };
      strokes.push(current);
      prepare(ctx, color);
      drawStroke(ctx, current, 0);
    }

    function onMove(event) {
      if (event.pointerId !== activePointer || !current) return;
      event.preventDefault();
      const coalesced = typeof event.getCoalescedEvents === "function"
        ? event.getCoalescedEvents() : [];
      const pts = current.points;
      const before = pts.length;
      for (const e of coalesced.length ? coalesced : [event]) {
        const p = pointFrom(e);
        const last = pts[pts.length - 1];
        if (Math.hypot(p.x - last.x, p.y - last.y) >= MIN_STEP) pts.push(p);
      }
      if (pts.length > before) {
        prepare(ctx, color);
        drawStroke(ctx, current, before);
      }
    }

    function onUp(event) {
      if (event.pointerId !== activePointer) return;
      activePointer = null;
      if (current) {
        current.done = true;
        const pts = current.points;
        if (pts.length > 1) { // the curves end at the last midpoint: draw on to the end
          const from = midpoint(pts[pts.length - 2], pts[pts.length - 1]);
          const end = pts[pts.length - 1];
          prepare(ctx, color);
          ctx.beginPath();
          ctx.lineWidth = end.w;
          ctx.moveTo(from.x, from.y);
          ctx.lineTo(end.x, end.y);
          ctx.stroke();
        }
      }
      current = null;
      changed();
    }

    const stopScroll = (event) => event.preventDefault();
    const listeners = [
      ["pointerdown", onDown],
      ["pointermove", onMove],
      ["pointerup", onUp],
      ["pointercancel", onUp],
      ["lostpointercapture", onUp],
      ["touchstart", stopScroll, { passive: false }],
      ["touchmove", stopScroll, { passive: false }],
    ];
    for (const [type, fn, opts] of listeners) canvas.addEventListener(type, fn, opts);

    let observer = null;
    if (typeof ResizeObserver === "function") {
      observer = new ResizeObserver(() => fitToLayout());
      observer.observe(canvas);
    } else {
      window.addEventListener("resize", fitToLayout);
    }
    fitToLayout();

    return {
      clear() {
        strokes = [];
        current = null;
        redraw();
        changed();
      },

      isEmpty() {
        return strokes.length === 0;
      },

      toBlob() {
        return new Promise((resolve, reject) => {
          const width = cssWidth || canvas.clientWidth || canvas.width;
          const height = cssHeight || canvas.clientHeight || canvas.height;
          const scale = Math.min(Math.max(window.devicePixelRatio || 1, 1),
            EXPORT_MAX_SIDE / Math.max(width, height, 1));
          const out = document.createElement("canvas");
          out.width = Math.max(1, Math.round(width * scale));
          out.height = Math.max(1, Math.round(height * scale));
          const octx = out.getContext("2d");
          octx.setTransform(scale, 0, 0, scale, 0, 0);
          prepare(octx, color);
          for (const stroke of strokes) drawStroke(octx, { ...stroke, done: true }, 0);
          out.toBlob((blob) => {
            out.width = out.height = 0;
            if (blob) resolve(blob);
            else reject(new Error("the signature could not be exported"));
          }, "image/png");
        });
      },

      destroy() {
        for (const [type, fn, opts] of listeners) canvas.removeEventListener(type, fn, opts);
        if (observer) observer.disconnect();
        else window.removeEventListener("resize", fitToLayout);
      },
    };
  }

  Auditrail.signaturePad = signaturePad;
})(window.Auditrail);
