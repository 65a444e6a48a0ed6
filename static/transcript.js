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
    button.addEventListener("click", () => {
      audio.currentTime = parseFloat(button.dataset.start);
      stopAt = parseFloat(button.dataset.end);
      audio.play();
      const field = button.parentElement.querySelector("textarea");
      if (field) field.focus();
    });
  });
})();
