// The social calendar's post editors: a live character count (counted by the API, with X's
// weighted rules), saving, rescheduling in the account's zone, and cancelling.
import { api } from "./api.js";

const DEBOUNCE_MS = 250;

// "+01:00" for a wall-clock time ("2026-11-24T08:00") in an IANA zone; asked at the
// instant the time names, so a date across a DST change gets its own offset.
function zoneOffset(zone, local) {
  const offsetAt = (instant) => {
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" })
      .formatToParts(instant);
    const name = parts.find((part) => part.type === "timeZoneName").value; // "GMT+01:00", "GMT"
    return name === "GMT" ? "+00:00" : name.slice(3);
  };
  const minutes = (offset) => (offset[0] === "-" ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4)));
  const asUtc = new Date(`${local}:00Z`);
  const guess = offsetAt(asUtc);
  return offsetAt(new Date(asUtc.getTime() - minutes(guess) * 60000));
}

function setUp(card) {
  const id = card.dataset.post;
  const error = card.querySelector(".error");
  const textarea = card.querySelector("textarea");
  const counter = card.querySelector(".counter");
  const save = card.querySelector(".save");
  const when = card.querySelector('input[type="datetime-local"]');
  const offset = card.querySelector(".offset");
  let timer = null;
  let asked = 0;

  async function change(method, path, body) {
    error.textContent = "";
    try {
      await api(method, path, body);
      location.reload();
    } catch (problem) {
      error.textContent = problem.message;
    }
  }

  async function count() {
    const question = ++asked;
    try {
      const answer = await api("POST", "/api/social/count", { platform: card.dataset.platform, text: textarea.value });
      if (question !== asked) return; // a later keystroke's answer will follow
      counter.querySelector(".length").textContent = answer.length;
      counter.classList.toggle("over", !answer.fits);
      textarea.setAttribute("aria-invalid", String(!answer.fits));
      save.disabled = !answer.fits || answer.length === 0;
    } catch (problem) {
      error.textContent = problem.message;
    }
  }

  textarea.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(count, DEBOUNCE_MS);
  });
  card.querySelector("details").addEventListener("toggle", (event) => event.target.open && count());
  card.querySelector(".text-form").addEventListener("submit", (event) => {
    event.preventDefault();
    change("PATCH", `/api/social/posts/${id}`, { text: textarea.value });
  });

  const showOffset = () => when.value && (offset.textContent = zoneOffset(card.dataset.zone, when.value));
  when.addEventListener("input", showOffset);
  showOffset();
  card.querySelector(".reschedule-form").addEventListener("submit", (event) => {
    event.preventDefault();
    change("POST", `/api/social/posts/${id}/reschedule`, { at: `${when.value}:00${zoneOffset(card.dataset.zone, when.value)}` });
  });

  card.querySelector(".cancel").addEventListener("click", () => {
    if (confirm("Cancel this post? It will not be published.")) change("POST", `/api/social/posts/${id}/cancel`);
  });
}

for (const card of document.querySelectorAll("article.post")) {
  if (card.querySelector("details")) setUp(card);
}
