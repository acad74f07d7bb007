// The day strip of the slot picker: choose a day, let htmx reload the free times.
function pickDay(value) {
  const input = document.getElementById("id_day");
  if (!input || input.value === value) return; // a second click would reload and drop the time
  input.value = value;
  input.dispatchEvent(new Event("change", { bubbles: true }));
}

// The strip's buttons carry their day (data-day); htmx swaps the strip, so listen above it.
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest(".day-strip button[data-day]");
  if (button && !button.disabled) pickDay(button.dataset.day);
});

// A link to #reschedule (from a call list) opens that section.
document.addEventListener("DOMContentLoaded", () => {
  const target = location.hash && document.querySelector(location.hash);
  if (target && target.tagName === "DETAILS") target.open = true;
});
