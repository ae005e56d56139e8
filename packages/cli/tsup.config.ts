import { packageBuild } from '../../tsup.preset';

export default packageBuild(
  { index: 'src/index.ts', bin: 'src/bin.ts' },
  { dts: { entry: { index: 'src/index.ts' } } },
);
