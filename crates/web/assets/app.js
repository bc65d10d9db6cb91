// Small progressive enhancements; every page works without this file.
// Moves focus to the error summary after a failed form submission so screen-reader users hear it.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
});
