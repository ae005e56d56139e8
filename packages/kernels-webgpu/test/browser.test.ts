/**
 * The WebGPU backend in a real browser: bundle test/browser/page.ts with esbuild, serve it on 127.0.0.1, drive
 * Debian's Chromium headless with --enable-unsafe-webgpu through playwright-core, run the representative subset
 * (matmul, softmax, attention forward + backward, cross-entropy) in the page, and compare with the same subset on
 * the CPU backend in Node. Fails (does not skip) when Chromium or its WebGPU adapter is missing: install them with
 * scripts/setup-webgpu-deps.sh, or point CHROMIUM_PATH at a Chromium/Chrome binary.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '@peftjs/tensor';
import { build } from 'esbuild';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type CaseOutputs, makeInputs, runCases } from './browser/cases.js';
import { relError } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));

function findChromium(): string {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new Error(
    'no Chromium found (looked at $CHROMIUM_PATH, /usr/bin/chromium, /usr/bin/chromium-browser, /usr/bin/google-chrome): ' +
      'run scripts/setup-webgpu-deps.sh (Debian: apt-get install chromium) or set CHROMIUM_PATH',
  );
}

let server: Server | null = null;
let context: BrowserContext | null = null;
let userDataDir = '';

beforeAll(async () => {
  const executablePath = findChromium();
  const bundle = await build({
    entryPoints: [join(here, 'browser/page.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  const js = bundle.outputFiles[0].text;
  const html =
    '<!doctype html><meta charset="utf-8"><title>peftjs webgpu</title><script type="module" src="/page.js"></script>';
  server = createServer((req, res) => {
    if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(js);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(html);
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  userDataDir = mkdtempSync(join(tmpdir(), 'peftjs-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--enable-unsafe-webgpu',
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

afterAll(async () => {
  await context?.close();
  server?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

it('matmul, softmax, attention fwd+bwd and cross-entropy fwd+bwd in Chromium match the CPU backend', async () => {
  const page = await context!.newPage();
  const logs: string[] = [];
  page.on('console', (m) => logs.push(`[page ${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[page error] ${e.message}`));
  const { port } = server!.address() as { port: number };
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => document.title === 'peftjs-webgpu-ready', undefined, { timeout: 30_000 });

  const inputs = makeInputs();
  let result: { adapter: string; platform: string; outputs: CaseOutputs };
  try {
    result = await page.evaluate((inp) => window.peftjsRun(inp), inputs);
  } catch (e) {
    // no adapter in the browser: WebGPUUnavailableError from the page, with the page's log
    throw new Error(`the subset failed in Chromium: ${(e as Error).message}\n${logs.join('\n')}`);
  }
  console.log(`[webgpu] browser adapter: ${result.adapter}`);
  expect(result.platform).toBe('browser');

  await T.setBackend('cpu');
  const want = await runCases(inputs);
  expect(Object.keys(result.outputs).sort()).toEqual(Object.keys(want).sort());
  for (const [name, w] of Object.entries(want)) {
    const got = result.outputs[name];
    expect(got.length, name).toBe(w.length);
    expect(relError(got, w), `${name}: relative error`).toBeLessThan(1e-5);
  }
  // the page freed every tensor it made
  expect(result.outputs['memory.tensorsLeft']).toEqual([0]);
  await page.close();
});
