// Never lose a record: a record that cannot be sent waits in localStorage (it survives a
// reload) and is sent when the network returns. The server stores each record id once.
(function () {
  var script = document.currentScript;
  var endpoint = script.dataset.endpoint;
  var KEY = "gantong-record-queue";
  var FAILED = "gantong-record-failed";
  var sending = false;

  function load(key) {
    try { return JSON.parse(localStorage.getItem(key)) || []; } catch (e) { return []; }
  }
  function save(key, items) { localStorage.setItem(key, JSON.stringify(items)); }

  function render() {
    var waiting = load(KEY).length, failed = load(FAILED).length;
    document.querySelectorAll("[data-queue-status]").forEach(function (el) {
      var parts = [];
      if (waiting) parts.push(waiting === 1 ? el.dataset.one : el.dataset.many.replace("{n}", waiting));
      if (failed) parts.push(el.dataset.failed.replace("{n}", failed));
      el.textContent = parts.join(" ");
      el.hidden = parts.length === 0;
      el.dataset.waiting = String(waiting);
    });
  }

  function enqueue(body) {
    var items = load(KEY).filter(function (item) { return item.record_id !== body.record_id; });
    items.push(body);
    save(KEY, items);
    render();
  }

  function remove(recordId) {
    save(KEY, load(KEY).filter(function (item) { return item.record_id !== recordId; }));
  }

  // Send what waits, oldest first; stop at the first network failure and try again later.
  async function flush() {
    if (sending) return;
    sending = true;
    try {
      for (var item of load(KEY)) {
        var response;
        try {
          response = await fetch(endpoint, {
            method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "Accept": "application/json" },
            body: JSON.stringify(item),
          });
        } catch (e) { break; }
        if (response.status >= 500) break;
        remove(item.record_id);
        if (response.status >= 400) {
          var failed = load(FAILED);
          failed.push({ record_id: item.record_id, status: response.status });
          save(FAILED, failed);
        }
      }
    } finally {
      sending = false;
      render();
    }
  }

  function fillPosition(form) {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(function (position) {
      form.elements.latitude.value = position.coords.latitude.toFixed(6);
      form.elements.longitude.value = position.coords.longitude.toFixed(6);
      form.elements.accuracy.value = Math.round(position.coords.accuracy);
      var status = document.getElementById("position-status");
      if (status) status.textContent = "GPS ±" + Math.round(position.coords.accuracy) + " m";
    }, function () {}, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  }

  var form = document.getElementById("record-form");
  if (form) {
    fillPosition(form);
    form.setAttribute("novalidate", "");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      form.removeAttribute("novalidate");
      var valid = form.reportValidity();
      form.setAttribute("novalidate", "");
      if (!valid) return;
      var body = {};
      new FormData(form).forEach(function (value, name) { body[name] = value; });
      enqueue(body);
      await flush();
      var stillWaiting = load(KEY).some(function (item) { return item.record_id === body.record_id; });
      if (!stillWaiting && script.dataset.done) {
        window.location.assign(script.dataset.done);
        return;
      }
      form.querySelectorAll("input, button").forEach(function (el) { el.disabled = true; });
      var offline = document.getElementById("offline-status");
      offline.textContent = offline.dataset.saved;
      offline.hidden = false;
    });
  }

  if ("serviceWorker" in navigator && script.dataset.sw) {
    navigator.serviceWorker.register(script.dataset.sw).catch(function () {});
  }
  window.addEventListener("online", flush);
  window.addEventListener("storage", render);
  setInterval(flush, 5000);
  render();
  flush();
})();
