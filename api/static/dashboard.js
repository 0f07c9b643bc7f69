// Monitoring dashboard: region → district rollup, and the not-ready list with pictures.
"use strict";

const NEXT_LEVEL = { region: "district", district: "constituency", constituency: null };
let selected = null; // {code, level}

function pct(site, state) {
  return `${site.counts[state]} (${site.percentages[state]}%)`;
}

async function showRollup() {
  const level = selected ? NEXT_LEVEL[selected.level] : "region";
  const title = document.getElementById("rollup-title");
  const tbody = document.querySelector("#rollup tbody");
  tbody.replaceChildren();
  if (!level) {
    title.textContent = `${selected.code}`;
    return;
  }
  const under = selected ? `&under=${encodeURIComponent(selected.code)}` : "";
  const page = await api(`/api/v1/readiness/rollup?level=${level}&page_size=500${under}`);
  title.textContent = selected ? `${selected.code}: ${level}s` : "Regions";
  if (selected) {
    tbody.append(el("tr", { class: "clickable", onclick: () => select(null) },
      el("td", { colspan: 6 }, "↑ back to all regions")));
  }
  for (const site of page.items) {
    tbody.append(el("tr", {
      class: "clickable", "data-code": site.code,
      onclick: () => select({ code: site.code, level: site.level }),
    },
      el("td", {}, `${site.code} — ${site.name}`), el("td", {}, site.total),
      el("td", {}, pct(site, "ready")), el("td", {}, pct(site, "degraded")),
      el("td", {}, pct(site, "not_ready")), el("td", {}, pct(site, "unknown"))));
  }
}

async function showNotReady() {
  const under = selected ? `&under=${encodeURIComponent(selected.code)}` : "";
  const page = await api(`/api/v1/readiness/precincts?state=not_ready&page_size=50${under}`);
  document.getElementById("notready-title").textContent =
    `Not-ready precincts${selected ? " in " + selected.code : ""} (${page.total})`;
  const tbody = document.querySelector("#notready tbody");
  tbody.replaceChildren();
  for (const p of page.items) {
    const reasons = el("ul", {}, ...p.reasons.map((r) => el("li", {}, r.message)));
    const pictures = el("td", {});
    const cameraIds = [...new Set(p.reasons.filter((r) => r.camera_id).map((r) => r.camera_id))];
    tbody.append(el("tr", { "data-code": p.code },
      el("td", {}, el("a", { href: `precinct.html?code=${encodeURIComponent(p.code)}` }, p.code),
        el("br"), p.name),
      el("td", {}, badge(p.state)), el("td", {}, reasons), el("td", {}, when(p.oldest_check_at)),
      pictures));
    for (const id of cameraIds.slice(0, 3)) thumbnail(id).then((img) => pictures.append(img));
  }
}

async function refresh() {
  try {
    await Promise.all([showRollup(), showNotReady()]);
    setStatus(`Updated ${when(new Date().toISOString())}`);
  } catch (err) {
    if (err.status !== 401) setStatus(err.message, true);
  }
}

function select(site) {
  selected = site;
  refresh();
}

document.getElementById("export").addEventListener("click", async (event) => {
  event.preventDefault();
  const blob = await api("/api/v1/readiness/export.csv");
  const link = el("a", { href: URL.createObjectURL(blob), download: "readiness.csv" });
  link.click();
});

setupLogin(async () => {
  await refresh();
  setInterval(refresh, 30000);
});
