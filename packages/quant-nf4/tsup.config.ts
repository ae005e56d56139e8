import { packageBuild } from '../../tsup.preset';

export default packageBuild({ index: 'src/index.ts', node: 'src/node.ts' });
