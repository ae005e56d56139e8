import { defineConfig } from 'tsup';

export default defineConfig({
  // Two entries: the browser-safe core (no Node built-ins) and the Node file/directory layer.
  entry: { index: 'src/index.ts', node: 'src/node.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  external: ['@peftjs/tensor'],
});
