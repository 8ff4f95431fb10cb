// Copies the standalone builds of Vega, Vega-Lite and vega-embed into the Python package
// (mlnb/_vendor/), so that the HTML reports mlnb writes carry their charts' code and open
// with no network. Run by `jlpm build` and `jlpm build:prod` after the labextension build.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'mlnb', '_vendor');
mkdirSync(out, { recursive: true });
for (const [pkg, file] of [
  ['vega', 'vega.min.js'],
  ['vega-lite', 'vega-lite.min.js'],
  ['vega-embed', 'vega-embed.min.js']
]) {
  copyFileSync(join(here, 'node_modules', pkg, 'build', file), join(out, file));
}
