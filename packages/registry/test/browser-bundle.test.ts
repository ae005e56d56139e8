/**
 * The registry's main entry is browser-safe: bundled by esbuild for the browser (no stubs, no externals), it pulls
 * in no Node built-in and never touches `process`. The Node entry (`@peftjs/registry/node`) is the only place file
 * I/O lives.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

async function bundle(entry: string) {
  return build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
}

describe('@peftjs/registry in the browser', () => {
  it('the main entry bundles for the browser with no Node built-in and no process reference', async () => {
    const result = await bundle('src/index.ts');
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((i) => /^(node:|fs|path|os|crypto|url|module)(\/|$)/.test(i))).toEqual([]);
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/\bprocess\.(env|pid|platform|memoryUsage|stderr|stdout)/);
    expect(code).not.toMatch(/from\s*["']node:/);
    expect(code).toContain('PeftModel');
  });

  it('the check is not vacuous: the Node entry does not bundle for the browser', async () => {
    await expect(bundle('src/node.ts')).rejects.toThrow(/node:fs\/promises|platform/);
  });
});
