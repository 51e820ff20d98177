// Fold & Unfold: make every sidebar toggle work (pydata-sphinx-theme #2451).
//
// pydata-sphinx-theme (which opens a sidebar as a dialog on narrow screens)
// and sphinx-book-theme (which collapses it on wide ones) attach their click
// handlers to the *first* .primary-toggle and .secondary-toggle only: buttons
// in the theme's header, which this book never shows. The buttons a reader
// sees, in the article header, did nothing, so on a phone the navigation and
// the home page could not be reached. Forward their clicks to the wired ones.
// Tested by tests/browser/test_site.py (test_sidebar_toggles_open_the_navigation).
(function () {
  function forward() {
    ["primary-toggle", "secondary-toggle"].forEach(function (kind) {
      var buttons = document.querySelectorAll("button." + kind);
      var wired = buttons[0];
      for (var i = 1; i < buttons.length; i++) {
        buttons[i].addEventListener("click", function (event) {
          event.preventDefault();
          event.stopPropagation();
          wired.click();
        });
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", forward);
  } else {
    forward();
  }
})();
