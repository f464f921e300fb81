// The SMS-code pages (registration, recovery): count the wait before a new code down in
// the hint under the button, and say when a new code can be asked for. Without
// JavaScript the hint says the wait as it was when the page was drawn, and a press too
// early is answered by the server with the wait left.
(function () {
  "use strict";
  var hint = document.getElementById("resend-hint");
  if (!hint) {
    return;
  }
  var left = parseInt(hint.getAttribute("data-wait"), 10) || 0;
  var ready = hint.getAttribute("data-ready");
  if (left <= 0 || !ready) {
    return;
  }
  var counting = left <= 60; // "in 12 minutes" is not counted down; it is replaced at the end
  var timer = window.setInterval(function () {
    left -= 1;
    if (left <= 0) {
      window.clearInterval(timer);
      hint.textContent = ready; // read out once by the live region, not every second
      hint.setAttribute("aria-live", "polite");
      return;
    }
    if (counting) {
      hint.textContent = hint.textContent.replace(/\d+/, String(left));
    }
  }, 1000);
})();
