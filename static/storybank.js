// Progressive enhancement only: every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Take keyboard and screen-reader users straight to what needs fixing.
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  // A file over its limit is refused here, before a long upload on mobile data, with the message by
  // its field; the server still checks (and answers with the form, everything typed kept).
  const megabytes = (bytes) => (bytes / 1048576).toLocaleString("en-GB", { maximumFractionDigits: bytes < 10485760 ? 1 : 0 });
  const tooLarge = (input) => [...input.files].find((file) => file.size > Number(input.dataset.maxBytes));

  const check = (input) => {
    const id = `${input.id}-size-error`;
    let message = document.getElementById(id);
    const file = tooLarge(input);
    if (!file) {
      if (message) message.remove();
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", (input.getAttribute("aria-describedby") || "").replace(id, "").trim());
      return true;
    }
    if (!message) {
      message = document.createElement("p");
      message.id = id;
      message.className = "field-error";
      message.setAttribute("role", "alert");
      input.before(message);
    }
    message.textContent = `“${file.name}” is ${megabytes(file.size)} MB: ${input.dataset.tooLarge}. ` +
      "It has not been sent. Choose a smaller file; nothing else you typed is lost.";
    input.value = "";  // so the form can still be sent, without the file
    input.setAttribute("aria-invalid", "true");
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((part) => part && part !== id);
    input.setAttribute("aria-describedby", [...described, id].join(" "));
    return false;
  };

  document.querySelectorAll("input[type=file][data-max-bytes]").forEach((input) => {
    input.addEventListener("change", () => check(input));
    // A file put there by a script (the in-browser recorder) is checked when the form is sent.
    input.form?.addEventListener("submit", (event) => {
      if (tooLarge(input)) {
        event.preventDefault();
        check(input);
        input.focus();
      }
    });
  });
});
