// Loads pages of the served API reference in headless Chromium and fails on any console error,
// page error, failed or refused request; switches the language tabs, searches the index, and
// saves screenshots (light, dark, phone).
//
// usage: node check-pages.mjs <site URL ending in /> <screenshot folder> <page>...
// where each page is relative to the site (the empty string is the index).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { chromium } from "playwright-core";

const [site, shots, ...pages] = process.argv.slice(2);
if (!site || !shots || pages.length === 0) {
  console.error("usage: node check-pages.mjs <site URL> <screenshot folder> <page>...");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

const problems = [];
const userDataDir = mkdtempSync(join(tmpdir(), "keyward-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1280, height: 900 },
});

/** Opens `path` in a fresh tab that records every problem the page meets. */
async function open(path) {
  const page = await context.newPage();
  const where = path || "index";
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      problems.push(`${where}: console ${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`${where}: uncaught ${error.message}`));
  page.on("requestfailed", (request) =>
    problems.push(`${where}: request failed: ${request.url()} (${request.failure()?.errorText})`),
  );
  page.on("response", (response) => {
    if (response.status() >= 400) {
      problems.push(`${where}: ${response.status()} for ${response.url()}`);
    }
  });
  const response = await page.goto(new URL(path, site).href, { waitUntil: "load" });
  if (!response || response.status() !== 200) {
    problems.push(`${where}: answered ${response?.status()}`);
  }
  return page;
}

function expect(condition, what) {
  if (!condition) {
    problems.push(what);
  }
}

/** Clicks every language tab and checks that exactly its panel shows. */
async function switchTabs(page, path) {
  const tabs = page.getByRole("tab");
  const count = await tabs.count();
  expect(count === 4, `${path}: ${count} language tabs, not 4`);
  for (let i = 0; i < count; i += 1) {
    const tab = tabs.nth(i);
    const language = await tab.getAttribute("data-lang");
    await tab.click();
    expect((await tab.getAttribute("aria-selected")) === "true", `${path}: the ${language} tab is not selected`);
    const visible = await page.locator('[role="tabpanel"]:visible').evaluateAll((panels) =>
      panels.map((panel) => panel.dataset.lang),
    );
    expect(
      visible.length === 1 && visible[0] === language,
      `${path}: after clicking ${language}, the visible panels are ${visible}`,
    );
    const code = await page.locator(`#sample-${language} code`).innerText();
    expect(code.length > 50, `${path}: the ${language} example is empty`);
  }
}

/** The page must fit a phone's width: nothing wider than the screen but scrollable tables and code. */
async function fitsWidth(page, path) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `${path}: ${overflow}px wider than a phone's screen`);
}

let checked = 0;
for (const path of pages) {
  const page = await open(path);
  if (path.startsWith("operations/")) {
    await switchTabs(page, path);
  }
  await page.close();
  checked += 1;
}

// The language chosen last is remembered on the next page.
{
  const operation = pages.find((path) => path.startsWith("operations/"));
  const page = await open(operation);
  await page.getByRole("tab", { name: "Python" }).click();
  await page.goto(new URL(pages.filter((p) => p.startsWith("operations/")).at(-1), site).href);
  const selected = await page.locator('[role="tab"][aria-selected="true"]').getAttribute("data-lang");
  expect(selected === "python", `the chosen language is not remembered across pages (got ${selected})`);
  await page.getByRole("tab", { name: "curl" }).click();
  await page.close();
}

// The index's search narrows the operations to those matching, and says when none does.
{
  const page = await open("");
  const search = page.getByLabel("Search the operations");
  await search.fill("revoke");
  const rows = await page.locator("tr[data-search-text]:visible").allInnerTexts();
  expect(rows.length >= 1 && rows.every((row) => /revoke/i.test(row)), `searching "revoke" shows ${rows}`);
  await search.fill("no operation is called this");
  expect(await page.locator(".search-empty").isVisible(), "a search without a match says so");
  await search.fill("");
  await page.screenshot({ path: join(shots, "index-light.png") });
  await page.close();
}

// Screenshots of one operation: light, dark, and on a phone in both schemes.
{
  const operation = pages.find((path) => path.includes("api_key_create")) ?? pages.find((p) => p.startsWith("operations/"));
  const page = await open(operation);
  await page.screenshot({ path: join(shots, "operation-light.png") });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: join(shots, "operation-dark.png") });
  await page.locator("#responses").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "operation-dark-responses.png") });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await fitsWidth(page, operation);
  await page.screenshot({ path: join(shots, "operation-phone-dark.png") });
  await page.emulateMedia({ colorScheme: "light" });
  await page.screenshot({ path: join(shots, "operation-phone-light.png") });
  for (const path of [pages[0], "problems.html", "schemas/ApiKey.html"]) {
    const other = await open(path);
    await other.setViewportSize({ width: 390, height: 844 });
    await fitsWidth(other, path || "index");
    await other.close();
  }
  await page.close();
}

await context.close();
rmSync(userDataDir, { recursive: true, force: true });

if (problems.length > 0) {
  console.error(`${problems.length} problems in ${checked} pages:\n${problems.join("\n")}`);
  process.exit(1);
}
console.log(`${checked} pages loaded cleanly in Chromium; screenshots in ${shots}`);
