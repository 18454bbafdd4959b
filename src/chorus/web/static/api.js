// The study's JSON API as the pages' scripts call it: the session's CSRF token sent, the app's own message on a refusal.

/** A request to ``root + path`` with ``body`` as JSON; its answer (null for 204), or an Error carrying the app's message. */
export async function send(root, csrf, method, path, body) {
  const response = await fetch(root + path, {
    method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: body && JSON.stringify(body),
  });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch { /* not JSON: a proxy's page */ }
    throw new Error(message);
  }
  return response.status === 204 ? null : response.json();
}
