import { packageBuild } from '../../tsup.preset';

// The browser-safe core and the Node layer (file-backed plan cache, plan files).
export default packageBuild({ index: 'src/index.ts', node: 'src/node.ts' });
