// The live time on the code page ticks, so a screenshot is easy to tell from a live code.
(function () {
  function pad(n) { return String(n).padStart(2, "0"); }
  function tick() {
    document.querySelectorAll("time[data-live]").forEach(function (el) {
      var now = new Date();
      el.textContent = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate()) +
        " " + pad(now.getHours()) + ":" + pad(now.getMinutes()) + ":" + pad(now.getSeconds());
    });
  }
  tick();
  setInterval(tick, 1000);
})();
