import { defineConfig, type Options } from 'tsup';

/**
 * The build every package shares: ESM only, .d.ts, source maps, Node 20 syntax. What a package lists in its
 * package.json dependencies stays external (tsup's default); `extra.external` adds more.
 */
export function packageBuild(entry: Options['entry'], extra: Options = {}) {
  return defineConfig({ entry, format: ['esm'], dts: true, sourcemap: true, clean: true, target: 'node20', ...extra });
}
