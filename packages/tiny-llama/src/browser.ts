/**
 * `@peftjs/tiny-llama/browser` (also what `@peftjs/tiny-llama` resolves to under a bundler's `browser` condition):
 * the tiny LLaMA and its corpora for pages. The weights and the corpora are files next to the code, referenced as
 * `new URL('…', import.meta.url)`, which bundlers (Vite, webpack 5, Parcel, esbuild's `file` loader) copy as assets.
 *
 * ```ts
 * import { fetchCorpus, loadTinyLlama } from '@peftjs/tiny-llama/browser';
 * const { model, tokenizer } = await loadTinyLlama(); // fetches model.safetensors (3 MB)
 * const { train, heldOut } = await fetchCorpus('moby-dick');
 * ```
 * @packageDocumentation
 */
import {
  type CorpusName,
  type CorpusOptions,
  type CorpusSplit,
  joinMobyDick,
  type LoadTinyLlamaOptions,
  type MobyDickChapter,
  type SotuSpeech,
  splitMobyDick,
  splitSotu,
  type TinyLlama,
  tinyLlamaFromBytes,
} from './core.js';

export * from './core.js';

/** URL of the committed `model.safetensors` (an asset of this package). */
export const tinyLlamaWeightsUrl: URL = new URL('../weights/model.safetensors', import.meta.url);

/** URLs of the corpora's documents as JSON (written into `dist/corpora/` by the package build). */
export const corpusUrls: Record<CorpusName, URL> = {
  'moby-dick': new URL('./corpora/moby-dick.json', import.meta.url),
  sotu: new URL('./corpora/sotu.json', import.meta.url),
};

/** Options of the browser {@link loadTinyLlama}. */
export interface FetchTinyLlamaOptions extends LoadTinyLlamaOptions {
  /** The weights: their bytes, a Blob, or a URL to fetch (default {@link tinyLlamaWeightsUrl}). */
  weights?: ArrayBuffer | Uint8Array | Blob | string | URL;
  /** The `fetch` to use (default `globalThis.fetch`). */
  fetch?: typeof fetch;
}

async function fetchOk(f: typeof fetch, url: string | URL, what: string): Promise<Response> {
  const res = await f(url);
  if (!res.ok) throw new Error(`${what}: GET ${String(url)} failed: ${res.status} ${res.statusText}`);
  return res;
}

/** Load the tiny LLaMA in a page: its weights fetched (or given as bytes), on the given or active backend. */
export async function loadTinyLlama(opts: FetchTinyLlamaOptions = {}): Promise<TinyLlama> {
  const w = opts.weights ?? tinyLlamaWeightsUrl;
  const bytes =
    typeof w === 'string' || w instanceof URL
      ? await (await fetchOk(opts.fetch ?? fetch, w, 'loadTinyLlama')).arrayBuffer()
      : w;
  return tinyLlamaFromBytes(bytes, opts);
}

/** Options of the browser {@link fetchCorpus}. */
export interface FetchCorpusOptions extends CorpusOptions {
  /** Where the corpus JSON is (default {@link corpusUrls}[name]). */
  url?: string | URL;
  fetch?: typeof fetch;
}

/**
 * A corpus with the same deterministic train / held-out split as the Node entry's `loadCorpus` (see there), its
 * documents fetched as JSON (Moby Dick ~1.2 MB, SOTU ~10.8 MB).
 */
export async function fetchCorpus(name: CorpusName, opts: FetchCorpusOptions = {}): Promise<CorpusSplit> {
  if (name !== 'moby-dick' && name !== 'sotu')
    throw new Error(`fetchCorpus: unknown corpus '${name as string}' (moby-dick or sotu)`);
  const res = await fetchOk(opts.fetch ?? fetch, opts.url ?? corpusUrls[name], 'fetchCorpus');
  const docs = (await res.json()) as unknown[];
  return name === 'moby-dick'
    ? splitMobyDick(joinMobyDick(docs as MobyDickChapter[]), opts)
    : splitSotu(docs as SotuSpeech[], opts);
}
