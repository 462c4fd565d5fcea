// Keeps the checkpoint usable offline: pages are fetched from the network when it is there
// (and kept), from the cache when it is not; hashed assets are immutable, so cache first.
const CACHE = "gantong-checkpoint-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(
  // Drop the caches of earlier versions of this worker, and only those: caches belong to the
  // origin, and the resident's kept code page (holder-sw.js) and queued check-ins (visit-sw.js)
  // may be on the same phone.
  caches.keys()
    .then((names) => Promise.all(names
      .filter((name) => name.startsWith("gantong-checkpoint-") && name !== CACHE)
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
  } else if (request.mode === "navigate" && url.pathname.startsWith("/checkpoint/")) {
    event.respondWith(fetch(request).then((response) => {
      if (response.ok && !response.redirected) {
        const copy = response.clone();
        caches.open(CACHE).then((cache) => cache.put(request, copy));
      }
      return response;
    }).catch(async () => {
      const cache = await caches.open(CACHE);
      return (await cache.match(request)) || (await cache.match("/checkpoint/")) || Response.error();
    }));
  }
});
