// Live progress of one digest: polls the API every second until the digest is over.
import { api } from "./api.js";

const root = document.getElementById("digest");
const id = root.dataset.digest;
const final = new Set(root.dataset.final.split(" "));
// Which control applies to which status (as worker.dispatch.change_digest allows).
const applies = {
  pause: ["queued", "sending"],
  resume: ["paused"],
  cancel: ["queued", "sending", "paused"],
};
const field = (name) => root.querySelector(`[data-field="${name}"]`);
let timer = null;

function duration(seconds) {
  if (seconds === null) return "—";
  const minutes = Math.floor(seconds / 60);
  return minutes ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
}

function show(progress) {
  const done = progress.total - progress.pending - progress.sending;
  const percent = progress.total ? Math.floor((100 * done) / progress.total) : 100;
  for (const name of ["status", "total", "sent", "failed", "bounced", "pending", "rate_per_second"]) {
    field(name).textContent = progress[name];
  }
  field("eta_seconds").textContent = duration(progress.eta_seconds);
  showEvents(progress.events);
  field("percent").textContent = `${percent}%`;
  const bar = document.getElementById("bar");
  bar.value = percent;
  bar.textContent = `${percent}%`;
  for (const button of root.querySelectorAll("[data-action]")) {
    button.disabled = !applies[button.dataset.action].includes(progress.status);
  }
}

// Retries, lost workers and stalls, as text nodes (never markup from the server).
function showEvents(events) {
  if (!events.length) return;
  field("events").replaceChildren(
    ...events.map((event) => {
      const item = document.createElement("li");
      const time = document.createElement("time");
      time.dateTime = event.at;
      time.textContent = event.at.slice(11, 19);
      item.append(time, ` ${event.message}`);
      return item;
    }),
  );
}

async function poll() {
  clearTimeout(timer);
  try {
    const progress = await api("GET", `/api/digests/${id}`);
    show(progress);
    field("error").textContent = "";
    if (final.has(progress.status)) return;
  } catch (error) {
    field("error").textContent = error.message;
  }
  timer = setTimeout(poll, 1000);
}

for (const button of root.querySelectorAll("[data-action]")) {
  button.addEventListener("click", async () => {
    const action = button.dataset.action;
    if (action === "cancel" && !confirm("Cancel this digest? Nobody still pending will get it.")) return;
    try {
      await api("POST", `/api/digests/${id}/${action}`);
    } catch (error) {
      field("error").textContent = error.message;
    }
    poll();
  });
}

poll();
