// Auditrail page behaviour. Loaded on every page; no inline scripts (CSP).
"use strict";

// Styles that only make sense with scripts on (e.g. <noscript> fallbacks inside swapped
// fragments, which a parser without scripting turns into live elements).
document.documentElement.classList.add("js");

// Every htmx request carries the page's CSRF token as a header.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
});
