// The signed-out page: once every RP's front-channel logout page has loaded (the window's
// load event waits for its iframes), or after a few seconds at most, go back to the
// service that asked for the sign-out. Without JavaScript, the person follows the link.
(function () {
  "use strict";
  var link = document.getElementById("continue");
  if (!link) {
    return;
  }
  var gone = false;
  function go() {
    if (!gone) {
      gone = true;
      window.location.assign(link.href);
    }
  }
  if (document.readyState === "complete") {
    go();
  } else {
    window.addEventListener("load", go);
  }
  window.setTimeout(go, 5000);
})();
