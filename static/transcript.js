// Transcript editor: each part's button plays that stretch of the recording.
"use strict";

(() => {
  const audio = document.getElementById("recording");
  if (!audio) return;
  let stopAt = null;
  audio.addEventListener("timeupdate", () => {
    if (stopAt !== null && audio.currentTime >= stopAt) {
      audio.pause();
      stopAt = null;
    }
  });
  document.querySelectorAll("button.play").forEach((button) => {
    button.addEventListener("click", (event) => {
      audio.currentTime = parseFloat(button.dataset.start);
      stopAt = parseFloat(button.dataset.end);
      audio.play();
      // From the keyboard, go on to the part's text. Not on a tap: a phone's keyboard would cover the page.
      const field = button.parentElement.querySelector("textarea");
      if (field && event.detail === 0) field.focus();
    });
  });
})();
