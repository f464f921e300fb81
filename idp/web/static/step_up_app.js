// The step-up page waiting for the app: ask every second whether the request has been
// answered; once it has (or is gone), submit the page's own form, which finishes it in
// this browser. Without JavaScript, the person presses the form's button.
(function () {
  "use strict";
  var form = document.getElementById("app-finish");
  if (!form || !window.fetch) {
    return;
  }
  var statusUrl = form.getAttribute("data-status");
  function poll() {
    window
      .fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : { state: "waiting" };
      })
      .then(
        function (answer) {
          if (answer && answer.state && answer.state !== "waiting") {
            form.submit();
          } else {
            window.setTimeout(poll, 1000);
          }
        },
        function () {
          window.setTimeout(poll, 2000); // offline for a moment: try again, more slowly
        }
      );
  }
  window.setTimeout(poll, 1000);
})();
