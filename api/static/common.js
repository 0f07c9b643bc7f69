// camfleet pages: the token lives in sessionStorage; every call sends it as a bearer token.
"use strict";

const TOKEN_KEY = "camfleet.token";

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, options) {
  const opts = Object.assign({ headers: {} }, options || {});
  opts.headers["Authorization"] = `Bearer ${token()}`;
  const response = await fetch(path, opts);
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin("The token was refused; enter a valid one.");
    throw new ApiError(401, null);
  }
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.blob();
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// Thumbnails need the bearer token too, so they are fetched and shown as object URLs.
async function thumbnail(cameraId) {
  const img = el("img", { class: "thumb", alt: `camera ${cameraId}`, "data-camera": cameraId });
  try {
    const blob = await api(`/api/v1/cameras/${cameraId}/thumbnail`);
    img.src = URL.createObjectURL(blob);
  } catch (err) {
    img.alt = "no picture";
  }
  return img;
}

function when(iso) {
  if (!iso) return "never";
  const d = new Date(iso);
  return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function badge(state) {
  return el("span", { class: `badge ${state || "none"}` }, (state || "—").replace("_", " "));
}

function showLogin(message) {
  document.getElementById("login").hidden = false;
  document.getElementById("content").hidden = true;
  document.getElementById("login-message").textContent = message || "";
}

function setupLogin(start) {
  document.getElementById("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("token-input");
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    input.value = "";
    begin(start);
  });
  document.getElementById("signout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin("Signed out.");
  });
  if (token()) begin(start);
  else showLogin("");
}

async function begin(start) {
  document.getElementById("login").hidden = true;
  document.getElementById("content").hidden = false;
  try {
    const me = await api("/api/v1/me");
    document.getElementById("who").textContent = `${me.name} (${me.role})`;
    await start(me);
  } catch (err) {
    if (err.status !== 401) setStatus(err.message, true);
  }
}

function setStatus(text, bad) {
  const node = document.getElementById("status");
  node.textContent = text;
  node.className = bad ? "status bad" : "status";
}
