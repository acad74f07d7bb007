// The day strip of the slot picker: choose a day, let htmx reload the free times.
function pickDay(value) {
  const input = document.getElementById("id_day");
  if (!input || input.value === value) return; // a second click would reload and drop the time
  input.value = value;
  input.dispatchEvent(new Event("change", { bubbles: true }));
}

// A link to #reschedule (from a call list) opens that section.
document.addEventListener("DOMContentLoaded", () => {
  const target = location.hash && document.querySelector(location.hash);
  if (target && target.tagName === "DETAILS") target.open = true;
});
