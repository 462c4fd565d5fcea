// The verifier bundle kept on this phone (localStorage), shared by the scan page
// (static/js/scan.js) and the verify-only gate (static/js/gate.js): refreshed with its ETag,
// its age on the screen, usable for verifying until its refuse_after.
export const BUNDLE_KEY = "gantong-verifier-bundle";

// The bundle's `revoked` covers a lost paper code and a phone's credential withdrawn; the
// volunteer is told which, since a lost paper code has its own advice: the refusal to show.
export function shownReason(result) {
  const paper = result.reason === "revoked" && result.token && result.token.type === "paper";
  return paper ? "paper_revoked" : result.reason;
}

export function nowSeconds() { return Math.floor(Date.now() / 1000); }

export function clock(seconds, withSeconds) {
  const d = new Date(seconds * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return pad(d.getHours()) + ":" + pad(d.getMinutes()) + (withSeconds ? ":" + pad(d.getSeconds()) : "");
}

export class BundleCache {
  // url: the staff bundle; status: the element that tells the bundle's age (its data-none,
  // data-fresh and data-stale texts).
  constructor(url, status) {
    this.url = url;
    this.status = status;
    this.verifier = null; // static/js/verifier.js once loaded; without it reads go to the server
    this.reachable = navigator.onLine; // the server answered last time we asked
    try { this.value = JSON.parse(localStorage.getItem(BUNDLE_KEY)); } catch (_) { this.value = null; }
  }

  get document() { return this.value ? this.value.document : null; }

  save(value) {
    this.value = value;
    try { localStorage.setItem(BUNDLE_KEY, JSON.stringify(value)); } catch (_) { /* full: keep it in memory */ }
    this.showStatus();
  }

  usable() {
    const doc = this.document;
    return Boolean(this.verifier && doc && this.verifier.checkBundle(doc) && nowSeconds() < doc.refuse_after);
  }

  dueForRefresh() { return !this.document || nowSeconds() >= this.document.refresh_after; }

  showStatus() {
    this.status.hidden = false;
    if (!this.document) this.status.textContent = this.status.dataset.none;
    else {
      const key = this.usable() || !this.verifier ? "fresh" : "stale";
      this.status.textContent = this.status.dataset[key].replace("{time}", clock(this.document.issued_at));
    }
  }

  // Refresh with the ETag: a 304 confirms the copy, and its times move forward.
  async refresh() {
    const headers = { Accept: "application/json" };
    if (this.value && this.value.etag) headers["If-None-Match"] = this.value.etag;
    try {
      const response = await fetch(this.url, { headers, credentials: "same-origin", cache: "no-store" });
      this.reachable = true;
      if (response.status === 304 && this.value) {
        const doc = this.value.document;
        const shift = nowSeconds() - doc.issued_at;
        this.save({ etag: this.value.etag, document: { ...doc, issued_at: doc.issued_at + shift,
          refresh_after: doc.refresh_after + shift, refuse_after: doc.refuse_after + shift } });
      } else if (response.ok) {
        this.save({ etag: response.headers.get("ETag"), document: await response.json() });
      }
    } catch (_) {
      this.reachable = false; // keep the copy we have; its age is on the screen
    }
  }
}
