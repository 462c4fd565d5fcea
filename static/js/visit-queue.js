// Venue check-ins made without a network: the offline page (kept by visit-sw.js) saves the
// check-in in localStorage with the time it happened; this script, on any /v/ page, sends what
// waits when the network returns. The server stores each visit id once.
// A classic script (it reads document.currentScript); the arrow IIFE keeps its names private.
(() => {
  const script = document.currentScript;
  const KEY = "gantong-visit-queue";
  const CODE = /^\/v\/([2-9a-hjkmnp-z]{16})$/;
  const shown = new Set(); // visit ids this page queued, to say when they have arrived

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || []; } catch (_) { return []; }
  }
  function save(items) { localStorage.setItem(KEY, JSON.stringify(items)); }
  function newId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  function render() {
    const waiting = load().length;
    for (const el of document.querySelectorAll("[data-visit-queue]")) {
      el.textContent = waiting === 1 ? el.dataset.one : el.dataset.many.replace("{n}", waiting);
      el.hidden = waiting === 0;
      el.dataset.waiting = String(waiting);
    }
    const sent = document.getElementById("queued-sent");
    if (sent && shown.size && !load().some((item) => shown.has(item.visit_id))) sent.hidden = false;
  }

  if (script.dataset.sw && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(script.dataset.sw, { scope: "/v/" }).catch(() => {});
  }

  if (script.dataset.offline) {
    const match = location.pathname.match(CODE);
    if (match) {
      const at = new Date();
      const item = {
        visit_id: newId(),
        code: match[1],
        at: at.toISOString(),
        person: new URLSearchParams(location.search).get("person") || "",
      };
      save([...load(), item]);
      shown.add(item.visit_id);
      const label = document.getElementById("queued-at");
      if (label) {
        label.textContent = new Intl.DateTimeFormat(document.documentElement.lang, {
          timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
        }).format(at);
      }
    }
  }

  let sending = false;
  async function flush() {
    if (sending) return;
    sending = true;
    try {
      for (const item of load()) {
        let response;
        try {
          response = await fetch(`/v/${item.code}/queued`, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ visit_id: item.visit_id, at: item.at, person: item.person }),
          });
        } catch (_) {
          break; // still no network: try again later
        }
        // Kept for later: a server error, a rate limit, a session to log in again.
        if (response.status >= 500 || response.status === 429 || response.status === 401) break;
        // Stored, found stored already, or refused for good (a revoked code, a time too old).
        save(load().filter((kept) => kept.visit_id !== item.visit_id));
      }
    } finally {
      sending = false;
      render();
    }
  }

  render();
  window.addEventListener("online", flush);
  setInterval(flush, 5000);
  flush();
})();
