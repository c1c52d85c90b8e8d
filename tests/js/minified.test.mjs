// The minified runtime that pages load (runtime.min.js, more.min.js) is up
// to date with its source and behaves the same: the conformance vectors and
// a few submissions give identical results through both modules.
//   node --test tests/js/

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as source from '../../generator/src/site/assets/runtime.js'
import * as min from '../../generator/src/site/assets/runtime.min.js'
import * as more from '../../generator/src/site/assets/more.js'
import * as moreMin from '../../generator/src/site/assets/more.min.js'
import { FILES, minified } from './minify.mjs'

const read = path => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'))

test('the .min.js files are their sources minified (else run `npm run minify`)', async () => {
  for (const { source: file, minified: target } of FILES)
    assert.ok(readFileSync(target, 'utf8') === await minified(file), `${target.pathname} is stale: run \`npm run minify\` and commit it`)
})

test('minified modules export the same names', () => {
  assert.deepEqual(Object.keys(min).sort(), Object.keys(source).sort())
  assert.deepEqual(Object.keys(moreMin).sort(), Object.keys(more).sort())
})

test('the minified evaluator gives every conformance vector the same value', () => {
  const vectors = read('../conformance/vectors.json')
  const typed = (m, x) => x && typeof x == 'object' && !Array.isArray(x) ? ('date' in x ? m.parseDate(x.date) : m.parseTime(x.time)) : x
  const tree = (m, o) => {
    const inst = m.instance()
    for (const [k, x] of Object.entries(o)) {
      if (Array.isArray(x) && x.length && x.every(i => i && typeof i == 'object' && !Array.isArray(i))) inst.r.set(k, x.map(i => tree(m, i)))
      else if (!m.isEmpty(typed(m, x))) inst.v.set(k, typed(m, x))
    }
    return inst
  }
  const run = (m, v) => {
    const scope = { root: tree(m, v.answers), position: v.position || [], today: m.parseDate(v.today) }
    if ('self' in v) scope.self = typed(m, v.self)
    return JSON.stringify(m.toJson(m.evaluate(v.expr, scope)) ?? null)
  }
  assert.ok(vectors.length >= 300)
  for (const v of vectors) assert.equal(run(min, v), run(source, v), v.name)
})

test('the minified validation reads, checks and prepares a submission the same', () => {
  const rules = read('./fixture-rules.json')
  const opts = m => ({ today: m.parseDate('2024-06-01'), lists: { estado: [['07', 'Chiapas'], ['30', 'Veracruz de Ignacio de la Llave']] } })
  for (const fields of [
    [],
    [['consent', 'true'], ['fecha', '2024-05-01'], ['estado', 'chiapas'], ['actos.0.tipo', 'robo'], ['actos.0.dias', '3']],
    [['consent', 'yes'], ['fecha', '2024-13-01'], ['peso', 'x'], ['extra', '1'], ['actos.2.tipo', 'secuestro']],
    [['consent', 'false'], ['nota', 'x'], ['actos.0.tipo', 'robo']],
  ]) {
    assert.deepEqual(min.prepare(rules, fields, opts(min)), source.prepare(rules, fields, opts(source)), JSON.stringify(fields))
  }
})
