// The live time on the code page ticks, so a screenshot is easy to tell from a live code.
// Shown in Asia/Shanghai time, as every date in the app is, whatever the phone's time zone.
// A classic script: the arrow IIFE keeps `format` and `tick` out of the page's globals.
(() => {
  const format = new Intl.DateTimeFormat("sv-SE", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  const tick = () => {
    const text = format.format(new Date());
    for (const el of document.querySelectorAll("time[data-live]")) el.textContent = text;
  };
  tick();
  setInterval(tick, 1000);
})();
