// Keeps the resident's code page openable with no network, from a cold start: the page is
// fetched from the network when it is there (and kept), from the cache when it is not, so an
// underground station shows the code (which holder-code.js redraws from the phone's own
// credential), never the browser's error page. Hashed assets are immutable: cache first.
const CACHE = "gantong-holder-v1";
// The code page of one person, and the resident's landing that redirects to it.
const CODE_PAGE = /^\/me\/people\/\d+$/;
const LANDING = /^\/me\/(code)?$/;
// The last code page seen, served for the landing (and for a person never opened here).
const LAST = "/me/__last-code-page";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(
  caches.keys()
    .then((names) => Promise.all(names
      .filter((name) => name.startsWith("gantong-holder-") && name !== CACHE)
      .map((name) => caches.delete(name))))
    .then(() => self.clients.claim())));

const offlinePage = () => new Response(
  "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
  "<title>Gantong Code</title><p>离线：此手机尚未保存健康码。联网后打开一次。</p>" +
  "<p lang=en>Offline: this phone has no code saved yet. Open it once online.</p>",
  { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });

async function fromCache(path) {
  const cache = await caches.open(CACHE);
  return (await cache.match(path, { ignoreVary: true, ignoreSearch: true }))
    || (await cache.match(LAST, { ignoreVary: true })) || offlinePage();
}

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
  } else if (request.mode === "navigate" && CODE_PAGE.test(url.pathname)) {
    event.respondWith(fetch(request).then((response) => {
      // A redirect (to the login page) is not the code: keep the last good copy.
      if (response.ok && !response.redirected && response.type === "basic") {
        const first = response.clone();
        const second = response.clone();
        caches.open(CACHE).then((cache) => Promise.all([
          cache.put(url.pathname, first), cache.put(LAST, second)]));
      }
      return response;
    }).catch(() => fromCache(url.pathname)));
  } else if (request.mode === "navigate" && LANDING.test(url.pathname)) {
    event.respondWith(fetch(request).catch(() => fromCache(LAST)));
  }
});
