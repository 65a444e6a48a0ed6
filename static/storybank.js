// Progressive enhancement only: every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Take keyboard and screen-reader users straight to what needs fixing.
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
});
