// Auditrail's service worker, built on the vendored Workbox runtime (scripts/vendor-js).
// Served at /sw.js (server/web/offline.py) so that its scope is the whole site; the server
// puts the precache list (every static file with its MD5) in place of the placeholder below.
//
// - App shell: every static file precached at install, served from the cache.
// - Forms taken offline (the page, its lazily loaded sections, its photos' thumbnails) in
//   the "auditrail-runs" cache: network first, the stored copy when there is no network.
//   static/offline.js fills that cache ("Take offline"); the answers made meanwhile live
//   in the page's outbox (IndexedDB), never here.
// - Other pages: network first, the last 60 seen kept; a page never stored gets /offline.
// Writes (POST) are never touched: the page's outbox sends them and keeps them until the
// server has acknowledged each one.
/* global importScripts, workbox */
"use strict";

importScripts("/static/vendor/workbox-7.4.1/workbox-sw.js");
workbox.setConfig({ debug: false, modulePathPrefix: "/static/vendor/workbox-7.4.1/" });

const { precacheAndRoute, cleanupOutdatedCaches } = workbox.precaching;
const { registerRoute, setCatchHandler } = workbox.routing;
const { NetworkFirst, CacheFirst } = workbox.strategies;
const { CacheableResponsePlugin } = workbox.cacheableResponse;
const { ExpirationPlugin } = workbox.expiration;

const RUNS = "auditrail-runs";
const PAGES = "auditrail-pages";
const OFFLINE_PAGE = "/offline";
const RUN_PAGE = /^\/audits\/\d+(\/sections\/[^/]+)?$/;
const THUMB = /^\/audits\/\d+\/photos\/\d+\/thumb$/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(PAGES).then((cache) => cache.add(OFFLINE_PAGE)));
  self.skipWaiting();
});
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

// One stored copy per page whatever its query (?saved=, ?all=1 are the same form).
const withoutQuery = {
  cacheKeyWillBeUsed: async ({ request }) => {
    const url = new URL(request.url);
    url.search = "";
    return url.href;
  },
};
// Pages vary on the cookie and the language; a device has one user at a time (logging
// out empties these caches), so the stored copy answers whatever the headers.
const matchOptions = { ignoreVary: true };
const onlyOk = new CacheableResponsePlugin({ statuses: [200] });

registerRoute(
  ({ request, url }) => request.method === "GET" && url.origin === self.location.origin
    && RUN_PAGE.test(url.pathname),
  // A weak signal in a plant room: wait a few seconds, then show the stored copy.
  new NetworkFirst({ cacheName: RUNS, networkTimeoutSeconds: 4, matchOptions,
                     plugins: [withoutQuery, onlyOk] }),
);

registerRoute(
  ({ request, url }) => request.method === "GET" && THUMB.test(url.pathname),
  new CacheFirst({ cacheName: RUNS, matchOptions, plugins: [onlyOk] }),
);

registerRoute(
  ({ request, url }) => request.mode === "navigate" && url.origin === self.location.origin
    && !url.pathname.startsWith("/api/"),
  new NetworkFirst({ cacheName: PAGES, networkTimeoutSeconds: 4, matchOptions, plugins: [
    withoutQuery, onlyOk, new ExpirationPlugin({ maxEntries: 60 }),
  ] }),
);

setCatchHandler(async ({ request }) => {
  if (request.mode === "navigate") {
    const page = await caches.match(OFFLINE_PAGE, { ignoreVary: true });
    if (page) return page;
  }
  return Response.error();
});
