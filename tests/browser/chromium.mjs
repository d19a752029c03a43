// Drives Debian's Chromium for tests/api/browser.rs and prints one JSON line of what it saw.
//
// 1. GraphiQL: opens GET /graphql of the server at HQ_URL, pastes HQ_TOKEN into the header
//    editor, runs `{ districts { code } }`, reads the result pane, takes a screenshot, and
//    records every request the browser made (to show that none left the server's origin).
// 2. CORS: opens the pages at HQ_ALLOWED_PAGE and HQ_DENIED_PAGE (other origins), each of which
//    calls the API with fetch() and a bearer token, and reports what fetch() got.
//
// Environment: HQ_URL, HQ_TOKEN, HQ_OUT_DIR (screenshot), HQ_PROFILE_DIR (a fresh, empty
// user-data-dir), HQ_ALLOWED_PAGE, HQ_DENIED_PAGE, HQ_CHROMIUM (default /usr/bin/chromium).
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const api = env('HQ_URL');
const token = env('HQ_TOKEN');
const outDir = env('HQ_OUT_DIR');
const profileDir = env('HQ_PROFILE_DIR');
const allowedPage = env('HQ_ALLOWED_PAGE');
const deniedPage = env('HQ_DENIED_PAGE');
const executablePath = process.env.HQ_CHROMIUM || '/usr/bin/chromium';

// Never hang CI: the whole run has two minutes.
setTimeout(() => {
  console.error('the browser run took longer than 120 s');
  process.exit(3);
}, 120_000).unref();

const context = await chromium.launchPersistentContext(profileDir, {
  executablePath,
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

const report = { requests: [], corsRequests: [], consoleErrors: [], pageErrors: [] };
let phase = 'graphiql';
try {
  context.on('request', (request) =>
    (phase === 'graphiql' ? report.requests : report.corsRequests).push(request.url()),
  );

  // 1. GraphiQL.
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (message) => {
    if (message.type() === 'error') report.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => report.pageErrors.push(String(error)));
  const response = await page.goto(`${api}/graphql`, { waitUntil: 'load' });
  report.pageStatus = response.status();
  report.csp = response.headers()['content-security-policy'] ?? null;
  await page.waitForSelector('.graphiql-execute-button', { timeout: 30_000 });

  // The header editor's preset, before anything is typed.
  report.presetHeaders = await page.evaluate(
    () => document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').CodeMirror.getValue(),
  );

  // Type as a user would: focus an editor, select all, type the new text.
  const replace = async (selector, text) => {
    await page.click(`${selector} .CodeMirror-lines`);
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(text);
  };
  await replace('.graphiql-query-editor', '{ districts { code } }');
  await replace(
    '.graphiql-editor-tool .graphiql-editor:not(.hidden)',
    `{"Authorization": "Bearer ${token}"}`,
  );
  report.headers = await page.evaluate(
    () => document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').CodeMirror.getValue(),
  );
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    () => document.querySelector('.result-window .CodeMirror')?.CodeMirror.getValue().includes('"data"'),
    null,
    { timeout: 30_000 },
  );
  report.result = await page.evaluate(
    () => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue(),
  );
  // The first lines of the result pane as rendered on screen (what a user sees).
  report.resultVisibleText = await page.innerText('.result-window');
  report.screenshot = path.join(outDir, 'graphiql.png');
  await page.screenshot({ path: report.screenshot });

  // 2. CORS: a page on another origin calls the API.
  phase = 'cors';
  const callFrom = async (pageUrl) => {
    const other = await context.newPage();
    const hash = encodeURIComponent(JSON.stringify({ api, token }));
    await other.goto(`${pageUrl}#${hash}`, { waitUntil: 'load' });
    await other.waitForFunction(() => window.__result !== undefined, null, { timeout: 30_000 });
    const result = await other.evaluate(() => window.__result);
    await other.close();
    return result;
  };
  report.allowed = await callFrom(allowedPage);
  report.denied = await callFrom(deniedPage);
} finally {
  await context.close();
}
console.log(JSON.stringify(report));
