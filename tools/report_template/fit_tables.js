// A table wider than the text column prints smaller until it fits (never cut off at the page edge, never
// scrolled); the window is as wide as the printed text column (build_reports.print_pdf), so what fits here fits on
// paper. Below 7.5 px the table's cells may break words instead.
function fitTables() {
  document.querySelectorAll(".jp-RenderedHTMLCommon table").forEach(function (t) {
    var room = t.parentElement.getBoundingClientRect().width, size = parseFloat(getComputedStyle(t).fontSize);
    while (t.getBoundingClientRect().width > room + 0.5 && size > 7.5) {
      size -= 0.5; t.style.setProperty("font-size", size + "px", "important"); }
    if (t.getBoundingClientRect().width > room + 0.5) { t.classList.add("squeezed"); }
  });
}
window.matchMedia("print").addListener(function (m) { if (m.matches) { fitTables(); } });
