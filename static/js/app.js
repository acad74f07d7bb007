// Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can
// refuse inline scripts. Listeners sit on the document, so parts htmx swaps in work too.
//   <select data-autosubmit>               submits its form when changed
//   <form data-confirm="Really?">          asks before submitting
//   <button data-close-dialog>             closes the <dialog> it sits in
//   <div hx-get=… data-pause-while-open="details[open]">
//                                          skips its htmx request while that is inside it
//                                          (htmx's [filter] triggers need eval: refused)
(function () {
  document.addEventListener("change", function (event) {
    var field = event.target.closest && event.target.closest("[data-autosubmit]");
    if (field && field.form) field.form.submit();
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-close-dialog]");
    if (!button) return;
    var dialog = button.closest("dialog");
    if (dialog) dialog.close();
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var element = event.detail && event.detail.elt;
    var selector = element && element.getAttribute("data-pause-while-open");
    if (selector && element.querySelector(selector)) event.preventDefault();
  });
})();
