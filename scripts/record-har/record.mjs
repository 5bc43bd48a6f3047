// Record a HAR of a real browser session (headless Chromium driven by Playwright's
// recordHar) against a small invoice page served here on 127.0.0.1, for the e2e test
// of `einv-load init --from-har`. Every request goes to 127.0.0.1.
//
//   node record.mjs OUT.har [CHROMIUM]
//
// The page loads a stylesheet, a script, an image and a font (static assets init leaves
// out), calls the invoice API of its own origin (the endpoints `einv-load serve`
// answers), sends a Cookie and secret headers (placeholders, never written), and calls a
// second origin (another port) that init leaves out as another host.
import http from "node:http";
import { chromium } from "playwright-core";

const [out, executablePath = "/usr/bin/chromium"] = process.argv.slice(2);
if (!out) {
  console.error("usage: node record.mjs OUT.har [CHROMIUM]");
  process.exit(2);
}

const listen = (handler) =>
  new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });

const other = await listen((req, res) => {
  req.resume();
  res.writeHead(204, { "access-control-allow-origin": "*" }).end();
});
const otherOrigin = `http://127.0.0.1:${other.address().port}`;

const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>invoices</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body><img src="/static/logo.svg" alt="logo"><h1>Invoices</h1><p id="out">...</p>
<script src="/static/app.js"></script></body></html>`;

const app = `
document.cookie = "sid=demo-session-cookie-4f2a; path=/";
const secret = { "authorization": "Bearer demo-secret-token-9c1e", "x-api-key": "demo-api-key-77b0" };
const json = (r) => r.json();
async function main() {
  const seen = [];
  for (let i = 0; i < 3; i++) {
    seen.push(await fetch("/api/v1/taxpayers/91350100M000100Y43", { headers: secret }).then(json));
  }
  seen.push(await fetch("/api/v1/taxpayers/91350100M000100Y44", { headers: secret }).then(json));
  for (let i = 0; i < 2; i++) {
    const body = JSON.stringify({ order_no: "WEB-" + i, amount: "113.00", status: "paid" });
    await fetch("/api/v1/payments/callback", {
      method: "POST", body, headers: { ...secret, "content-type": "application/json" },
    }).then(json);
  }
  await fetch("${otherOrigin}/collect", { method: "POST", body: "page=invoices", mode: "no-cors" });
  document.getElementById("out").textContent = JSON.stringify(seen);
  document.title = "done";
}
main();
`;

const files = {
  "/": ["text/html; charset=utf-8", page],
  "/static/style.css": ["text/css", "@font-face{font-family:x;src:url(/static/x.woff2)} body{font-family:x,sans-serif}"],
  "/static/app.js": ["text/javascript", app],
  "/static/logo.svg": ["image/svg+xml", '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>'],
  "/static/x.woff2": ["font/woff2", "wOF2"],
};

const site = await listen((req, res) => {
  req.resume();
  const path = req.url.split("?")[0];
  const send = (status, type, body) => res.writeHead(status, { "content-type": type }).end(body);
  if (files[path]) return send(200, ...files[path]);
  if (req.method === "GET" && path.startsWith("/api/v1/taxpayers/")) {
    return send(200, "application/json", JSON.stringify({ code: "0000", valid: true }));
  }
  if (req.method === "POST" && path === "/api/v1/payments/callback") {
    return send(200, "application/json", '{"code":"0000"}');
  }
  send(404, "application/json", '{"code":"E404"}');
});
const origin = `http://127.0.0.1:${site.address().port}`;

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
try {
  // Bodies embedded (the default): with content "omit" Playwright drops request bodies too.
  const context = await browser.newContext({ recordHar: { path: out } });
  const tab = await context.newPage();
  await tab.goto(`${origin}/`);
  await tab.waitForFunction(() => document.title === "done", null, { timeout: 30000 });
  await context.close(); // writes the HAR
} finally {
  await browser.close();
  site.close();
  other.close();
}
console.log(`recorded ${out} from ${origin}`);
