// In-browser recording for the story form: MediaRecorder with elapsed time, an input level,
// pause and resume. The recording is put into the form's file field, so it is sent exactly
// like an uploaded file. Without MediaRecorder (or outside a secure context) the upload remains.
"use strict";

(() => {
  const box = document.querySelector("[data-recorder]");
  const fileInput = document.getElementById("recording");
  if (!box || !fileInput || !window.MediaRecorder || !navigator.mediaDevices || !window.DataTransfer) return;
  box.hidden = false;

  const buttons = {
    record: box.querySelector('[data-action="record"]'),
    pause: box.querySelector('[data-action="pause"]'),
    stop: box.querySelector('[data-action="stop"]'),
  };
  const elapsedEl = box.querySelector("[data-elapsed]");
  const level = box.querySelector("[data-level]");
  const message = box.querySelector("[data-recorder-message]");
  const preview = box.querySelector("[data-preview]");
  let recorder = null, stream = null, chunks = [], elapsedMs = 0, startedAt = 0, timer = null, audioContext = null;

  const say = (text) => { message.textContent = text; };
  const clock = (ms) => {
    const s = Math.floor(ms / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  };
  const tick = () => { elapsedEl.textContent = clock(elapsedMs + (startedAt ? Date.now() - startedAt : 0)); };
  const preferredType = () => ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4"].find(
    (type) => MediaRecorder.isTypeSupported(type)) || "";

  function showLevel(source) {
    audioContext = new AudioContext();
    const analyser = audioContext.createAnalyser();
    analyser.fftSize = 512;
    audioContext.createMediaStreamSource(source).connect(analyser);
    const samples = new Uint8Array(analyser.fftSize);
    const draw = () => {
      if (!audioContext) return;
      analyser.getByteTimeDomainData(samples);
      let peak = 0;
      for (const sample of samples) peak = Math.max(peak, Math.abs(sample - 128) / 128);
      level.value = peak;
      requestAnimationFrame(draw);
    };
    draw();
  }

  buttons.record.addEventListener("click", async () => {
    if (recorder && recorder.state === "paused") {
      recorder.resume();
      startedAt = Date.now();
      buttons.pause.textContent = "Pause";
      say("Recording again.");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      say("The microphone could not be used. Allow it in the browser, or upload a recording instead.");
      return;
    }
    chunks = [];
    elapsedMs = 0;
    recorder = new MediaRecorder(stream, preferredType() ? { mimeType: preferredType() } : undefined);
    recorder.addEventListener("dataavailable", (event) => { if (event.data.size) chunks.push(event.data); });
    recorder.addEventListener("stop", finish);
    recorder.start(1000);
    startedAt = Date.now();
    timer = setInterval(tick, 250);
    showLevel(stream);
    buttons.record.disabled = true;
    buttons.pause.disabled = false;
    buttons.stop.disabled = false;
    say("Recording. Press Pause to take a break, Stop when the story is finished.");
  });

  buttons.pause.addEventListener("click", () => {
    if (!recorder) return;
    if (recorder.state === "recording") {
      recorder.pause();
      elapsedMs += Date.now() - startedAt;
      startedAt = 0;
      buttons.pause.textContent = "Resume";
      buttons.record.disabled = true;
      say("Paused.");
    } else if (recorder.state === "paused") {
      recorder.resume();
      startedAt = Date.now();
      buttons.pause.textContent = "Pause";
      say("Recording again.");
    }
  });

  buttons.stop.addEventListener("click", () => {
    if (!recorder || recorder.state === "inactive") return;
    if (startedAt) elapsedMs += Date.now() - startedAt;
    startedAt = 0;
    recorder.stop();
  });

  function finish() {
    clearInterval(timer);
    tick();
    stream.getTracks().forEach((track) => track.stop());
    if (audioContext) { audioContext.close(); audioContext = null; }
    level.value = 0;
    const type = (recorder.mimeType || "audio/webm").split(";")[0];
    const extension = { "audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a" }[type] || "webm";
    const file = new File(chunks, `recording-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}.${extension}`, { type });
    const transfer = new DataTransfer();
    transfer.items.add(file);
    fileInput.files = transfer.files;
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    buttons.record.disabled = false;
    buttons.record.textContent = "● Record again";
    buttons.pause.disabled = true;
    buttons.pause.textContent = "Pause";
    buttons.stop.disabled = true;
    say(`Recorded ${clock(elapsedMs)}. Listen back if you like, then save the story below; it will be transcribed.`);
  }
})();
