// Case-study builder: selecting the storyteller's words fills in the pull-quote form.
// Progressive enhancement only: without this file the words can be pasted into the form.
"use strict";

(() => {
  const text = document.getElementById("published-text");
  const quote = document.getElementById("quote");
  const start = document.getElementById("quote-start");
  const status = document.getElementById("quote-status");
  if (!text || !quote || !start) return;

  // Characters of the published text before (node, offset). The text is rendered as one string,
  // quote marks being the only elements inside it, so DOM offsets are offsets into the text.
  const offsetIn = (node, offset) => {
    const range = document.createRange();
    range.selectNodeContents(text);
    range.setEnd(node, offset);
    return range.toString().length;
  };

  document.addEventListener("selectionchange", () => {
    const selection = document.getSelection();
    if (!selection.rangeCount || selection.isCollapsed) return;
    const range = selection.getRangeAt(0);
    if (!text.contains(range.startContainer) || !text.contains(range.endContainer)) return;
    const words = range.toString().trim();
    if (!words) return;
    // The server checks the words against the published text; the offset only says which
    // occurrence was meant when the same words appear twice.
    start.value = offsetIn(range.startContainer, range.startOffset) + (range.toString().length - range.toString().trimStart().length);
    quote.value = words;
    if (status) status.textContent = `Ready to add as a pull quote: “${words.slice(0, 120)}”`;
  });

  // Typing or pasting replaces a selection: forget where the selection was.
  quote.addEventListener("input", () => { start.value = ""; });
})();
