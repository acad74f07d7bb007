// The lounge TV: the clock ticks and the board is fetched again every data-refresh seconds.
// A link that was retired answers 404: the page reloads and shows the "not found" page.
(function () {
  "use strict";
  var board = document.getElementById("lounge-board");
  var clock = document.getElementById("lounge-clock");
  if (!board) {
    return;
  }
  var url = board.getAttribute("data-board-url");
  var seconds = parseInt(board.getAttribute("data-refresh"), 10) || 30;

  function tick() {
    if (clock) {
      var now = new Date();
      clock.textContent =
        String(now.getHours()).padStart(2, "0") + ":" + String(now.getMinutes()).padStart(2, "0");
    }
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 404) {
          window.location.reload();
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined) {
          board.innerHTML = html;
          board.setAttribute("data-refreshed", String(Date.now()));
        }
      })
      .catch(function () {
        // Network down: keep showing the last board; the next round tries again.
      });
  }

  tick();
  window.setInterval(tick, 10000);
  window.setInterval(refresh, seconds * 1000);
})();
