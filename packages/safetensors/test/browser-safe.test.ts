import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

/** Every module statically reachable from `entry`, with the bare/builtin specifiers it imports. */
function importGraph(entry: string): { modules: string[]; external: string[] } {
  const seen = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    // comments hold usage examples with imports: drop them
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    for (const m of code.matchAll(/(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      else external.add(spec);
    }
  };
  visit(path.join(src, entry));
  return { modules: [...seen].map((f) => path.relative(src, f)).sort(), external: [...external].sort() };
}

describe('the core entry point is browser-safe', () => {
  it('@peftjs/safetensors imports no Node built-ins (only @peftjs/tensor)', () => {
    const g = importGraph('index.ts');
    expect(g.modules).toContain('reader.ts');
    expect(g.modules).not.toContain('node.ts');
    expect(g.external).toEqual(['@peftjs/tensor']);
    // and no global Node APIs either
    for (const m of g.modules) {
      const code = readFileSync(path.join(src, m), 'utf8');
      expect(code, m).not.toMatch(/\b(Buffer|process|require)\s*[.(]/);
    }
  });

  it('@peftjs/safetensors/node is where the file system is used', () => {
    const g = importGraph('node.ts');
    expect(g.external).toEqual(expect.arrayContaining(['node:fs', 'node:fs/promises', 'node:path']));
  });
});
