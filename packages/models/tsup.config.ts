import { packageBuild } from '../../tsup.preset';

// Two entries: the universal core (no Node built-ins) and the Node directory layer (fromPretrained / savePretrained).
export default packageBuild(
  { index: 'src/index.ts', node: 'src/node.ts' },
  { external: ['@peftjs/tensor', '@peftjs/nn', '@peftjs/safetensors', '@huggingface/tokenizers'] },
);
