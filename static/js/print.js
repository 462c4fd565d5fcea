// Show the Print buttons only where JavaScript can print; without it the page says how.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
