// The service worker of /v/ (venue check-ins): a venue's link opened without a network gets the
// kept offline page, which queues the check-in on the phone with its time (visit-queue.js).
// Hashed assets are immutable: cache first.
const CACHE = "gantong-visit-v1";
const SHELL = "/v/offline";

self.addEventListener("install", (event) => event.waitUntil((async () => {
  const cache = await caches.open(CACHE);
  const response = await fetch(SHELL, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`offline page: HTTP ${response.status}`);
  const html = await response.clone().text();
  await cache.put(SHELL, response);
  // The page's own scripts and styles, by their hashed URLs.
  const assets = [...html.matchAll(/(?:src|href)="(\/a\/[^"]+)"/g)].map((match) => match[1]);
  await cache.addAll(assets);
  await self.skipWaiting();
})()));

self.addEventListener("activate", (event) => event.waitUntil(
  caches.keys()
    .then((names) => Promise.all(names.filter((name) => name.startsWith("gantong-visit-") && name !== CACHE)
      .map((name) => caches.delete(name))))
    .then(() => self.clients.claim())));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/a/")) {
    event.respondWith(caches.open(CACHE).then(async (cache) => {
      const hit = await cache.match(request);
      if (hit) return hit;
      const response = await fetch(request);
      if (response.ok) cache.put(request, response.clone());
      return response;
    }));
  } else if (request.mode === "navigate" && url.pathname.startsWith("/v/")) {
    event.respondWith(fetch(request).catch(async () => {
      const cache = await caches.open(CACHE);
      return (await cache.match(SHELL)) || Response.error();
    }));
  }
});
