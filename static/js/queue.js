// Never lose a record: a record that cannot be sent waits in localStorage (it survives a
// reload) and is sent when the network returns. The server stores each record id once.
// A classic script, not a module: it reads document.currentScript, which a module does not
// have. The arrow IIFE keeps its names out of the page's globals.
(() => {
  const script = document.currentScript;
  const endpoint = script.dataset.endpoint;
  const KEY = "gantong-record-queue";
  const FAILED = "gantong-record-failed";
  const NOTICE = "gantong-record-notice";
  const HOLD = "gantong-record-hold"; // until when the server asked us to wait (429), ms
  let sending = false;
  const answers = {}; // record id -> the server's answer, for records this page sent

  function load(key) {
    try { return JSON.parse(localStorage.getItem(key)) || []; } catch (_) { return []; }
  }
  function save(key, items) { localStorage.setItem(key, JSON.stringify(items)); }

  function render() {
    const waiting = load(KEY).length;
    const failedItems = load(FAILED);
    const failed = failedItems.length;
    for (const list of document.querySelectorAll("[data-queue-failed]")) {
      list.textContent = "";
      for (const item of failedItems) {
        const li = document.createElement("li");
        li.textContent = `${item.record_id.slice(0, 8)} · ${item.who ? `${item.who} · ` : ""}`
          + (item.title || `HTTP ${item.status}`);
        list.appendChild(li);
      }
      list.hidden = failed === 0;
    }
    for (const button of document.querySelectorAll("[data-queue-dismiss]")) {
      button.hidden = failed === 0;
    }
    for (const el of document.querySelectorAll("[data-queue-status]")) {
      const parts = [];
      if (waiting) parts.push(waiting === 1 ? el.dataset.one : el.dataset.many.replace("{n}", waiting));
      if (failed) parts.push(el.dataset.failed.replace("{n}", failed));
      el.textContent = parts.join(" ");
      el.hidden = parts.length === 0;
      el.dataset.waiting = String(waiting);
    }
    // A record saved here while offline has been sent since (by this tab or another one).
    const offline = document.getElementById("offline-status");
    const recordForm = document.getElementById("record-form");
    if (offline && recordForm && !offline.hidden && offline.dataset.sent) {
      const id = recordForm.elements.record_id.value;
      const pending = (item) => item.record_id === id;
      if (!load(KEY).some(pending) && !load(FAILED).some(pending)) offline.textContent = offline.dataset.sent;
    }
  }

  // `endpoint` and `meta` (what the page showed) travel with the item but are not sent.
  function enqueue(body, itemEndpoint, meta) {
    const items = load(KEY).filter((item) => item.record_id !== body.record_id);
    const item = { ...body };
    if (itemEndpoint) item._endpoint = itemEndpoint;
    if (meta) item._meta = meta;
    items.push(item);
    save(KEY, items);
    render();
  }

  // A scan record that could not go straight through waited on this phone: it is stored as
  // verified offline (the typed lanes' records carry no such field).
  function markWaiting() {
    save(KEY, load(KEY).map((item) => ("offline" in item ? { ...item, offline: true } : item)));
  }

  function remove(recordId) {
    save(KEY, load(KEY).filter((item) => item.record_id !== recordId));
  }

  // One tab sends at a time (a Web Lock where the browser has them), so three open tabs do not
  // each send the whole queue over a slow link; `wait` queues behind a tab that is sending.
  function flush(wait) {
    if (navigator.locks) {
      return navigator.locks.request("gantong-record-queue", wait ? {} : { ifAvailable: true },
        (lock) => (lock ? flushNow() : null));
    }
    return flushNow();
  }

  // The most scan records one request carries (the server's SCAN_RECORD_BATCH_MAX).
  let batchMax = Number(script.dataset.batchMax) || 50;

  function post(url, payload) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(payload),
    });
  }

  function bodyOf(item) {
    const body = { ...item };
    delete body._endpoint;
    delete body._meta;
    return body;
  }

  // What the server said of one record: taken (or refused for good) leaves the queue.
  function settle(item, status, answer) {
    answers[item.record_id] = status < 300 ? answer : null;
    remove(item.record_id);
    if (status >= 400) {
      const failed = load(FAILED);
      failed.push({ record_id: item.record_id, status, title: answer && answer.title,
                    who: item._meta && item._meta.who });
      save(FAILED, failed);
    }
    window.dispatchEvent(new CustomEvent("gantong-record-answer", { detail: {
      record_id: item.record_id, status, answer: status < 300 ? answer : null,
      meta: item._meta || null } }));
  }

  function hold(seconds) {
    localStorage.setItem(HOLD, String(Date.now() + (seconds || 60) * 1000));
  }

  // Send what waits, oldest first; stop at the first network failure and try again later.
  // Scan records (items with their own endpoint) that wait together go in one request, a
  // JSON array the server stores with one commit, answering each record in order.
  async function flushNow() {
    if (sending) return;
    if (Date.now() < Number(localStorage.getItem(HOLD) || 0)) return; // the server said wait
    sending = true;
    try {
      for (;;) {
        const items = load(KEY);
        if (!items.length) break;
        const first = items[0];
        const group = [first];
        if (first._endpoint) {
          for (const item of items.slice(1)) {
            if (group.length >= batchMax || item._endpoint !== first._endpoint) break;
            group.push(item);
          }
        }
        const batch = group.length > 1;
        let response;
        try {
          response = await post(first._endpoint || endpoint,
            batch ? group.map(bodyOf) : bodyOf(first));
        } catch (_) {
          markWaiting();
          window.dispatchEvent(new CustomEvent("gantong-server-unreachable"));
          break;
        }
        if (response.status === 429) {
          // Too many records for this account or point: the records stay queued and go again
          // after the wait the server gave (Retry-After), by the 5-second timer below.
          hold(Number(response.headers.get("Retry-After")));
          break;
        }
        if (response.status >= 500) {
          markWaiting();
          window.dispatchEvent(new CustomEvent("gantong-server-unreachable"));
          break;
        }
        if (batch && response.status === 413) {
          batchMax = Math.max(1, Math.floor(group.length / 2)); // the server takes fewer
          continue;
        }
        const answer = await response.json().catch(() => ({}));
        if (!batch || !response.ok || !Array.isArray(answer.results)) {
          for (const item of group) settle(item, response.status, answer);
          continue;
        }
        let waitSeconds = 0;
        group.forEach((item, index) => {
          const result = answer.results[index] || {};
          if (result.status === 429) waitSeconds = Math.max(waitSeconds, result.retry_after || 60);
          else settle(item, result.status, result);
        });
        if (waitSeconds) {
          hold(waitSeconds);
          break;
        }
      }
    } finally {
      sending = false;
      render();
    }
  }

  function fillPosition(form) {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition((position) => {
      form.elements.latitude.value = position.coords.latitude.toFixed(6);
      form.elements.longitude.value = position.coords.longitude.toFixed(6);
      form.elements.accuracy.value = Math.round(position.coords.accuracy);
      const status = document.getElementById("position-status");
      if (status) status.textContent = `GPS ±${Math.round(position.coords.accuracy)} m`;
    }, () => {}, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  }

  // The temperature as the server reads it (checkpoint/forms.py TemperatureField): a decimal
  // comma is a point; the bounds and the messages are the server's, in the page's language
  // (data-checks), shown next to the field instead of the browser's own bubble. Returns the
  // number, or null after showing the message in `error`.
  function checkTemperature(input, error) {
    const checks = JSON.parse(input.dataset.checks);
    let text = input.value.trim();
    if ((text.match(/,/g) || []).length === 1 && !text.includes(".")) text = text.replace(",", ".");
    const value = Number(text);
    let message = "";
    if (!text) message = checks.required;
    else if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text) || !Number.isFinite(value)) message = checks.number;
    else if (value < checks.min || value > checks.max) message = checks.range;
    error.textContent = message;
    error.hidden = !message;
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    return message ? null : value;
  }
  window.gantongTemperature = checkTemperature;

  const form = document.getElementById("record-form");
  if (form) {
    fillPosition(form);
    form.setAttribute("novalidate", "");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const temperature = form.elements.temperature;
      if (checkTemperature(temperature, document.getElementById("temperature-error")) === null) {
        temperature.focus();
        return;
      }
      // A pass for a yellow or red code needs the override (the server refuses it too: 422).
      const overrideError = document.getElementById("override-error");
      const passOverride = form.elements.pass_override;
      if (overrideError && passOverride) {
        const missing = form.elements.decision.value === overrideError.dataset.pass && !passOverride.checked;
        overrideError.hidden = !missing;
        if (missing) {
          passOverride.focus();
          return;
        }
      }
      const body = {};
      for (const [name, value] of new FormData(form)) body[name] = value;
      enqueue(body);
      await flush(true);
      const stillWaiting = load(KEY).some((item) => item.record_id === body.record_id);
      const refused = load(FAILED).find((item) => item.record_id === body.record_id);
      if (refused) {
        // The server will never take this body (a 403, 409 or 422): say so here, stay on the page.
        const problem = document.getElementById("offline-status");
        problem.textContent = form.dataset.refused.replace("{status}", refused.status);
        problem.hidden = false;
        return;
      }
      if (!stillWaiting && script.dataset.done) {
        // Say on the next page what the server said, as the page does without JavaScript.
        const answer = answers[body.record_id];
        const notice = answer && (answer.fever ? form.dataset.fever : form.dataset.saved);
        try { if (notice) sessionStorage.setItem(NOTICE, notice); } catch (_) { /* private mode */ }
        window.location.assign(script.dataset.done);
        return;
      }
      for (const el of form.querySelectorAll("input, button")) el.disabled = true;
      const offline = document.getElementById("offline-status");
      offline.textContent = offline.dataset.saved;
      offline.hidden = false;
    });
  }

  // The notice of a record sent from the previous page (see above).
  let lastNotice = null;
  try { lastNotice = sessionStorage.getItem(NOTICE); sessionStorage.removeItem(NOTICE); } catch (_) { /* none */ }
  const main = document.querySelector("main");
  if (lastNotice && main) {
    const flash = document.createElement("p");
    flash.className = "flash";
    flash.setAttribute("role", "status");
    flash.textContent = lastNotice;
    main.insertBefore(flash, main.firstChild);
  }

  // Logging out on a shared phone: drop the cached checkpoint pages (they show masked names).
  // The queue itself stays: its records belong to the point, not to the session.
  const logout = document.querySelector("header form[action$='/logout']");
  if (logout && window.caches) {
    logout.addEventListener("submit", (event) => {
      event.preventDefault();
      caches.delete("gantong-checkpoint-v1").catch(() => {}).then(() => logout.submit());
    });
  }

  if ("serviceWorker" in navigator && script.dataset.sw) {
    navigator.serviceWorker.register(script.dataset.sw).catch(() => {});
  }
  for (const button of document.querySelectorAll("[data-queue-dismiss]")) {
    button.addEventListener("click", () => { save(FAILED, []); render(); });
  }
  window.gantongQueue = { enqueue, flush };
  window.addEventListener("online", () => flush(false));
  window.addEventListener("storage", render);
  setInterval(() => flush(false), 5000);
  render();
  flush(false);
})();
