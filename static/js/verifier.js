// The offline verifier: a token checked against a verifier bundle alone, in the browser.
// Implements docs/token-format.md ("Verifying with a bundle") step by step, as
// gantong/core/verifier.py does; both are run against docs/token-vectors.json.
// Signatures: WebCrypto Ed25519 where the browser has it, else @noble/ed25519 (static/vendor).
// A phone's presentation (prefix GP1:, section 8) is checked too: its device signature with
// WebCrypto's ECDSA P-256, its revocation against the bundle's Golomb-coded set.

export const PREFIX = "GT1:";
export const BUNDLE_FORMAT = "gantong-verifier-bundle/1";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const HEAD = 23;
const SIGNATURE = 64;
const MAX_NAME = 23;
const MAX_TAIL = 4;
const MAX_SKEW = 300;
const PARTNER_SKEW = 60; // a partner's cap counts from its stamp: a narrower tolerance
const VERSION_1_ISSUED_BEFORE = 1803859200; // 2027-03-01T00:00:00Z: later version 1 is malformed
const TYPES = ["screen", "paper"];
const COLOURS = [null, "green", "yellow", "red"];
const KID = /^[0-9a-f]{8}$/;

class Malformed extends Error {}

function base45(text) {
  const out = [];
  for (let i = 0; i < text.length; i += 3) {
    const chunk = text.slice(i, i + 3);
    const values = [...chunk].map((ch) => ALPHABET.indexOf(ch));
    if (values.some((v) => v < 0)) throw new Malformed("base45 alphabet");
    if (chunk.length === 3) {
      const n = values[0] + values[1] * 45 + values[2] * 2025;
      if (n > 0xffff) throw new Malformed("base45 triple");
      out.push(n >> 8, n & 0xff);
    } else if (chunk.length === 2) {
      const n = values[0] + values[1] * 45;
      if (n > 0xff) throw new Malformed("base45 pair");
      out.push(n);
    } else {
      throw new Malformed("base45 length");
    }
  }
  return new Uint8Array(out);
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function b64url(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

function validName(name) {
  return name === name.trim() && name.normalize("NFC") === name && !/\p{C}/u.test(name);
}

// Parse the text into its token, payload and signature; Malformed on any fault.
export function decode(text) {
  if (typeof text !== "string") throw new Malformed("not text");
  const trimmed = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
  if (!trimmed.startsWith(PREFIX)) throw new Malformed("prefix");
  const raw = base45(trimmed.slice(PREFIX.length));
  if (raw.length < HEAD + SIGNATURE) throw new Malformed("short");
  const payload = raw.slice(0, raw.length - SIGNATURE);
  const signature = raw.slice(raw.length - SIGNATURE);
  const view = new DataView(payload.buffer);
  const version = payload[0];
  const type = TYPES[payload[1]];
  const colour = COLOURS[payload[14]];
  if ((version !== 1 && version !== 2) || type === undefined || colour === undefined) {
    throw new Malformed("codes");
  }
  const token = {
    version, type, kid: hex(payload.slice(2, 6)), subject: hex(payload.slice(6, 14)), colour,
    issued_at: view.getUint32(15), ttl: view.getUint32(19), masked_name: "", doc_tail: "",
  };
  if (version === 1 && token.issued_at >= VERSION_1_ISSUED_BEFORE) throw new Malformed("version 1 retired");
  const rest = payload.slice(HEAD);
  if (version === 1) {
    if (rest.length) throw new Malformed("v1 length");
  } else {
    const nameSize = rest.length ? rest[0] : 0;
    if (rest.length < 2 + nameSize || nameSize > MAX_NAME) throw new Malformed("name length");
    const tailSize = rest[1 + nameSize];
    if (tailSize > MAX_TAIL || rest.length !== 2 + nameSize + tailSize) throw new Malformed("tail length");
    try {
      token.masked_name = new TextDecoder("utf-8", { fatal: true }).decode(rest.slice(1, 1 + nameSize));
    } catch (_) {
      throw new Malformed("utf-8");
    }
    token.doc_tail = String.fromCharCode(...rest.slice(2 + nameSize));
    if (!validName(token.masked_name) || !/^[0-9A-Z]{0,4}$/.test(token.doc_tail)) throw new Malformed("identity");
  }
  if (type === "screen" && colour === null) throw new Malformed("screen without colour");
  if (type === "paper" && colour !== null) throw new Malformed("paper with colour");
  if (token.ttl === 0) throw new Malformed("ttl");
  return { token, payload, signature };
}

// Signature engines. "webcrypto" where the browser has Ed25519, else "noble".
let nobleUrl = new URL("../vendor/noble-ed25519.js", import.meta.url).href;
let noble = null;
let webcrypto = null; // null: not tried yet; true/false after the first try
const keyCache = new Map();

export function configure(options) {
  if (options.nobleUrl) nobleUrl = options.nobleUrl;
}

async function webcryptoVerify(x, signature, payload) {
  let key = keyCache.get(x);
  if (!key) {
    key = await crypto.subtle.importKey("raw", b64url(x), { name: "Ed25519" }, false, ["verify"]);
    keyCache.set(x, key);
  }
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, payload);
}

async function nobleVerify(x, signature, payload) {
  if (!noble) noble = await import(nobleUrl);
  // RFC 8032's strict checks, as the server's (OpenSSL) verification does.
  return noble.verifyAsync(signature, payload, b64url(x), { zip215: false });
}

export async function engine(force) {
  if (force === "noble") return "noble";
  if (webcrypto === null) {
    try {
      // RFC 8032 test 1's public key: importing it tells whether the browser has Ed25519.
      await crypto.subtle.importKey("raw", b64url("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
                                    { name: "Ed25519" }, false, ["verify"]);
      webcrypto = true;
    } catch (_) {
      webcrypto = false;
    }
  }
  return webcrypto ? "webcrypto" : "noble";
}

async function signatureOk(x, signature, payload, force) {
  if (typeof x !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(x)) throw new Error("bundle key");
  return (await engine(force)) === "webcrypto"
    ? webcryptoVerify(x, signature, payload)
    : nobleVerify(x, signature, payload);
}

const isInt = (v) => Number.isInteger(v);
const ageOf = (bundle) => (bundle.max_presentation_age === undefined ? 120 : bundle.max_presentation_age);
const intOrNull = (v) => v === null || v === undefined || Number.isInteger(v);

const skewOf = (bundle) => (bundle.max_clock_skew === undefined ? MAX_SKEW : bundle.max_clock_skew);

export function checkBundle(bundle) {
  if (!bundle || typeof bundle !== "object" || bundle.format !== BUNDLE_FORMAT) return false;
  if (!["issued_at", "refresh_after", "refuse_after"].every((name) => isInt(bundle[name]))) return false;
  const skew = skewOf(bundle);
  if (!isInt(skew) || skew < 0) return false;
  const age = ageOf(bundle);
  if (!isInt(age) || age <= 0) return false;
  if (!["keys", "partners", "revoked"].every((name) => Array.isArray(bundle[name]))) return false;
  for (const entry of [...bundle.keys, ...bundle.partners]) {
    if (!entry || !KID.test(String(entry.kid)) || typeof entry.x !== "string"
        || !intOrNull(entry.not_before) || !intOrNull(entry.not_after)) {
      return false;
    }
  }
  if (!bundle.keys.every((entry) => intOrNull(entry.signs_from))) return false;
  if (!bundle.partners.every((entry) => isInt(entry.max_ttl) && entry.max_ttl > 0)) return false;
  if (!bundle.revoked.every((entry) => entry && typeof entry.id === "string" && intOrNull(entry.from))) {
    return false;
  }
  const colours = bundle.paper_colours;
  return colours === undefined || colours === null || (typeof colours === "object"
    && Object.values(colours).every((c) => c === "yellow" || c === "red"));
}

const refuse = (reason, token = null) => ({ ok: false, reason, token, colour: null, issuer: null });

// Verify a token's or a presentation's text with the bundle at `now` (Unix seconds). Never throws.
export async function verify(text, bundle, now, options = {}) {
  if (typeof text === "string" && text.replace(/^[ \t\r\n]+/, "").startsWith(PRESENTATION_PREFIX)) {
    return verifyPresentation(text, bundle, now, options);
  }
  if (!checkBundle(bundle)) return refuse("bundle_invalid");
  if (now >= bundle.refuse_after) return refuse("bundle_stale");
  let parsed;
  try {
    parsed = decode(text);
  } catch (_) {
    return refuse("malformed");
  }
  const { token, payload, signature } = parsed;
  const own = bundle.keys.find((entry) => entry.kid === token.kid);
  const partner = own ? null : bundle.partners.find((entry) => entry.kid === token.kid);
  const entry = own || partner;
  if (!entry) return refuse("unknown_key", token);
  let good;
  try {
    good = await signatureOk(entry.x, signature, payload, options.engine);
  } catch (_) {
    return refuse("bundle_invalid", token);
  }
  if (!good) return refuse("bad_signature", token);
  const { not_before: notBefore, not_after: notAfter } = entry;
  const skew = skewOf(bundle);
  if (own) {
    if (notAfter != null && now >= notAfter) return refuse("key_retired", token);
    // A key signs from signs_from (a prepared key), else from its creation: earlier is back-dated.
    const start = own.signs_from != null ? own.signs_from : notBefore;
    if (start != null && token.issued_at < start - skew) return refuse("key_not_yet_signing", token);
  } else {
    if (notBefore != null && now < notBefore) return refuse("issuer_not_yet_valid", token);
    if (notAfter != null && now >= notAfter) return refuse("issuer_expired", token);
    if (token.type === "paper") return refuse("partner_paper", token);
  }
  if (token.issued_at - now > (partner ? Math.min(skew, PARTNER_SKEW) : skew)) return refuse("not_yet_valid", token);
  if (now >= token.issued_at + token.ttl) return refuse("expired", token);
  if (partner && now >= token.issued_at + partner.max_ttl) return refuse("over_partner_cap", token);
  for (const revoked of bundle.revoked) {
    if (revoked.id === token.subject && (revoked.from == null || now >= revoked.from)) {
      return refuse("revoked", token);
    }
  }
  let colour = null;
  if (token.type === "screen") colour = token.colour;
  else if (bundle.paper_colours) colour = bundle.paper_colours[token.subject] || "green";
  return { ok: true, reason: null, token, colour, issuer: partner ? partner.name || null : null };
}

// Holder credentials and presentations (docs/token-format.md, section 8).

export const PRESENTATION_PREFIX = "GP1:";
const CREDENTIAL_HEAD = 53;
const CREDENTIAL_MAX_NAME = 13;
const PRESENTATION_SKEW = 60; // the holder sets the phone's clock: at most 60 s ahead
const P256_P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

function modPow(base, exponent, modulus) {
  let result = 1n;
  base %= modulus;
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
    exponent >>= 1n;
  }
  return result;
}

const bigOf = (bytes) => BigInt("0x" + (hex(bytes) || "0"));

// A compressed P-256 point (02/03 || x) as the 65-byte uncompressed form WebCrypto imports.
function uncompressed(point) {
  if (point.length !== 33 || (point[0] !== 2 && point[0] !== 3)) throw new Malformed("device key");
  const x = bigOf(point.slice(1));
  if (x >= P256_P) throw new Malformed("device key x");
  const rhs = (((x * x) % P256_P) * x - 3n * x + P256_B) % P256_P;
  const rhsPositive = (rhs + P256_P) % P256_P;
  let y = modPow(rhsPositive, (P256_P + 1n) / 4n, P256_P);
  if ((y * y) % P256_P !== rhsPositive) throw new Malformed("device key not on the curve");
  if (Number(y & 1n) !== (point[0] & 1)) y = P256_P - y;
  const out = new Uint8Array(65);
  out[0] = 4;
  out.set(point.slice(1), 1);
  out.set(Uint8Array.from(y.toString(16).padStart(64, "0").match(/../g), (h) => parseInt(h, 16)), 33);
  return out;
}

// Parse a presentation's text; Malformed on any fault (8.1-8.3).
export function decodePresentation(text) {
  if (typeof text !== "string") throw new Malformed("not text");
  const trimmed = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
  if (!trimmed.startsWith(PRESENTATION_PREFIX)) throw new Malformed("prefix");
  const raw = base45(trimmed.slice(PRESENTATION_PREFIX.length));
  if (raw.length < CREDENTIAL_HEAD + 2 + SIGNATURE + 4 + 64) throw new Malformed("short");
  const credentialBytes = raw.slice(0, raw.length - 68);
  const body = credentialBytes.slice(0, credentialBytes.length - SIGNATURE);
  const view = new DataView(body.buffer);
  const colour = COLOURS[body[13]];
  if (body[0] !== 1 || !colour) throw new Malformed("version or colour");
  const rest = body.slice(CREDENTIAL_HEAD);
  const nameSize = rest[0];
  if (nameSize > CREDENTIAL_MAX_NAME || rest.length < 2 + nameSize) throw new Malformed("name length");
  const tailSize = rest[1 + nameSize];
  if (tailSize > MAX_TAIL || rest.length !== 2 + nameSize + tailSize) throw new Malformed("tail length");
  let maskedName;
  try {
    maskedName = new TextDecoder("utf-8", { fatal: true }).decode(rest.slice(1, 1 + nameSize));
  } catch (_) {
    throw new Malformed("utf-8");
  }
  const docTail = String.fromCharCode(...rest.slice(2 + nameSize));
  if (!validName(maskedName) || !/^[0-9A-Z]{0,4}$/.test(docTail)) throw new Malformed("identity");
  const lifetime = view.getUint16(18);
  if (lifetime === 0) throw new Malformed("lifetime");
  const deviceKey = body.slice(20, 53);
  const credential = {
    kid: hex(body.slice(1, 5)), code_id: hex(body.slice(5, 13)), colour,
    valid_from: view.getUint32(14), lifetime, device_key_hex: hex(deviceKey),
    masked_name: maskedName, doc_tail: docTail,
  };
  const devicePoint = uncompressed(deviceKey);
  const tailView = new DataView(raw.buffer, raw.length - 68, 4);
  return {
    credential, credentialId: hex(credentialBytes.slice(credentialBytes.length - SIGNATURE).slice(0, 8)),
    body, issuerSignature: credentialBytes.slice(credentialBytes.length - SIGNATURE),
    devicePoint, presentedAt: tailView.getUint32(0),
    signed: raw.slice(0, raw.length - 64), deviceSignature: raw.slice(raw.length - 64),
  };
}

async function deviceSignatureOk(parsed) {
  const key = await crypto.subtle.importKey("raw", parsed.devicePoint, { name: "ECDSA", namedCurve: "P-256" },
                                            false, ["verify"]);
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, parsed.deviceSignature, parsed.signed);
}

// The Golomb-coded set of revoked credential ids (8.6), decoded once per bundle.
const revokedSets = new WeakMap();

function b64urlBytes(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  return text ? b64url(text) : new Uint8Array(0);
}

export function revokedCredentials(bundle) {
  const member = bundle.revoked_credentials;
  if (!member || typeof member !== "object") return null;
  if (revokedSets.has(member)) return revokedSets.get(member);
  let result = null;
  const { n, p, gcs } = member;
  const bytes = b64urlBytes(gcs);
  if (isInt(n) && n >= 0 && isInt(p) && p >= 1 && p <= 32 && bytes) {
    const total = bytes.length * 8;
    const bit = (at) => (bytes[at >> 3] >> (7 - (at & 7))) & 1;
    const values = new Set();
    let position = 0;
    let value = 0n;
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      let quotient = 0n;
      for (;;) {
        if (position >= total) { ok = false; break; }
        if (!bit(position++)) break;
        quotient += 1n;
      }
      if (!ok || position + p > total) { ok = false; break; }
      let remainder = 0n;
      for (let j = 0; j < p; j++) remainder = (remainder << 1n) | BigInt(bit(position++));
      value += (quotient << BigInt(p)) | remainder;
      values.add(value);
    }
    if (ok) result = { n: BigInt(n), p: BigInt(p), values };
  }
  revokedSets.set(member, result);
  return result;
}

function isRevoked(credentialId, set) {
  if (set.n === 0n) return false;
  const hashed = (BigInt("0x" + credentialId) * set.n << set.p) >> 64n;
  return set.values.has(hashed);
}

const refuseCredential = (reason, parsed = null) => ({
  ok: false, reason, token: null, colour: null, issuer: null,
  credential: parsed ? parsed.credential : null, credential_id: parsed ? parsed.credentialId : null,
});

// Verify a phone's presentation with the bundle at `now` (8.7). Never throws.
export async function verifyPresentation(text, bundle, now, options = {}) {
  if (!checkBundle(bundle)) return refuseCredential("bundle_invalid");
  const revoked = revokedCredentials(bundle);
  if (!revoked) return refuseCredential("bundle_invalid");
  if (now >= bundle.refuse_after) return refuseCredential("bundle_stale");
  let parsed;
  try {
    parsed = decodePresentation(text);
  } catch (_) {
    return refuseCredential("malformed");
  }
  const { credential } = parsed;
  const entry = bundle.keys.find((key) => key.kid === credential.kid);
  if (!entry) return refuseCredential("unknown_key", parsed);
  let good;
  try {
    good = await signatureOk(entry.x, parsed.issuerSignature, parsed.body, options.engine);
  } catch (_) {
    return refuseCredential("bundle_invalid", parsed);
  }
  if (!good) return refuseCredential("bad_signature", parsed);
  const skew = skewOf(bundle);
  if (entry.not_after != null && now >= entry.not_after) return refuseCredential("key_retired", parsed);
  const start = entry.signs_from != null ? entry.signs_from : entry.not_before;
  if (start != null && credential.valid_from < start - skew) return refuseCredential("key_not_yet_signing", parsed);
  let deviceGood = false;
  try {
    deviceGood = await deviceSignatureOk(parsed);
  } catch (_) {
    deviceGood = false;
  }
  if (!deviceGood) return refuseCredential("bad_device_signature", parsed);
  if (credential.valid_from - now > skew) return refuseCredential("not_yet_valid", parsed);
  if (now >= credential.valid_from + credential.lifetime) return refuseCredential("expired", parsed);
  if (parsed.presentedAt - now > Math.min(PRESENTATION_SKEW, skew)) return refuseCredential("future_presentation", parsed);
  if (now >= parsed.presentedAt + ageOf(bundle)) return refuseCredential("stale_presentation", parsed);
  if (isRevoked(parsed.credentialId, revoked)) return refuseCredential("revoked", parsed);
  return {
    ok: true, reason: null, colour: credential.colour, issuer: null, credential, credential_id: parsed.credentialId,
    // What a token verdict carries, so a page shows a presentation as it shows a screen code.
    token: { version: 2, type: "screen", kid: credential.kid, subject: credential.code_id, colour: credential.colour,
             issued_at: parsed.presentedAt, ttl: ageOf(bundle), masked_name: credential.masked_name,
             doc_tail: credential.doc_tail },
  };
}
