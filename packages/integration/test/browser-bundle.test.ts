// Every library package's main entry bundles for a browser as a user's bundler would (esbuild, platform 'browser',
// no stubs, no externals), with no Node built-in and no Node global (`process`, `Buffer`, `require`, …) left in it;
// and the core packages together stay within their size budget (minified + gzipped).
import { gzipSync } from 'node:zlib';
import { build, type Message } from 'esbuild';
import { describe, expect, it } from 'vitest';

const PACKAGES = [
  '@peftjs/tensor',
  '@peftjs/kernels-webgpu',
  '@peftjs/nn',
  '@peftjs/safetensors',
  '@peftjs/models',
  '@peftjs/registry',
  '@peftjs/lora',
  '@peftjs/dora',
  '@peftjs/ia3',
  '@peftjs/trainer',
  '@peftjs/tiny-llama',
];

/**
 * Free references to these Node globals (which throw ReferenceError in a page, and make some bundlers inject a
 * polyfill) are renamed by `define` to a marker we search for; strings, comments and properties are untouched.
 * Feature detection through a property (`globalThis.process?.versions?.node`) is safe everywhere and allowed.
 */
const NODE_GLOBALS = ['process', 'Buffer', 'require', '__dirname', '__filename', 'global', 'setImmediate'];
const MARK = '__PEFTJS_NODE_GLOBAL_';
const define = Object.fromEntries(NODE_GLOBALS.map((g) => [g, `${MARK}${g}__`]));

interface BundleResult {
  errors: Message[];
  code: string;
}

async function bundle(contents: string, minify = false): Promise<BundleResult> {
  try {
    const r = await build({
      stdin: { contents, resolveDir: import.meta.dirname, sourcefile: 'entry.js', loader: 'js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      write: false,
      minify,
      logLevel: 'silent',
      // assets the packages reference with new URL(…, import.meta.url) stay URLs, as in any bundler
      loader: { '.json': 'json' },
      define,
    });
    return { errors: [], code: r.outputFiles[0].text };
  } catch (e) {
    return { errors: (e as { errors?: Message[] }).errors ?? [{ text: String(e) } as Message], code: '' };
  }
}

const describeErrors = (errors: Message[]) =>
  errors.map((e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`).join('\n');

/** The Node globals a bundle refers to. */
const nodeGlobals = (code: string) => [
  ...new Set([...code.matchAll(/__PEFTJS_NODE_GLOBAL_(\w+?)__/g)].map((m) => m[1])),
];

describe('browser bundles of the main entries', () => {
  for (const pkg of PACKAGES) {
    it(`${pkg} bundles with platform 'browser', without Node built-ins or globals`, async () => {
      const { errors, code } = await bundle(`export * from '${pkg}';`);
      expect(describeErrors(errors)).toBe('');
      expect(code.length).toBeGreaterThan(1000);
      expect(nodeGlobals(code)).toEqual([]);
    });
  }

  it('the probe catches what it must: a Node built-in fails, a process reference is found, a string is not', async () => {
    const builtin = await bundle(`import { readFile } from 'node:fs/promises'; export { readFile };`);
    expect(describeErrors(builtin.errors)).toMatch(/node:fs\/promises/);
    const global = await bundle(
      `export const a = () => process.env.X; export const b = 'the process'; export const c = () => Buffer.from([]);
       export const d = () => typeof require; export const e = globalThis.process?.versions?.node;`,
    );
    expect(global.errors).toEqual([]);
    expect(nodeGlobals(global.code).sort()).toEqual(['Buffer', 'process', 'require']);
  });
});

describe('bundle-size budget', () => {
  // the core of a page that fine-tunes: every export of these seven (nothing tree-shaken away)
  const CORE = [
    '@peftjs/tensor',
    '@peftjs/kernels-webgpu',
    '@peftjs/nn',
    '@peftjs/models',
    '@peftjs/registry',
    '@peftjs/lora',
    '@peftjs/trainer',
  ];
  // 120 KiB until the CPU backend's WebAssembly kernels grew (issue 16: elementwise.wat is 14 KiB, about 7 KiB of
  // the gzipped bundle, for a training step about 1.7× faster than with the JavaScript loops they replace)
  const BUDGET = 128 * 1024;

  it(`tensor, kernels-webgpu, nn, models, registry, lora and trainer together: ≤ ${BUDGET / 1024} KiB min+gzip`, async () => {
    const entry = CORE.map((p, i) => `import * as m${i} from '${p}'; export { m${i} };`).join('\n');
    const { errors, code } = await bundle(entry, true);
    expect(describeErrors(errors)).toBe('');
    expectWithin(code);
  });

  function expectWithin(code: string) {
    const gz = gzipSync(code, { level: 9 }).byteLength;
    console.log(`core bundle: ${(code.length / 1024).toFixed(1)} KiB minified, ${(gz / 1024).toFixed(1)} KiB gzipped`);
    expect(gz).toBeLessThanOrEqual(BUDGET);
    expect(gz).toBeGreaterThan(20 * 1024); // it really holds the packages
  }
});
