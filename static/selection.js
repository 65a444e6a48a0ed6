// Selecting words in a text rendered as one string (marks being the only elements inside it),
// reported as offsets into that string: used to tag evidence and to pick pull quotes.
"use strict";

window.Storybank = window.Storybank || {};

window.Storybank.onTextSelection = (container, callback) => {
  const offsetIn = (node, offset) => {
    const range = document.createRange();
    range.selectNodeContents(container);
    range.setEnd(node, offset);
    return range.toString().length;
  };
  document.addEventListener("selectionchange", () => {
    const selection = document.getSelection();
    if (!selection.rangeCount || selection.isCollapsed) return;
    const range = selection.getRangeAt(0);
    if (!container.contains(range.startContainer) || !container.contains(range.endContainer)) return;
    const start = offsetIn(range.startContainer, range.startOffset);
    const end = offsetIn(range.endContainer, range.endOffset);
    if (end > start) callback({ start, end, text: range.toString() });
  });
};
