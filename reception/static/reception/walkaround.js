// Walk-around: a tap on the car outline opens the damage dialog at that spot (x, y in % of the drawing).
(function () {
  document.addEventListener("click", function (event) {
    var svg = event.target.closest("svg.car-outline[data-interactive]");
    if (!svg) return;
    var box = svg.viewBox.baseVal;
    var point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    var p = point.matrixTransform(svg.getScreenCTM().inverse());
    var x = Math.max(0, Math.min(100, (p.x / box.width) * 100));
    var y = Math.max(0, Math.min(100, (p.y / box.height) * 100));
    var dialog = document.getElementById("damage-dialog");
    dialog.querySelector("input[name=x]").value = x.toFixed(2);
    dialog.querySelector("input[name=y]").value = y.toFixed(2);
    dialog.showModal();
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form.id === "damage-form" && event.detail.successful) {
      form.reset();
      form.closest("dialog").close();
    }
  });
})();
