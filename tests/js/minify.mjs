// Writes the bytes that `constancia build` serves as the browser runtime,
// runtime.min.js and more.min.js, from runtime.js and more.js
// (generator/src/site/assets/):
//   npm run minify
// The sources stay the code to read and edit; the minified copies are
// committed so that building a site needs neither Node nor npm, and
// tests/js/minified.test.mjs fails when they are stale. Minifying saves
// about 2.3 KB gzip, a thirteenth of the flagship page's 30 KB budget.

import { readFileSync, writeFileSync } from 'node:fs'
import { minify } from 'terser'

const assets = new URL('../../generator/src/site/assets/', import.meta.url)
export const FILES = ['runtime', 'more'].map(name => ({ source: new URL(`${name}.js`, assets), minified: new URL(`${name}.min.js`, assets) }))

export async function minified(source) {
  const { code } = await minify(readFileSync(source, 'utf8'), {
    module: true,
    ecma: 2022,
    compress: { passes: 2 },
    mangle: true,
    format: { preamble: '// Minified by `npm run minify`: edit the file without .min.' },
  })
  return code + '\n'
}

if (process.argv[1] && import.meta.url == new URL(process.argv[1], 'file://').href) {
  for (const { source, minified: target } of FILES) writeFileSync(target, await minified(source))
}
