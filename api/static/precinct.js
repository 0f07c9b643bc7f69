// Installer page: one precinct's cameras and statuses, and a "Check now" button.
"use strict";

let code = new URLSearchParams(location.search).get("code");

async function show() {
  const p = await api(`/api/v1/readiness/precincts/${encodeURIComponent(code)}`);
  document.getElementById("title").textContent = `${p.code} — ${p.name}`;
  document.getElementById("state").replaceChildren(badge(p.state));
  document.getElementById("reasons").replaceChildren(
    ...p.reasons.map((r) => el("li", {}, r.message)));
  const tbody = document.querySelector("#cameras tbody");
  tbody.replaceChildren();
  for (const cam of p.cameras) {
    const picture = el("td", {});
    tbody.append(el("tr", { "data-camera": cam.id },
      el("td", {}, cam.name, cam.enabled ? "" : " (disabled)"),
      el("td", {}, badge(cam.hard_status || cam.status),
        cam.status && cam.status !== cam.hard_status
          ? el("div", {}, `last check: ${cam.status} (awaiting confirmation)`) : null),
      el("td", {}, when(cam.last_check_at), cam.stale ? " (stale)" : ""),
      el("td", {}, (cam.reasons || []).map((r) => r.message).join("; ")),
      picture));
    if (cam.thumbnail_url) thumbnail(cam.id).then((img) => picture.append(img));
  }
  document.getElementById("check").disabled = false;
}

async function checkNow() {
  const button = document.getElementById("check");
  button.disabled = true;
  setStatus("Checking every camera… (a few seconds)");
  try {
    const run = await api(`/api/v1/sites/${encodeURIComponent(code)}/check`, { method: "POST" });
    const state = run.readiness ? run.readiness.state.replace("_", " ") : "unknown";
    setStatus(`Checked ${run.checks.length} camera(s): precinct is ${state}.`);
    await show();
  } catch (err) {
    if (err.status !== 401) setStatus(err.message, true);
  } finally {
    button.disabled = false;
  }
}

document.getElementById("check").addEventListener("click", checkNow);
document.getElementById("choose").addEventListener("submit", (event) => {
  event.preventDefault();
  code = document.getElementById("code").value.trim();
  history.replaceState(null, "", `?code=${encodeURIComponent(code)}`);
  show().catch((err) => setStatus(err.message, true));
});

setupLogin(async (me) => {
  if (!code && me.scope_site_code) code = me.scope_site_code;
  if (code) {
    document.getElementById("code").value = code;
    await show();
  }
});
