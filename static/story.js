// Story page: follow background jobs without a reload, and turn a text selection into a tag.
"use strict";

(() => {
  // --- job progress -------------------------------------------------------------------------
  const watched = [...document.querySelectorAll(".job-status[data-status-url]")]
    .filter((el) => ["queued", "running"].includes(el.dataset.state));
  if (watched.length) {
    const url = watched[0].dataset.statusUrl;
    const poll = async () => {
      let jobs;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) return setTimeout(poll, 5000);
        jobs = await response.json();
      } catch (error) {
        return setTimeout(poll, 5000);
      }
      let finished = false, pending = false;
      for (const el of watched) {
        const job = jobs[el.dataset.kind];
        if (!job) continue;
        el.textContent = job.message; // worded once, on the server (recordings_views.describe_job)
        if (job.status !== el.dataset.state && ["done", "failed"].includes(job.status)) finished = true;
        if (["queued", "running"].includes(job.status)) pending = true;
        el.dataset.state = job.status;
      }
      // A finished job changes the page (transcript, suggestions): reload it once.
      if (finished) return window.location.reload();
      if (pending) setTimeout(poll, 1500);
    };
    setTimeout(poll, 1500);
  }

  // --- decisions not yet saved ---------------------------------------------------------------
  // Leaving the page (another form, a link, the reload when a job finishes) would lose choices made
  // in the decisions form but not saved: the browser asks first. A form sent back holds unsaved ones.
  const decisions = document.getElementById("tag-decisions");
  if (decisions) {
    let unsaved = decisions.dataset.unsaved === "true";
    decisions.addEventListener("change", () => { unsaved = true; });
    decisions.addEventListener("submit", () => { unsaved = false; });
    window.addEventListener("beforeunload", (event) => {
      if (!unsaved) return;
      event.preventDefault();
      event.returnValue = ""; // older browsers ask only when this is set
    });
  }

  // --- tag by selecting text ----------------------------------------------------------------
  const text = document.getElementById("story-text");
  const form = document.getElementById("add-tag");
  const start = document.getElementById("selection-start");
  const end = document.getElementById("selection-end");
  const quote = document.getElementById("selection-quote");
  const shown = document.getElementById("selected-words");
  const problem = document.getElementById("add-tag-problem");
  if (!text || !form || !start || !end || !quote) return;
  window.Storybank.onTextSelection(text, (selected) => {
    start.value = selected.start;
    end.value = selected.end;
    quote.value = selected.text; // the server checks the offsets against these words
    shown.textContent = `Selected: “${selected.text.slice(0, 200)}”`;
    problem.textContent = "";
  });
  // Nothing selected: say so beside the button, where the person is looking, and keep their choices.
  form.addEventListener("submit", (event) => {
    if (start.value && end.value) return;
    event.preventDefault();
    problem.textContent = "Select the words in the story that show this outcome (press and drag across them), then add the tag.";
    problem.focus();
  });
})();
