import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Dawn for Node is loaded lazily (dynamic import) and only outside browsers.
  external: ['webgpu', '@peftjs/tensor'],
});
