/**
 * The built playground in headless Chromium (playwright-core driving the system's /usr/bin/chromium, or
 * $CHROMIUM_PATH): 5 LoRA steps on WebGPU and 5 on the CPU backend give Node's losses for the same seed and data;
 * the adapter downloads as PEFT files, loads back into a fresh page and gives the same held-out loss. Also: a page
 * without WebGPU says so and trains on the CPU. Writes a screenshot (docs/images/playground.png with
 * PEFTJS_UPDATE_SCREENSHOT=1).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '@peftjs/lora';
import '@peftjs/dora';
import { getPeftModel } from '@peftjs/registry';
import { manualSeed } from '@peftjs/tensor';
import { loadCorpus, loadTinyLlama } from '@peftjs/tiny-llama';
import { evaluate, Trainer } from '@peftjs/trainer';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterConfig, DEFAULT_SPEC, datasets, type RunSpec, trainerOptions } from '../src/recipe.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// the page's form gives these (maxTrainSequences and heldOutSequences are the page's fixed 256 and 16)
const SPEC: RunSpec = { ...DEFAULT_SPEC, method: 'lora', steps: 5, seqLen: 32, batchSize: 4 };
const TOL = 1e-5;
const haveChromium = existsSync(CHROMIUM);

/** Node's run of the same recipe on the CPU backend: the step losses and the held-out loss after training. */
async function nodeReference(): Promise<{ losses: number[]; heldOutAfter: number }> {
  const { model, tokenizer } = await loadTinyLlama({ backend: 'cpu' });
  const { train, heldOut } = loadCorpus('moby-dick');
  const data = datasets(tokenizer, train, heldOut, SPEC);
  manualSeed(SPEC.seed);
  const peft = getPeftModel(model, adapterConfig(SPEC));
  const r = await new Trainer({ model: peft, train: data.train, ...trainerOptions(SPEC) }).train();
  const heldOutAfter = (await evaluate(model, data.heldOut, { batchSize: 8 })).loss;
  model.dispose();
  return { losses: r.history.map((h) => h.loss), heldOutAfter };
}

describe.skipIf(!haveChromium)('playground in headless Chromium', () => {
  let server: PreviewServer;
  let url: string;
  let browser: Browser;
  let ref: { losses: number[]; heldOutAfter: number };
  let downloads: string;

  beforeAll(async () => {
    await build({ root: ROOT, logLevel: 'error' });
    server = await preview({
      root: ROOT,
      logLevel: 'error',
      preview: { host: '127.0.0.1', port: 0, strictPort: false },
    });
    url = server.resolvedUrls!.local[0];
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--enable-unsafe-webgpu'],
    });
    ref = await nodeReference();
    downloads = await mkdtemp(join(tmpdir(), 'peftjs-playground-'));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (downloads) await rm(downloads, { recursive: true, force: true });
  });

  async function open(query: string, contextOpts: Parameters<Browser['newContext']>[0] = {}): Promise<Page> {
    const ctx = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1200, height: 900 },
      ...contextOpts,
    });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`${url}?${query}`);
    await waitState(page, ['idle']);
    return page;
  }

  async function waitState(page: Page, states: string[]) {
    await page.waitForFunction(
      (s) => s.includes(document.body.dataset.state ?? '') || document.body.dataset.state === 'error',
      states,
      { timeout: 200_000 },
    );
    const state = await page.evaluate(() => document.body.dataset.state);
    if (state === 'error' && !states.includes('error'))
      throw new Error(`page error: ${await page.locator('#status').textContent()}`);
  }

  interface Trained {
    losses: number[];
    heldOutAfter: number;
    backend: string;
    threads: { mode: string; started: number; helperTasks: number };
  }
  /** Train the SPEC in the page; with a prompt, the page also generates before and after (slower on the CPU). */
  async function trainIn(page: Page, prompt = ''): Promise<Trained> {
    await page.fill('#steps', String(SPEC.steps));
    await page.fill('#seqlen', String(SPEC.seqLen));
    await page.fill('#batch', String(SPEC.batchSize));
    await page.fill('#seed', String(SPEC.seed));
    await page.fill('#rank', String(SPEC.r));
    await page.fill('#dropout', String(SPEC.dropout));
    await page.fill('#lr', String(SPEC.lr));
    await page.selectOption('#method', SPEC.method);
    await page.selectOption('#corpus', 'moby-dick');
    await page.fill('#prompt', prompt);
    await page.click('#train');
    await waitState(page, ['done']);
    return page.evaluate(() => {
      const r = (window as unknown as { playground: { lastReport: unknown } }).playground.lastReport as {
        history: { loss: number }[];
        heldOutAfter: number;
        backend: string;
        cpuThreading: Trained['threads'];
      };
      return {
        losses: r.history.map((h) => h.loss),
        heldOutAfter: r.heldOutAfter,
        backend: r.backend,
        threads: r.cpuThreading,
      };
    });
  }

  it('trains 5 LoRA steps on WebGPU and on the CPU with Node’s losses; the downloaded adapter reloads exactly', async () => {
    expect(ref.losses).toHaveLength(5);
    const page = await open('backend=webgpu');
    const env = await page.evaluate(
      () => (window as unknown as { playground: { env: { backend: string } } }).playground.env,
    );
    expect(env.backend).toBe('webgpu');
    const gpu = await trainIn(page);
    expect(gpu.backend).toBe('webgpu');
    console.log(`node losses   ${ref.losses.join(' ')}\nwebgpu losses ${gpu.losses.join(' ')}`);
    for (let i = 0; i < 5; i++)
      expect(Math.abs(gpu.losses[i] - ref.losses[i]), `WebGPU step ${i + 1}`).toBeLessThan(TOL);

    await page.selectOption('#backend', 'cpu');
    await waitState(page, ['idle']);
    const cpu = await trainIn(page, 'Call me ');
    expect(cpu.backend).toBe('cpu');
    console.log(`cpu losses    ${cpu.losses.join(' ')}`);
    for (let i = 0; i < 5; i++) expect(Math.abs(cpu.losses[i] - ref.losses[i]), `CPU step ${i + 1}`).toBeLessThan(TOL);
    expect(Math.abs(cpu.heldOutAfter - ref.heldOutAfter)).toBeLessThan(TOL);
    // the page is cross-origin isolated and trains in a worker: the CPU backend ran on SharedArrayBuffer workers
    console.log('cpu threads', cpu.threads);
    if ((await page.evaluate(() => navigator.hardwareConcurrency)) > 1) {
      expect(cpu.threads.mode).toBe('web-workers');
      expect(cpu.threads.started).toBeGreaterThan(1);
      expect(cpu.threads.helperTasks).toBeGreaterThan(0);
    }
    const shot = await page.screenshot({ fullPage: true });
    expect(shot.byteLength).toBeGreaterThan(10_000);
    if (process.env.PEFTJS_UPDATE_SCREENSHOT) await writeFile(join(ROOT, '../../docs/images/playground.png'), shot);

    // download the adapter: PEFT's two files
    const saved: string[] = [];
    const done = new Promise<void>((resolve) => {
      page.on('download', async (d) => {
        const to = join(downloads, d.suggestedFilename());
        await d.saveAs(to);
        saved.push(to);
        if (saved.length === 2) resolve();
      });
    });
    await page.click('#download');
    await done;
    expect(saved.map((f) => f.slice(downloads.length + 1)).sort()).toEqual([
      'adapter_config.json',
      'adapter_model.safetensors',
    ]);
    const config = JSON.parse(await readFile(join(downloads, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: SPEC.r, task_type: 'CAUSAL_LM' });
    await page.context().close();

    // a fresh page (CPU) loads the files back and measures the same held-out loss
    const again = await open('backend=cpu');
    await again.selectOption('#corpus', 'moby-dick');
    await again.fill('#seqlen', String(SPEC.seqLen));
    await again.setInputFiles('#load', saved);
    await waitState(again, ['done']);
    const reloaded = await again.evaluate(
      () => (window as unknown as { playground: { lastHeldOutLoss: number } }).playground.lastHeldOutLoss,
    );
    console.log(`held-out loss: trained ${cpu.heldOutAfter}, reloaded ${reloaded}, node ${ref.heldOutAfter}`);
    expect(Math.abs(reloaded - cpu.heldOutAfter)).toBeLessThan(TOL);
    await again.context().close();
  });

  it('without WebGPU, says so and trains on the CPU backend', async () => {
    const ctx = await browser.newContext();
    // hide WebGPU as a browser without it would (the page tells its worker)
    await ctx.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
    });
    const page = await ctx.newPage();
    await page.goto(url);
    await waitState(page, ['idle']);
    const warning = page.locator('#webgpu-warning');
    expect(await warning.isVisible()).toBe(true);
    expect(await warning.textContent()).toMatch(/WebGPU is not available here .* CPU backend/);
    expect(await page.locator('#env').textContent()).toMatch(/Training on the CPU backend/);
    await ctx.close();
  });

  it('works offline once loaded: the page and the model come from its cache', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${url}?backend=cpu`);
    await waitState(page, ['idle']);
    await page.waitForFunction(
      () => (window as unknown as { playground: { offlineReady: boolean } }).playground.offlineReady,
      null,
      {
        timeout: 60_000,
      },
    );
    await ctx.setOffline(true);
    await page.reload();
    await waitState(page, ['idle']);
    expect(await page.locator('#env').textContent()).toMatch(/Training on the CPU backend/);
    await ctx.close();
  });
});
