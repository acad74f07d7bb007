/* One way for every in-place (htmx) form to show a refusal.
 *
 * htmx does not swap 4xx answers by default, so a refused form looked as if nothing happened.
 * A view answers a refusal with its partial (errors next to the fields) and a 4xx status:
 * that partial is swapped in like a success. A full page (403/404 or a page render) is not
 * nested into the target: its message is shown in an alert just above the target instead,
 * and a 5xx or a lost connection shows the generic text carried on this script tag.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var failedText = (script && script.dataset.failed) || "Error";
  var offlineText = (script && script.dataset.offline) || failedText;
  var REFUSALS = [400, 403, 404, 409, 422];

  function alertBefore(target, text) {
    if (!target || !target.parentNode) {
      return;
    }
    var box = target.previousElementSibling;
    if (!box || !box.hasAttribute("data-htmx-refusal")) {
      box = document.createElement("p");
      box.className = "alert bad";
      box.setAttribute("role", "alert");
      box.setAttribute("data-htmx-refusal", "");
      target.parentNode.insertBefore(box, target);
    }
    box.textContent = text;
  }

  function clearAlert(target) {
    var box = target && target.previousElementSibling;
    if (box && box.hasAttribute("data-htmx-refusal")) {
      box.remove();
    }
  }

  function fullPageMessage(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var main = doc.querySelector("main") || doc.body;
    var alert = main.querySelector("[role=alert], .alert, .errorlist, p");
    var heading = main.querySelector("h1");
    var parts = [];
    if (heading) {
      parts.push(heading.textContent.trim());
    }
    if (alert && alert !== heading) {
      parts.push(alert.textContent.trim());
    }
    return parts.filter(Boolean).join(" — ") || failedText;
  }

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var detail = evt.detail;
    var status = detail.xhr.status;
    if (status < 400) {
      clearAlert(detail.target);
      return;
    }
    var body = detail.serverResponse || "";
    if (REFUSALS.indexOf(status) !== -1 && body && !/<html[\s>]/i.test(body)) {
      clearAlert(detail.target);
      detail.shouldSwap = true;
      detail.isError = false;
      return;
    }
    detail.shouldSwap = false;
    alertBefore(detail.target, status < 500 && body ? fullPageMessage(body) : failedText);
  });

  document.addEventListener("htmx:sendError", function (evt) {
    alertBefore(evt.detail.target, offlineText);
  });
})();
