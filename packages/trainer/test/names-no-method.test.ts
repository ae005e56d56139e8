/**
 * The trainer names no method: every method reaches it through the registry (presets, hooks). This scans the
 * trainer's sources for the names and PEFT types of every method the repository has, so a new method package that
 * leaks into the trainer fails here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const SRC = resolve(here, '../src');
const PACKAGES = resolve(here, '../..');

/** Method names: every package that registers a method, its directory name, plus PEFT's method vocabulary. */
const METHOD_WORDS = [
  'lora',
  'dora',
  'qlora',
  'ia3',
  'ia³',
  'vblora',
  'vb-lora',
  'waveft',
  'adalora',
  'prompt_tuning',
  'prompt-tuning',
  'p_tuning',
  'p-tuning',
  'prefix_tuning',
  'prefix-tuning',
  'prompt_encoder',
  'bottleneck',
  'houlsby',
  'pfeiffer',
  'nf4',
  'qr-adaptor',
  'quant-nf4',
  'prompt',
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe("@peftjs/trainer's sources name no method", () => {
  it('every method package is covered by the word list', () => {
    // a method package calls registerAdapter / registerPreset from its sources (the registry defines them)
    const methodPackages = readdirSync(PACKAGES).filter((p) => {
      if (p === 'registry') return false;
      try {
        return files(join(PACKAGES, p, 'src')).some((f) =>
          /\bregister(Adapter|Preset)\(/.test(readFileSync(f, 'utf8')),
        );
      } catch {
        return false;
      }
    });
    expect(methodPackages.length).toBeGreaterThanOrEqual(2);
    for (const p of methodPackages) expect(METHOD_WORDS).toContain(p);
  });

  it('no source file mentions one (case-insensitive, as a word)', () => {
    const hits: string[] = [];
    for (const f of files(SRC)) {
      const text = readFileSync(f, 'utf8').toLowerCase();
      for (const w of METHOD_WORDS) {
        const re = new RegExp(`(^|[^a-z0-9])${w.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}([^a-z0-9]|$)`);
        if (re.test(text)) hits.push(`${f.slice(SRC.length + 1)}: ${w}`);
      }
    }
    expect(hits).toEqual([]);
  });
});
