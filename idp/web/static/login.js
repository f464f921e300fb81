// The sign-in page without script is complete (tabs are links, the QR tab has a button);
// this adds arrow keys between tabs and lets the QR tab finish by itself.
(function () {
  "use strict";

  // Tabs: Left/Right/Home/End move between the tabs of one list, Enter opens one; Tab
  // leaves the list from the selected tab (WAI-ARIA tabs, manual activation).
  document.querySelectorAll('[role="tablist"]').forEach(function (list) {
    var tabs = Array.prototype.slice.call(list.querySelectorAll('[role="tab"]'));
    tabs.forEach(function (tab, i) {
      if (tab.getAttribute("aria-selected") !== "true") {
        tab.setAttribute("tabindex", "-1");
      }
      tab.addEventListener("keydown", function (event) {
        var to = {
          ArrowRight: tabs[(i + 1) % tabs.length],
          ArrowLeft: tabs[(i - 1 + tabs.length) % tabs.length],
          Home: tabs[0],
          End: tabs[tabs.length - 1],
        }[event.key];
        if (event.key === " ") {
          event.preventDefault();
          tab.click();
        } else if (to) {
          event.preventDefault();
          to.focus();
        }
      });
    });
  });

  // QR: ask where the ticket is every second; once the phone approved it, finish (the
  // same form the no-script button sends); stop at an end.
  var qr = document.getElementById("qr-sign-in");
  if (!qr || !qr.dataset.statusUrl) {
    return;
  }
  var status = qr.querySelector(".qr-status");
  var finish = qr.querySelector("form.qr-finish");
  var ends = ["denied", "expired", "consumed"];
  var timer = null;

  function show(state) {
    if (qr.dataset.state === state) {
      return;
    }
    qr.dataset.state = state;
    var message = qr.getAttribute("data-message-" + state);
    if (message) {
      status.textContent = message;
    }
  }

  function ask() {
    fetch(qr.dataset.statusUrl, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : { state: "expired" };
      })
      .then(function (answer) {
        show(answer.state);
        if (answer.state === "approved") {
          clearInterval(timer);
          finish.submit();
        } else if (ends.indexOf(answer.state) >= 0) {
          clearInterval(timer);
        }
      })
      .catch(function () {
        // the network hiccuped: ask again at the next tick
      });
  }

  if (qr.dataset.state === "approved") {
    finish.submit();
  } else if (ends.indexOf(qr.dataset.state) < 0) {
    timer = setInterval(ask, 1000);
  }
})();

// The SMS code step: "send a new code" counts down the wait it says in words, then says
// it may be pressed. Without script the words and the server's own check do the same.
(function () {
  var resend = document.querySelector("form.sms-resend");
  if (!resend) return;
  var words = document.getElementById("resend-wait");
  var left = parseInt(resend.dataset.wait || "0", 10);
  if (!words || !(left > 0)) return;
  var button = resend.querySelector("button");
  button.disabled = true;
  var timer = setInterval(function () {
    left -= 1;
    if (left > 0) {
      words.textContent = words.dataset.messageWaiting.replace("{s}", String(left));
      return;
    }
    clearInterval(timer);
    words.setAttribute("role", "status"); // announced once, when it may be pressed
    words.textContent = words.dataset.messageReady;
    button.disabled = false;
  }, 1000);
})();
