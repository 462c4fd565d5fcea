// The code lives on the phone: a device key made here (WebCrypto ECDSA P-256, not extractable,
// kept in IndexedDB), a holder credential the server signs for that key (kept beside it), and a
// presentation made here every 30 s and on a tap: the credential, the time and the device's
// signature over both, drawn as the QR. So the code shows offline for as long as the credential
// is valid, and a screenshot goes stale within minutes (docs/token-format.md, "Presentations").
// The page asks the server only rarely (a conditional request answered 304 while nothing
// changed), when the network comes back, and when the page is shown again after a while.
// Without JavaScript, or without WebCrypto or IndexedDB, the server-drawn code and htmx's
// refresh of it stay as they were. A classic script (it reads document.currentScript).
(() => {
  const script = document.currentScript;
  const settings = script.dataset;
  const CHECK_EVERY = 30 * 60 * 1000; // online: at most 2 requests an hour
  // A request that fails (no network) costs the server nothing: try again after 5 s, then
  // 10, 20, 40 and every 60 s, so a phone back online hears of a change within a minute.
  const RETRY_OFFLINE = 60 * 1000;
  let failures = 0;
  const retryDelay = () => Math.min(5000 * 2 ** failures++, RETRY_OFFLINE);
  const CHECK_ON_SHOW = 10 * 60 * 1000; // shown again after this long: ask at once
  const REDRAW_EVERY = 30 * 1000;
  const MAX_VERSION = 10;

  // RFC 9285 base45, the alphabet of a QR's alphanumeric mode.
  const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  const base45 = (bytes) => {
    let out = "";
    for (let i = 0; i < bytes.length; i += 2) {
      if (i + 1 < bytes.length) {
        const n = bytes[i] * 256 + bytes[i + 1];
        out += B45[n % 45] + B45[Math.floor(n / 45) % 45] + B45[Math.floor(n / 2025)];
      } else {
        out += B45[bytes[i] % 45] + B45[Math.floor(bytes[i] / 45)];
      }
    }
    return out;
  };
  const unbase45 = (text) => {
    const out = [];
    for (let i = 0; i < text.length; i += 3) {
      const chunk = [...text.slice(i, i + 3)].map((ch) => B45.indexOf(ch));
      if (chunk.length < 2 || chunk.includes(-1)) throw new Error("base45");
      const n = chunk[0] + chunk[1] * 45 + (chunk.length === 3 ? chunk[2] * 2025 : 0);
      if (chunk.length === 3) out.push(n >> 8, n & 255); else out.push(n);
    }
    return new Uint8Array(out);
  };
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let at = 0;
    for (const part of parts) { out.set(part, at); at += part.length; }
    return out;
  };
  const uint32 = (value) => new Uint8Array([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
  const base64url = (bytes) => btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const unbase64url = (text) => Uint8Array.from(
    atob(text.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));

  // IndexedDB: one store for the device key, one for the credentials (by holder id).
  let opened = null;
  const database = () => opened || (opened = new Promise((resolve, reject) => {
    const request = indexedDB.open("gantong-holder", 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore("device");
      request.result.createObjectStore("credentials");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  }));
  const store = async (name, mode, action) => {
    const db = await database();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(name, mode);
      const request = action(tx.objectStore(name));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
    });
  };

  /** The phone's device key: made once, never extractable; its registrations by holder. */
  let loaded = null;
  const device = () => loaded || (loaded = loadDevice().catch((error) => {
    loaded = null;
    throw error;
  }));
  async function loadDevice() {
    let held = await store("device", "readonly", (s) => s.get("key"));
    if (!held) {
      const pair = await crypto.subtle.generateKey(
        { name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
      const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
      held = { pair, publicKey: base64url(raw), registered: {} };
      await store("device", "readwrite", (s) => s.put(held, "key"));
    }
    return held;
  }

  /** Make a presentation (docs/token-format.md 8.3): the credential, the time, the device's
   *  signature over both; `held` is the credential endpoint's answer as kept. */
  async function present(held, at = serverNow(held)) {
    const key = await device();
    const signed = concat(unbase64url(held.credential), uint32(at));
    const signature = new Uint8Array(await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" }, key.pair.privateKey, signed));
    return (held.prefix || "GP1:") + base45(concat(signed, signature));
  }

  /** The time by the server's clock: the phone's, corrected as of the last answer. */
  const serverNow = (held) => Math.floor(Date.now() / 1000) + ((held && held.clock_offset) || 0);

  /** Draw text as a QR (level M, alphanumeric) in the shape segno gives the server's. */
  function draw(text) {
    const code = qrcode(0, "M");
    code.addData(text, "Alphanumeric");
    code.make();
    const count = code.getModuleCount();
    const version = (count - 17) / 4;
    if (version > MAX_VERSION) throw new Error(`QR version ${version}`);
    const border = 4;
    let path = "";
    let x = 0;
    let y = 0;
    for (let row = 0; row < count; row++) {
      for (let col = 0; col < count; col++) {
        if (!code.isDark(row, col)) continue;
        let run = 1;
        while (col + run < count && code.isDark(row, col + run)) run++;
        const sx = col + border;
        const sy = row + border;
        path += path ? `m${sx - x} ${sy - y}h${run}` : `M${sx} ${sy}.5h${run}`;
        x = sx + run;
        y = sy;
        col += run - 1;
      }
    }
    const size = count + 2 * border;
    return { version, svg: `<svg viewBox="0 0 ${size} ${size}" class="qr-svg phone" data-version="${version}"><path stroke="#000" d="${path}"/></svg>` };
  }

  const card = () => document.getElementById("code-card");
  const holderId = settings.holder;
  let shown = null; // the credential drawn from
  let lastCheck = 0;
  let timer = null;

  const clock = (seconds) => {
    const at = new Date(seconds * 1000);
    const options = { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false };
    const day = (date) => date.toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
    if (day(at) !== day(new Date())) Object.assign(options, { month: "2-digit", day: "2-digit" });
    return at.toLocaleString(settings.lang || "zh-CN", options);
  };

  /** Say something at the top of the card (offline, expired, changed); null clears it. */
  function notice(id, text) {
    const here = card();
    if (!here) return;
    let element = document.getElementById(id);
    if (!text) { if (element) element.remove(); return; }
    if (!element) {
      element = document.createElement("p");
      element.id = id;
      element.className = "flash";
      element.setAttribute("role", "status");
      here.insertBefore(element, here.querySelector(".live"));
    }
    element.textContent = text;
  }

  /** Take the card over from htmx's minute-by-minute refresh and the CSS greying. */
  function takeOver() {
    const here = card();
    for (const name of ["hx-get", "hx-trigger", "hx-target", "hx-swap"]) here.removeAttribute(name);
  }

  /** Draw a fresh presentation of the kept credential, or say why there is none. */
  async function redraw() {
    const credential = shown;
    const box = card() && card().querySelector(".qr");
    if (!credential || !box) return;
    const now = serverNow(credential);
    const old = box.querySelector(".qr-svg");
    const number = card().querySelector(".number");
    if (now >= credential.valid_until) {
      // Past its validity the phone cannot make a code a verifier accepts: grey it, say so.
      card().classList.remove("phone");
      for (const element of [old, number]) if (element) element.classList.add("stale");
      notice("code-expired", settings.expired.replace("{until}", clock(credential.valid_until)));
      return;
    }
    notice("code-expired", null);
    const { svg } = draw(await present(credential, now));
    if (old) old.outerHTML = svg; else box.insertAdjacentHTML("afterbegin", svg);
    // The typed lane's number of this 10-minute slot, from the list the server gave.
    const numbers = credential.numbers;
    const slot = numbers ? numbers.list[Math.floor((now - numbers.from) / numbers.step)] : null;
    if (number && slot) {
      number.textContent = `${slot.slice(0, 4)} ${slot.slice(4)}`;
      number.classList.remove("stale");
    }
    card().classList.add("phone");
  }

  /** Show the offline notice: since the last answer from the server, valid until when. */
  function showOffline() {
    if (!shown) return;
    notice("offline", settings.offline
      .replace("{since}", clock(shown.checked_at))
      .replace("{until}", clock(shown.valid_until)));
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(check, delay);
  }

  /** Register this phone's key for the holder, once. */
  async function register(key) {
    const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
    const response = await fetch(settings.devices, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ public_key: key.publicKey, label: navigator.platform || "" }),
    });
    if (!response.ok) throw Object.assign(new Error("device registration"), { status: response.status });
    const body = await response.json();
    key.registered[holderId] = body.id;
    await store("device", "readwrite", (s) => s.put(key, "key"));
    return body.id;
  }

  // One question at a time (the 'online', 'visibilitychange' and timer paths may meet).
  let asking = null;
  const check = () => asking || (asking = ask().finally(() => { asking = null; }));

  /** Ask whether the credential changed (ETag); keep a new one; redraw the card if it did. */
  async function ask() {
    lastCheck = Date.now();
    let response;
    try {
      const key = await device();
      const deviceId = key.registered[holderId] || await register(key);
      const headers = { Accept: "application/json" };
      if (shown && shown.etag && shown.device_id === deviceId) headers["If-None-Match"] = shown.etag;
      response = await fetch(`${settings.credential}?device=${encodeURIComponent(deviceId)}`,
        { credentials: "same-origin", cache: "no-store", headers });
      if (response.status === 404 || response.status === 410) {
        // The device was removed (by the owner, on another phone): register again next time.
        delete key.registered[holderId];
        await store("device", "readwrite", (s) => s.put(key, "key"));
      }
    } catch (error) {
      if (error.status) {
        // The server refused this phone (removed from the account, too many phones): the
        // server-drawn code stays, refreshed as before; ask again later, not every minute.
        if (!shown) fallBack();
        schedule(CHECK_EVERY);
        return;
      }
      showOffline();
      schedule(retryDelay());
      return;
    }
    if (response.redirected || !(response.ok || response.status === 304)) {
      // Logged out, or the server refuses: keep what the phone has, try again later.
      schedule(response.status >= 500 ? retryDelay() : CHECK_EVERY);
      return;
    }
    failures = 0;
    const checkedAt = Math.floor(Date.now() / 1000);
    let fresh = shown;
    if (response.status === 200) {
      const body = await response.json();
      fresh = {
        ...body,
        etag: response.headers.get("ETag"),
        device_id: (await device()).registered[holderId],
        clock_offset: body.server_time - checkedAt,
      };
    }
    fresh = { ...fresh, checked_at: checkedAt };
    await store("credentials", "readwrite", (s) => s.put(fresh, holderId));
    notice("offline", null);
    const changed = !card().classList.contains(fresh.colour);
    shown = fresh;
    if (changed) await replaceCard();
    await redraw();
    schedule(CHECK_EVERY);
  }

  /** The colour changed: fetch the card as the server draws it now and say so. */
  async function replaceCard() {
    try {
      const response = await fetch(location.pathname, {
        credentials: "same-origin",
        headers: { "HX-Request": "true", "HX-Target": "code-card" },
      });
      if (response.ok && !response.redirected) {
        card().outerHTML = await response.text();
        takeOver();
      }
    } catch (error) { /* offline again: the notice below still says it changed */ }
    notice("code-changed", settings.changed);
  }

  async function start() {
    takeOver();
    lastCheck = Date.now();
    shown = (await store("credentials", "readonly", (s) => s.get(holderId))) || null;
    if (shown) await redraw();
    if (!navigator.onLine) showOffline();
    setInterval(() => redraw().catch(() => {}), REDRAW_EVERY);
    card().addEventListener("click", (event) => {
      if (event.target.closest(".qr")) { event.preventDefault(); redraw(); }
    });
    window.addEventListener("online", () => check());
    window.addEventListener("offline", () => { showOffline(); failures = 0; schedule(retryDelay()); });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && Date.now() - lastCheck > CHECK_ON_SHOW) check();
    });
    await check();
  }

  // Logging out on a shared phone: drop the kept page and credentials (the key stays: it
  // proves nothing without a credential, and the next login registers it again).
  const logout = document.querySelector("header form[action$='/logout']");
  if (logout) {
    logout.addEventListener("submit", (event) => {
      event.preventDefault();
      Promise.all([
        window.caches ? caches.delete("gantong-holder-v1") : null,
        store("credentials", "readwrite", (s) => s.clear()),
      ]).catch(() => {}).then(() => logout.submit());
    });
  }

  /** Keep this page and its scripts for a cold start offline (the worker keeps them only once
   *  it controls the page, so the first visit stores them itself: once, a request each). */
  async function keepForOffline() {
    const cache = await caches.open("gantong-holder-v1");
    for (const element of document.querySelectorAll("script[src]")) {
      if (!(await cache.match(element.src))) await cache.add(element.src);
    }
    if (!(await cache.match(location.pathname, { ignoreVary: true }))) {
      const response = await fetch(location.pathname, { credentials: "same-origin" });
      if (response.ok && !response.redirected) {
        await cache.put(location.pathname, response.clone());
        await cache.put("/me/__last-code-page", response);
      }
    }
    document.documentElement.dataset.keptOffline = "";
  }

  if ("serviceWorker" in navigator && settings.sw) {
    navigator.serviceWorker.register(settings.sw, { scope: settings.scope })
      .then(() => navigator.serviceWorker.ready)
      .then(keepForOffline)
      .catch(() => {});
  }
  window.gantongHolder = { present, draw, check, base45, unbase45 };
  const able = card() && window.crypto && crypto.subtle && window.indexedDB && window.qrcode;
  /** Give the card back to htmx's refresh of the server-drawn code (no key or credential). */
  function fallBack() {
    const here = card();
    if (here.hasAttribute("hx-trigger")) return;
    here.setAttribute("hx-get", location.pathname);
    here.setAttribute("hx-trigger", `every ${settings.refresh || 60}s`);
    here.setAttribute("hx-target", "this");
    here.setAttribute("hx-swap", "outerHTML");
    if (window.htmx) htmx.process(here);
  }

  if (able && card().querySelector(".qr")) {
    // No key store here (a private window may refuse IndexedDB): htmx refreshes as before.
    start().catch(fallBack);
  }
})();
