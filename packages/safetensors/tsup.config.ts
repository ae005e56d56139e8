import { packageBuild } from '../../tsup.preset';

// Two entries: the browser-safe core (no Node built-ins) and the Node file/directory layer.
export default packageBuild({ index: 'src/index.ts', node: 'src/node.ts' }, { external: ['@peftjs/tensor'] });
