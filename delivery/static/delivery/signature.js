// A finger/mouse signature pad: draws on <canvas data-signature-for="input-id"> and puts
// the PNG data URL into the hidden input when the form is submitted.
(function () {
  function setup(canvas) {
    var input = document.getElementById(canvas.dataset.signatureFor);
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var last = null;

    function fit() {
      var ratio = window.devicePixelRatio || 1;
      var rect = canvas.getBoundingClientRect();
      canvas.width = rect.width * ratio;
      canvas.height = rect.height * ratio;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.lineWidth = 2.5;
      ctx.lineCap = "round";
      ctx.strokeStyle = "#111";
      input.value = "";
    }
    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return { x: event.clientX - rect.left, y: event.clientY - rect.top };
    }
    canvas.addEventListener("pointerdown", function (event) {
      drawing = true;
      last = point(event);
      canvas.setPointerCapture(event.pointerId);
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      var next = point(event);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(next.x, next.y);
      ctx.stroke();
      last = next;
      canvas.dataset.signed = "1";
    });
    function stop() {
      drawing = false;
    }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    var clear = document.querySelector('[data-signature-clear="' + canvas.id + '"]');
    if (clear) {
      clear.addEventListener("click", function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        delete canvas.dataset.signed;
        input.value = "";
      });
    }
    canvas.closest("form").addEventListener("submit", function () {
      input.value = canvas.dataset.signed ? canvas.toDataURL("image/png") : "";
    });
    fit();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-signature-for]").forEach(setup);
  });
})();
