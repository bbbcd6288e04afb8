// The editors' JSON API, called with the session's CSRF token (rendered by each page into
// <meta name="csrf-token">); a refusal becomes an Error carrying the API's explanation.
const csrf = document.querySelector('meta[name="csrf-token"]').content;

export async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Array.isArray(data.detail)
      ? data.detail.map((error) => `${error.loc.at(-1)}: ${error.msg}`).join("; ")
      : data.detail;
    throw new Error(detail || `${response.status} ${response.statusText}`);
  }
  return data;
}
