// Scan Code Verification, one tap per person: the rear camera scans continuously, the page
// verifies each code itself with the verifier bundle (static/js/verifier.js), shows the verdict
// at once with no navigation, and queues one record per person (static/js/queue.js), which the
// server re-verifies on arrival. Without a usable bundle a read goes to the server as before;
// without JavaScript the page's forms work on their own.
const script = document.querySelector("script[data-qr-scanner]");
// By its hashed URL (data-bundle-cache), as verifier.js: a relative import would take this
// file's digest, and the service worker would keep an old copy under it.
const { BundleCache, clock, nowSeconds, shownReason } = await import(script.dataset.bundleCache);
const tokenForm = document.getElementById("token-form");
const photoForm = document.getElementById("photo-form");
const camera = document.getElementById("camera");
const status = document.getElementById("camera-status");
const bundleStatus = document.getElementById("bundle-status");
const verdict = document.getElementById("verdict");
const recordForm = document.getElementById("scan-record-form");
const lastSaved = document.getElementById("last-saved");
const alerts = document.getElementById("server-alerts");
const texts = JSON.parse(document.getElementById("refusal-texts").textContent);
// The fever threshold, the decisions either side of it and the colours that are referred by
// default come from the server's rules (rules.decision_for).
const FEVER = parseFloat(recordForm.dataset.fever);
const REFER_COLOURS = JSON.parse(recordForm.dataset.referColours);
const override = recordForm.elements.pass_override;
const overrideBox = recordForm.querySelector("[data-override]");
const decisionError = document.getElementById("scan-decision-error");
const temperatureError = document.getElementById("scan-temperature-error");

let verifier = null;
const cache = new BundleCache(script.dataset.bundle, bundleStatus);
let current = null; // the read awaiting its record: {text, verdict, scannedAt}
let lastRead = { text: "", at: 0 };
// After a person's record (or Discard) their code is ignored for this long: they are still in
// front of the camera for a few seconds while they put the phone away and walk on, and a person
// coming back through the same gate within half a minute is rare; "Scan again" lifts it.
const HOLD_MS = 30000;
let held = { text: "", until: 0 };
let position = null; // the phone's latest GPS fix: {latitude, longitude, accuracy}
let lastRecordId = null; // the record #last-saved speaks of
const scanAgain = document.getElementById("scan-again");

function showRefusal(reason) {
  const [title, advice] = texts[reason] || texts.malformed;
  verdict.className = "card refused";
  verdict.querySelector("[data-refusal-title]").textContent = title;
  verdict.querySelector("[data-refusal-advice]").textContent = advice;
}

function showVerdict(result, scannedAt) {
  verdict.querySelectorAll("[data-banner]").forEach((el) => { el.hidden = true; });
  const who = verdict.querySelector("[data-who]");
  const instruction = verdict.querySelector("[data-instruction]");
  who.textContent = "";
  instruction.textContent = "";
  if (!result.ok) {
    verdict.querySelector("[data-banner=refused]").hidden = false;
    showRefusal(shownReason(result));
  } else {
    const colour = result.colour || "unknown";
    verdict.className = "card " + colour;
    verdict.querySelector(`[data-banner=${colour}]`).hidden = false;
    const token = result.token;
    who.textContent = token.masked_name
      ? token.masked_name + (token.doc_tail ? " ···" + token.doc_tail : "")
      : verdict.dataset.noName;
    if (result.issuer) who.textContent += " · " + result.issuer;
    instruction.textContent = instruction.dataset[colour] || "";
  }
  verdict.dataset.colour = result.ok ? result.colour || "unknown" : "refused";
  verdict.dataset.reason = result.ok ? "" : result.reason;
  verdict.querySelector("[data-verified-at]").textContent = verdict.dataset.verified
    .replace("{time}", clock(scannedAt, true)).replace("{keys}", clock(cache.document.issued_at));
  verdict.hidden = false;
}

// A yellow or red code is referred by default; a pass for one needs the override ticked.
function needsOverride() { return Boolean(current) && REFER_COLOURS.includes(current.result.colour); }

function defaultDecision() {
  const value = parseFloat(recordForm.elements.temperature.value.replace(",", "."));
  const fever = !Number.isNaN(value) && value >= FEVER;
  return fever || needsOverride() ? recordForm.dataset.atFever : recordForm.dataset.belowFever;
}

function openRecord(text, result, scannedAt) {
  current = { text, result, scannedAt };
  recordForm.reset();
  recordForm.dataset.decisionTouched = "";
  recordForm.elements.decision.value = defaultDecision();
  overrideBox.hidden = !needsOverride();
  decisionError.hidden = true;
  temperatureError.hidden = true;
  recordForm.elements.temperature.removeAttribute("aria-invalid");
  recordForm.hidden = false;
  recordForm.elements.temperature.focus({ preventScroll: true });
}

function closeRecord() {
  if (current) {
    held = { text: current.text, until: Date.now() + HOLD_MS };
    scanAgain.hidden = false;
  }
  current = null;
  recordForm.hidden = true;
}

const INTERNATIONAL = /^\s*(HC1:|shc:\/)/i;

async function onRead(text, method) {
  const at = Date.now();
  if (text === held.text && at < held.until) {
    verdict.dataset.held = String(Number(verdict.dataset.held || 0) + 1);
    return;
  }
  // The camera sees the same code many times a second: one read per code.
  if (text === lastRead.text && at - lastRead.at < 4000) return;
  lastRead = { text, at };
  if (current) return; // the shown person's record comes first (or Discard)
  if (navigator.vibrate) navigator.vibrate(60);
  if (INTERNATIONAL.test(text)) {
    // EU DCC and SMART Health Cards are verified on the server only (online): the phone's
    // verifier and bundle know our own keys and partners', not the certificates' trust lists.
    submitToServer(text, method);
    return;
  }
  if (!cache.usable()) {
    // Past refuse-after the phone no longer trusts its keys: the server decides, or, when it
    // cannot be reached, the page refuses with its own message ("Verifier keys too old").
    const stale = verifier && cache.document;
    if (!stale || (cache.reachable && navigator.onLine)) {
      submitToServer(text, method);
      return;
    }
  }
  const scannedAt = nowSeconds();
  const started = performance.now();
  const result = await verifier.verify(text, cache.document, scannedAt);
  showVerdict(result, scannedAt);
  verdict.dataset.elapsedMs = String(Math.round(performance.now() - started));
  verdict.dataset.reads = String(Number(verdict.dataset.reads || 0) + 1);
  lastSaved.hidden = true;
  if (result.ok) openRecord(text, result, scannedAt);
  else if (navigator.vibrate) navigator.vibrate([80, 60, 80]);
}

function submitToServer(text, method) {
  tokenForm.elements.token.value = text;
  tokenForm.elements.method.value = method;
  tokenForm.submit();
}

recordForm.elements.temperature.addEventListener("input", () => {
  if (!recordForm.dataset.decisionTouched) recordForm.elements.decision.value = defaultDecision();
});
recordForm.querySelectorAll("input[name=decision]").forEach((input) => {
  input.addEventListener("change", () => {
    recordForm.dataset.decisionTouched = "1";
    if (recordForm.elements.decision.value !== recordForm.dataset.belowFever) override.checked = false;
  });
});
// Ticking the override is the choice of a pass.
override.addEventListener("change", () => {
  if (!override.checked) return;
  recordForm.dataset.decisionTouched = "1";
  recordForm.elements.decision.value = recordForm.dataset.belowFever;
  decisionError.hidden = true;
});
recordForm.querySelector("[data-discard]").addEventListener("click", () => {
  closeRecord();
  verdict.hidden = true;
});

recordForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!current) return;
  const temperature = window.gantongTemperature(recordForm.elements.temperature, temperatureError);
  if (temperature === null) {
    recordForm.elements.temperature.focus();
    return;
  }
  const decision = recordForm.elements.decision.value;
  // Never an ordinary pass for a yellow or red code: the server refuses it too (422).
  if (decision === recordForm.dataset.belowFever && needsOverride() && !override.checked) {
    decisionError.hidden = false;
    override.focus();
    return;
  }
  // Offline: verified on this phone while the server could not be reached; the queue marks it
  // so too when it cannot go straight through (queue.js).
  const body = {
    record_id: crypto.randomUUID(), token: current.text, scanned_at: current.scannedAt,
    shown_colour: current.result.colour || "", offline: !(cache.reachable && navigator.onLine),
    temperature: String(temperature), decision,
    pass_override: needsOverride() && override.checked,
    note: recordForm.elements.note.value.trim(),
    ...(position || {}),
  };
  const who = verdict.querySelector("[data-who]").textContent;
  window.gantongQueue.enqueue(body, script.dataset.records, { who, shown: current.result.colour });
  lastRecordId = body.record_id;
  lastSaved.dataset.line = who + " · " + temperature.toFixed(1) + " °C · ";
  showSaved("sending");
  closeRecord();
  verdict.hidden = true;
  window.gantongQueue.flush(false);
});

// What became of the last record: sending, saved (the server answered), queued on this phone
// (the server could not be reached), or refused.
function showSaved(state) {
  lastSaved.dataset.state = state;
  lastSaved.textContent = lastSaved.dataset.line + lastSaved.dataset[state];
  lastSaved.hidden = false;
}

scanAgain.addEventListener("click", () => {
  held = { text: "", until: 0 };
  lastRead = { text: "", at: 0 };
  scanAgain.hidden = true;
});

// The server's answer to a record: alert when the stored colour is worse than the one shown.
window.addEventListener("gantong-record-answer", (event) => {
  const { answer, meta } = event.detail;
  cache.reachable = true;
  if (event.detail.record_id === lastRecordId) showSaved(answer ? "saved" : "refused");
  if (!answer || !answer.worse || !meta) return;
  const words = JSON.parse(alerts.dataset.words || "{}");
  const line = document.createElement("span");
  line.textContent = verdict.dataset.serverWorse.replace("{who}", meta.who)
    .replace("{colour}", answer.colour_word).replace("{shown}", words[answer.token_colour] || answer.token_colour)
    .replace("{time}", clock(nowSeconds(), true));
  line.dataset.serverColour = answer.colour;
  alerts.appendChild(line);
  alerts.appendChild(document.createElement("br"));
  alerts.hidden = false;
  if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
});
window.addEventListener("gantong-server-unreachable", () => {
  cache.reachable = false;
  if (lastRecordId && lastSaved.dataset.state === "sending") showSaved("queued");
});

// The phone's own position for each record, when the browser gives it (else the point's).
function watchPosition() {
  if (!navigator.geolocation) return;
  navigator.geolocation.watchPosition((fix) => {
    position = { latitude: fix.coords.latitude.toFixed(6), longitude: fix.coords.longitude.toFixed(6),
                 accuracy: Math.round(fix.coords.accuracy) };
  }, () => {}, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
}

// The typed number and the no-code lane need the server: say so at once when it is gone.
document.querySelectorAll("form[data-needs-server]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (cache.reachable && navigator.onLine) return;
    event.preventDefault();
    const [title, advice] = texts.needs_server;
    let note = form.querySelector(".needs-server");
    if (!note) {
      note = document.createElement("p");
      note.className = "warning needs-server";
      note.setAttribute("role", "alert");
      form.prepend(note);
    }
    note.textContent = title + ": " + advice;
  });
});

async function loadScanner() {
  const module = await import(script.dataset.qrScanner);
  return module.default;
}

async function startCamera(QrScanner) {
  if (!navigator.mediaDevices) return; // not a secure context: the fallbacks remain
  camera.hidden = false;
  const video = document.getElementById("camera-video");
  // The scanner stays live: after a record the next code is read at once.
  const scanner = new QrScanner(video, (result) => { onRead(result.data, tokenForm.dataset.camera); },
    { returnDetailedScanResult: true, preferredCamera: "environment", maxScansPerSecond: 10 });
  try {
    await scanner.start();
  } catch (error) {
    status.textContent = status.dataset.failed || String(error);
  }
}

// Phone photos are large: decode downscaled copies (long side 800, 640, 480, 1024 px).
async function decodePhoto(QrScanner, file) {
  const bitmap = await createImageBitmap(file);
  const { width, height } = bitmap;
  for (const side of [800, 640, 480, 1024]) {
    const scale = Math.min(1, side / Math.max(width, height));
    try {
      const result = await QrScanner.scanImage(bitmap, {
        returnDetailedScanResult: true,
        scanRegion: { x: 0, y: 0, width, height,
                      downScaledWidth: Math.round(width * scale), downScaledHeight: Math.round(height * scale) },
      });
      return result.data;
    } catch (_) { /* try the next size */ }
  }
  return null;
}

async function start() {
  watchPosition();
  try {
    verifier = await import(script.dataset.verifier);
    cache.verifier = verifier;
    verifier.configure({ nobleUrl: script.dataset.noble });
  } catch (_) {
    verifier = cache.verifier = null; // every read goes to the server
  }
  cache.showStatus();
  // A page opened online starts with the current bundle (revocations included); a slow or
  // absent network delays the camera by three seconds at most, then the cached copy serves.
  const refreshing = cache.refresh();
  if (!cache.value) await refreshing;
  else await Promise.race([refreshing, new Promise((resolve) => { setTimeout(resolve, 3000); })]);
  setInterval(() => {
    if (cache.dueForRefresh()) cache.refresh();
  }, 30000);
  const QrScanner = await loadScanner();
  startCamera(QrScanner);
  photoForm.addEventListener("submit", async (event) => {
    const file = photoForm.elements.photo.files[0];
    if (!file) return;
    event.preventDefault();
    const text = await decodePhoto(QrScanner, file).catch(() => null);
    if (text) {
      lastRead = { text: "", at: 0 };
      held = { text: "", until: 0 }; // a photo is taken on purpose: no hold
      onRead(text, tokenForm.dataset.photo);
    } else photoForm.submit(); // let the server try, and say what it found
  });
  photoForm.elements.photo.addEventListener("change", () => photoForm.requestSubmit());
  document.body.dataset.scanReady = "1";
}

start();
