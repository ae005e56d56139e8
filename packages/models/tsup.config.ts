import { defineConfig } from 'tsup';

export default defineConfig({
  // Two entries: the universal core (no Node built-ins) and the Node directory layer (fromPretrained / savePretrained).
  entry: { index: 'src/index.ts', node: 'src/node.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  external: ['@peftjs/tensor', '@peftjs/nn', '@peftjs/safetensors', '@huggingface/tokenizers'],
});
