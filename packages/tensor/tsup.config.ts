import { packageBuild } from '../../tsup.preset';

export default packageBuild(
  { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
  { external: ['vitest'] },
);
