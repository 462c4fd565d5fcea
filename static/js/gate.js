// Verify only (a mall entrance, a station gate): the rear camera reads each code, the page
// verifies it itself with the verifier bundle (static/js/verifier.js), shows the verdict full
// screen with a sound and a vibration of its own per colour, and goes back to scanning by itself
// after a few seconds: nothing to tap. Where the point keeps records, one record per code goes
// through the record queue (static/js/queue.js), which the server re-verifies on arrival.
// Without a usable bundle a read goes to the server, which answers with the same verdict; without
// JavaScript the page's forms do.
const script = document.querySelector("script[data-qr-scanner]");
// By its hashed URL (data-bundle-cache), as verifier.js: a relative import would take this
// file's digest, and the service worker would keep an old copy under it.
const { BundleCache, clock, nowSeconds, shownReason } = await import(script.dataset.bundleCache);
const tokenForm = document.getElementById("token-form");
const camera = document.getElementById("camera");
const status = document.getElementById("camera-status");
const bundleStatus = document.getElementById("bundle-status");
const verdict = document.getElementById("verdict");
const alerts = document.getElementById("server-alerts");
const soundOn = document.getElementById("sound-on");
const texts = JSON.parse(document.getElementById("refusal-texts").textContent);
// A code still in front of the camera this long after it was last seen is the same person.
const HOLD_MS = 5000;

// Each verdict its own sound (tones in Hz and seconds), vibration and time on the screen, so the
// volunteer can tell them apart without looking: one short high beep for green, two for yellow,
// three long low ones for red, a falling pair for a code that is refused.
const SIGNALS = {
  green: { tones: [[880, 0.15]], vibrate: [80], showMs: 2500 },
  yellow: { tones: [[660, 0.2], [660, 0.2]], vibrate: [200, 100, 200], showMs: 4000 },
  unknown: { tones: [[660, 0.2], [660, 0.2]], vibrate: [200, 100, 200], showMs: 4000 },
  red: { tones: [[330, 0.4], [330, 0.4], [330, 0.4]], vibrate: [400, 150, 400, 150, 400], showMs: 5000 },
  refused: { tones: [[440, 0.25], [220, 0.5]], vibrate: [700], showMs: 5000 },
};

let verifier = null;
const cache = new BundleCache(script.dataset.bundle, bundleStatus);
let showing = false; // a verdict is on the screen: the next code waits for it to clear
let audio = null;
const seen = new Map(); // code text -> when the camera last saw it

// A browser lets a page make sound only after a tap on it: until then the button asks for one
// (once a shift, not once a person); the vibration and the screen need none.
function audioContext() {
  if (!audio) {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    audio = new Context();
    audio.addEventListener("statechange", () => { soundOn.hidden = audio.state !== "suspended"; });
    soundOn.hidden = audio.state !== "suspended";
  }
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

function play(tones) {
  const context = audioContext();
  if (!context || context.state !== "running") return;
  let at = context.currentTime + 0.02;
  for (const [frequency, seconds] of tones) {
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = "square";
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.2, at);
    gain.gain.setValueAtTime(0, at + seconds);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(at);
    oscillator.stop(at + seconds);
    at += seconds + 0.08;
  }
}

// Sound and vibrate for `kind` (a colour or "refused"); the verdict says which was given.
function signal(kind) {
  const chosen = SIGNALS[kind] || SIGNALS.refused;
  verdict.dataset.tones = chosen.tones.map(([frequency]) => frequency).join(" ");
  play(chosen.tones);
  if (navigator.vibrate) navigator.vibrate(chosen.vibrate);
  return chosen;
}

function show(kind, who, instruction, note) {
  verdict.querySelectorAll("[data-banner]").forEach((el) => { el.hidden = el.dataset.banner !== kind; });
  verdict.dataset.colour = kind;
  verdict.querySelector("[data-who]").textContent = who;
  verdict.querySelector("[data-instruction]").textContent = instruction;
  verdict.querySelector("[data-note]").textContent = note;
  verdict.hidden = false;
  showing = true;
  verdict.dataset.reads = String(Number(verdict.dataset.reads || 0) + 1);
  const { showMs } = signal(kind);
  setTimeout(() => {
    verdict.hidden = true;
    showing = false;
    verdict.dataset.cleared = verdict.dataset.reads;
  }, showMs);
}

function showResult(result) {
  if (!result.ok) {
    const [title, advice] = texts[shownReason(result)] || texts.malformed;
    verdict.querySelector("[data-refusal-title]").textContent = title;
    verdict.dataset.reason = result.reason;
    show("refused", "", advice, verdict.dataset.notRecorded);
    return;
  }
  verdict.dataset.reason = "";
  const colour = result.colour || "unknown";
  const token = result.token;
  let who = token.masked_name ? token.masked_name + (token.doc_tail ? " ···" + token.doc_tail : "")
    : verdict.dataset.noName;
  if (result.issuer) who += " · " + result.issuer;
  const instruction = verdict.querySelector("[data-instruction]").dataset[colour] || "";
  show(colour, who, instruction, script.dataset.keep ? verdict.dataset.recorded : verdict.dataset.notRecorded);
}

function keepRecord(text, result, scannedAt) {
  if (!script.dataset.keep || !window.gantongQueue) return;
  const body = {
    record_id: crypto.randomUUID(), token: text, scanned_at: scannedAt,
    shown_colour: result.colour || "", offline: true,
  };
  const who = verdict.querySelector("[data-who]").textContent;
  window.gantongQueue.enqueue(body, script.dataset.records, { who, shown: result.colour });
  window.gantongQueue.flush(false);
}

const INTERNATIONAL = /^\s*(HC1:|shc:\/)/i;

async function onRead(text) {
  const at = Date.now();
  verdict.dataset.sightings = String(Number(verdict.dataset.sightings || 0) + 1);
  const last = seen.get(text);
  for (const [other, when] of seen) if (at - when > HOLD_MS) seen.delete(other);
  if (showing) {
    // The code just shown, still held up, stays held; any other waits for the screen to clear.
    if (last !== undefined) seen.set(text, at);
    return;
  }
  seen.set(text, at);
  if (last !== undefined && at - last < HOLD_MS) return;
  if (INTERNATIONAL.test(text)) {
    // EU DCC and SMART Health Cards are verified on the server only (online): the phone's
    // verifier and bundle know our own keys and partners', not the certificates' trust lists.
    tokenForm.elements.token.value = text;
    tokenForm.submit();
    return;
  }
  if (!cache.usable()) {
    // Past refuse-after the phone no longer trusts its keys: the server decides, or, when it
    // cannot be reached, the page refuses with its own message.
    const stale = verifier && cache.document;
    if (!stale || (cache.reachable && navigator.onLine)) {
      tokenForm.elements.token.value = text;
      tokenForm.submit();
      return;
    }
  }
  showing = true; // before the await: the camera reads ten times a second
  const scannedAt = nowSeconds();
  const result = await verifier.verify(text, cache.document, scannedAt);
  showResult(result);
  if (result.ok) keepRecord(text, result, scannedAt);
}

// The server's answer to a record: say so when the stored colour is worse than the one shown.
window.addEventListener("gantong-record-answer", (event) => {
  const { answer, meta } = event.detail;
  cache.reachable = true;
  if (!answer || !answer.worse || !meta) return;
  const words = JSON.parse(alerts.dataset.words || "{}");
  const line = document.createElement("span");
  line.textContent = alerts.dataset.worse.replace("{who}", meta.who)
    .replace("{colour}", answer.colour_word).replace("{shown}", words[answer.token_colour] || answer.token_colour)
    .replace("{time}", clock(nowSeconds(), true));
  alerts.appendChild(line);
  alerts.appendChild(document.createElement("br"));
  alerts.hidden = false;
  if (navigator.vibrate) navigator.vibrate(SIGNALS.red.vibrate);
});
window.addEventListener("gantong-server-unreachable", () => { cache.reachable = false; });
soundOn.addEventListener("click", () => { audioContext(); });
document.addEventListener("pointerdown", () => { audioContext(); }, { once: true });

async function start() {
  audioContext();
  if (verdict.dataset.server) {
    // The server's verdict (a lane's answer, or a code the phone could not check): its signal,
    // and back to the camera when it has been seen (the meta refresh does it without scripts).
    const { showMs } = signal(verdict.dataset.colour);
    setTimeout(() => { window.location.replace(script.dataset.gate); }, showMs);
    return;
  }
  try {
    verifier = await import(script.dataset.verifier);
    cache.verifier = verifier;
    verifier.configure({ nobleUrl: script.dataset.noble });
  } catch (_) {
    verifier = cache.verifier = null; // every read goes to the server
  }
  cache.showStatus();
  const refreshing = cache.refresh();
  if (!cache.value) await refreshing;
  else await Promise.race([refreshing, new Promise((resolve) => { setTimeout(resolve, 3000); })]);
  setInterval(() => {
    if (cache.dueForRefresh()) cache.refresh();
  }, 30000);
  if (!navigator.mediaDevices) return; // not a secure context: the lanes below remain
  const QrScanner = (await import(script.dataset.qrScanner)).default;
  camera.hidden = false;
  const scanner = new QrScanner(document.getElementById("camera-video"), (result) => { onRead(result.data); },
    { returnDetailedScanResult: true, preferredCamera: "environment", maxScansPerSecond: 10 });
  try {
    await scanner.start();
  } catch (error) {
    status.textContent = status.dataset.failed || String(error);
  }
  document.body.dataset.scanReady = "1";
}

start();
