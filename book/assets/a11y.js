// Fold & Unfold: accessibility fixes to the theme's controls, and wide equations.
// Tested by tests/browser/test_a11y.py (axe-core on every page, light and dark;
// equations at 390 px).
//
// 1. Label in name (WCAG 2.5.3, axe's label-content-name-mismatch).
//    - The search buttons show "Search Ctrl+K" but are named "Search" by an
//      aria-label: drop it, so the name is what a reader sees (and says to a
//      voice-control program); the shortcut is announced as aria-keyshortcuts.
//    - The colour-mode button is named "Color mode" and shows an icon titled
//      "Light", "Dark" or "System Settings": name it "Color mode: Light" (and
//      so on), kept in step with the mode the theme sets on <html data-mode>.
// 2. Wide display equations. pydata-sphinx-theme lets a display equation
//    (mjx-container in div.math) scroll sideways inside its own box, but that
//    box can neither be reached by keyboard nor told apart from a cut-off
//    formula. Each one wider than its box gets the class is-overflowing (the
//    hint in convlab.css), tabindex=0 (arrow keys scroll it) and a name.
// 3. Printed, a page cannot scroll: an equation wider than the page is set in
//    a smaller font until it fits (MathJax sizes everything in em), and gets
//    its size back after printing.
// 4. The navigation's toggles of a page's subpages (<details><summary> around a
//    chevron icon) have no name (axe's summary-name): each is named after its
//    page, "Pages under <title>".
(function () {
  var MODE_NAMES = { light: "Light", dark: "Dark", auto: "System Settings" };

  function labelInName() {
    document.querySelectorAll(".search-button-field[aria-label]").forEach(function (button) {
      button.removeAttribute("aria-label");
      button.setAttribute("aria-keyshortcuts", "Control+K Meta+K");
    });
    var name = function () {
      var mode = document.documentElement.dataset.mode || "auto";
      var label = "Color mode: " + (MODE_NAMES[mode] || mode);
      document.querySelectorAll(".theme-switch-button").forEach(function (button) {
        button.setAttribute("aria-label", label);
      });
    };
    name();
    new MutationObserver(name).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["data-mode"],
    });
  }

  function markWideEquations() {
    var boxes = document.querySelectorAll('mjx-container[display="true"], .convlab-figure-scroll');
    boxes.forEach(function (box) {
      var wide = box.scrollWidth > box.clientWidth + 1;
      var what = box.classList.contains("convlab-figure-scroll") ? "figure" : "equation";
      box.classList.toggle("is-overflowing", wide);
      if (wide) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "group");
        box.setAttribute("aria-label", "Wide " + what + ", scrolls sideways");
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }

  function nameNavigationToggles() {
    document.querySelectorAll(".bd-sidenav details > summary").forEach(function (summary) {
      var item = summary.closest("li");
      var link = item && item.querySelector(":scope > a");
      if (link && !summary.hasAttribute("aria-label")) {
        summary.setAttribute("aria-label", "Pages under " + link.textContent.trim());
      }
    });
  }

  function fitEquationsToPage() {
    document.querySelectorAll('mjx-container[display="true"]').forEach(function (box) {
      if (box.scrollWidth <= box.clientWidth + 1) return;
      if (!("printFontSize" in box.dataset)) box.dataset.printFontSize = box.style.fontSize;
      var size = parseFloat(getComputedStyle(box).fontSize);
      // a little under the ratio: the width of an equation is not exactly linear in its font size
      box.style.fontSize = (size * box.clientWidth * 0.98) / box.scrollWidth + "px";
    });
  }

  function unfitEquations() {
    document.querySelectorAll("mjx-container[data-print-font-size]").forEach(function (box) {
      box.style.fontSize = box.dataset.printFontSize;
      delete box.dataset.printFontSize;
    });
    scheduleMark();
  }

  var pending = false;
  function scheduleMark() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () {
      pending = false;
      markWideEquations();
    });
  }

  function start() {
    labelInName();
    nameNavigationToggles();
    window.addEventListener("resize", scheduleMark);
    window.addEventListener("beforeprint", fitEquationsToPage);
    window.addEventListener("afterprint", unfitEquations);
    var print = window.matchMedia("print");
    print.addEventListener("change", function (event) {
      if (event.matches) fitEquationsToPage();
      else unfitEquations();
    });
    // MathJax typesets after the page loads, and its fonts arrive later still
    var whenTypeset = function () {
      var startup = window.MathJax && window.MathJax.startup;
      if (startup && startup.promise) {
        startup.promise.then(scheduleMark);
      } else {
        scheduleMark();
      }
      if (document.fonts) document.fonts.ready.then(scheduleMark);
    };
    if (document.readyState === "complete") {
      whenTypeset();
    } else {
      window.addEventListener("load", whenTypeset);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
