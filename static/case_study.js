// Case-study builder: selecting the storyteller's words fills in the pull-quote form.
// Progressive enhancement only: without this file the words can be pasted into the form.
"use strict";

(() => {
  const text = document.getElementById("published-text");
  const quote = document.getElementById("quote");
  const start = document.getElementById("quote-start");
  const status = document.getElementById("quote-status");
  if (!text || !quote || !start) return;

  window.Storybank.onTextSelection(text, (selected) => {
    const words = selected.text.trim();
    if (!words) return;
    // The server checks the words against the published text; the offset only says which
    // occurrence was meant when the same words appear twice.
    start.value = selected.start + (selected.text.length - selected.text.trimStart().length);
    quote.value = words;
    if (status) status.textContent = `Ready to add as a pull quote: “${words.slice(0, 120)}”`;
  });

  // Typing or pasting replaces a selection: forget where the selection was.
  quote.addEventListener("input", () => { start.value = ""; });
})();
