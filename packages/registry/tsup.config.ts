import { packageBuild } from '../../tsup.preset';

// Two entries: the browser-safe core (bytes in, bytes out) and the Node folder layer (savePeftModel / loadPeftModel).
export default packageBuild({ index: 'src/index.ts', node: 'src/node.ts' });
