// The call page: show the survey only for "survey taken" and the category only for "has a problem".
(function () {
  function setUp() {
    var form = document.getElementById("outcome-form");
    if (!form) return;
    var survey = document.getElementById("survey");
    var category = document.getElementById("field-category");
    function sync() {
      var checked = form.querySelector("input[name=outcome]:checked");
      var value = checked ? checked.value : "";
      if (survey) survey.hidden = value !== "surveyed";
      if (category) category.hidden = value !== "issue";
    }
    form.addEventListener("change", sync);
    sync();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
