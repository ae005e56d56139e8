/**
 * Installing only @peftjs/lora into an empty project: pack the workspace packages as they would be published,
 * install the lora tarball (its @peftjs dependencies resolved to the packed tarballs, fully offline), run LoRA
 * from the installed copy, and check that no other method package came along.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const PACKAGES = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** @peftjs/lora and what it depends on. */
const NEEDED = ['lora', 'nn', 'registry', 'safetensors', 'tensor'];

let work = '';
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function pack(pkg: string, dest: string): string {
  const out = execFileSync('pnpm', ['pack', '--pack-destination', dest], {
    cwd: join(PACKAGES, pkg),
    encoding: 'utf8',
  });
  const tgz = out.trim().split('\n').pop()!.trim();
  return tgz.startsWith('/') ? tgz : join(dest, tgz);
}

describe('installing @peftjs/lora alone', () => {
  it('installs from packed tarballs offline, runs, and brings no other method package', async () => {
    work = await mkdtemp(join(tmpdir(), 'peftjs-install-'));
    const tarballs = Object.fromEntries(NEEDED.map((p) => [p, pack(p, work)]));
    const project = join(work, 'app');
    execFileSync('mkdir', ['-p', project]);
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'app',
        private: true,
        type: 'module',
        // the app's own model code uses nn and tensor; the method comes from @peftjs/lora alone
        dependencies: {
          '@peftjs/lora': `file:${tarballs.lora}`,
          '@peftjs/nn': `file:${tarballs.nn}`,
          '@peftjs/tensor': `file:${tarballs.tensor}`,
        },
        overrides: Object.fromEntries(NEEDED.map((p) => [`@peftjs/${p}`, `file:${tarballs[p]}`])),
      }),
    );
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: project,
      stdio: 'pipe',
    });
    const installed = (await readdir(join(project, 'node_modules', '@peftjs'))).sort();
    expect(installed).toEqual(NEEDED);
    for (const other of ['dora', 'models', 'cli', 'kernels-webgpu', 'ia3', 'prompt', 'trainer'])
      expect(installed).not.toContain(other);

    await writeFile(
      join(project, 'main.mjs'),
      `import { getPeftModel } from '@peftjs/lora';
import { Linear, Module } from '@peftjs/nn';
import { randn } from '@peftjs/tensor';
class Net extends Module { constructor() { super(); this.registerModule('proj', new Linear(6, 4)); } forward(x) { return this.callLayer('proj', x); } }
const net = new Net();
const peft = getPeftModel(net, { peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['proj'] });
const y = net.forward(randn([3, 6]));
console.log(JSON.stringify({ shape: y.shape, keys: Object.keys(peft.adapterStateDict()) }));
`,
    );
    const out = JSON.parse(execFileSync('node', ['main.mjs'], { cwd: project, encoding: 'utf8' }));
    expect(out.shape).toEqual([3, 4]);
    expect(out.keys).toEqual(['base_model.model.proj.lora_A.weight', 'base_model.model.proj.lora_B.weight']);
  });
});
