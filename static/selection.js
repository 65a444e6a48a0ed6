// Selecting words in a text rendered as one string (marks being the only elements inside it),
// reported as offsets into that string: used to tag evidence and to pick pull quotes.
//
// An offset counts Unicode code points, as the server does (stories/text.py): JavaScript's
// string length counts UTF-16 units, two for an emoji, which would move every later offset.
"use strict";

window.Storybank = window.Storybank || {};

window.Storybank.codePoints = (text) => {
  let count = 0;
  for (const _ of text) count += 1; // a string's iterator yields code points
  return count;
};

window.Storybank.onTextSelection = (container, callback) => {
  const offsetIn = (node, offset) => {
    const range = document.createRange();
    range.selectNodeContents(container);
    range.setEnd(node, offset);
    return window.Storybank.codePoints(range.toString());
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
