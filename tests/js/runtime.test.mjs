// The browser runtime's pure parts under Node's test runner:
//   node --test tests/js/
// Every conformance vector (the Rust evaluator runs the same file in
// generator/tests/conformance.rs), then the checks of validate.rs on a small
// form whose rules the generator wrote (fixture-rules.json, from the form in
// validate.rs's own tests plus a few questions), then the outbox schedule and
// the renaming of repeat instances.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import {
  evaluate, instance, isEmpty, parseDate, parseTime, formatDate, formatTime, toJson, validate, prepare, answersOf,
  evaluateForm, backoff, retryable, todayDate, fold, compareText, dayNumber, dateFromDays, yearsBetween, addDays,
} from '../../generator/src/site/assets/runtime.js'
import { renameAttr, uuid, rfc3339 } from '../../generator/src/site/assets/more.js'

const read = path => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'))
const vectors = read('../conformance/vectors.json')
const RULES = read('./fixture-rules.json')
const TODAY = parseDate('2024-06-01')

// The typed JSON of the vectors: number, boolean, string, array of strings
// (multiple choice), {"date"}, {"time"}, array of objects (repeat instances).
function value(x) {
  if (x == null) return null
  if (Array.isArray(x)) return x
  if (typeof x == 'object') return 'date' in x ? parseDate(x.date) : 'time' in x ? parseTime(x.time) : null
  return x
}
function tree(object) {
  const inst = instance()
  for (const [key, x] of Object.entries(object)) {
    if (Array.isArray(x) && x.length && x.every(i => i && typeof i == 'object' && !Array.isArray(i))) inst.r.set(key, x.map(tree))
    else if (!isEmpty(value(x))) inst.v.set(key, value(x))
  }
  return inst
}
const show = v => JSON.stringify(v === null ? null : toJson(v))

test(`${vectors.length} conformance vectors`, () => {
  assert.ok(vectors.length >= 350)
  const failures = []
  for (const vector of vectors) {
    const scope = { root: tree(vector.answers), position: vector.position || [], today: parseDate(vector.today) }
    if ('self' in vector) scope.self = value(vector.self)
    let got
    try {
      got = evaluate(vector.expr, scope)
    } catch (error) {
      failures.push(`${vector.name}: threw ${error}`)
      continue
    }
    if (show(got) !== show(value(vector.expected)) || typeof got != typeof value(vector.expected))
      failures.push(`${vector.name}: expected ${show(value(vector.expected))}, got ${show(got)}`)
  }
  assert.deepEqual(failures, [])
})

test('malformed expressions evaluate to empty and never throw', () => {
  const scope = { root: instance(), position: [], today: TODAY }
  for (const expr of [null, {}, [], [1], ['nope'], ['and', 1], ['ref', 5], ['ref', ['x']], ['date', '2024-13-01'], ['date', ['2024-01-01']],
    ['time', '24:00'], ['count'], ['sum', ['ref']], ['years_between'], ['if'], ['.'], ['not'], ['+', ['x'], 1], ['selected']]) {
    const got = evaluate(expr, scope)
    assert.ok(got === null || got === false || got === 0, JSON.stringify(expr))
  }
})

test('calendar helpers agree with the proleptic Gregorian calendar', () => {
  assert.equal(dayNumber(1970, 1, 1), 0)
  assert.equal(dayNumber(2000, 3, 1), 11017)
  for (const text of ['0001-01-01', '1600-02-29', '1999-12-31', '2024-02-29', '9999-12-31'])
    assert.equal(formatDate(dateFromDays(parseDate(text).n)), text)
  for (const bad of ['2023-02-29', '2024-2-29', '24-02-29', '2024-13-01', '2024-00-10', '0000-01-01', '2024-01-32', '2024/01/01', '２０２４-01-01', ''])
    assert.equal(parseDate(bad), null, bad)
  assert.equal(parseTime('08:30').m, 510)
  assert.equal(formatTime(parseTime('23:59')), '23:59')
  for (const bad of ['24:00', '8:30', '08:60', '08-30', '08:30:00']) assert.equal(parseTime(bad), null, bad)
  assert.equal(addDays(parseDate('9999-12-31'), 1), null)
  assert.equal(yearsBetween(parseDate('2000-02-29'), parseDate('2001-02-28')), 0)
  assert.ok(compareText('\uff61', '😀') < 0, 'code point order')
  assert.equal(compareText('abc', 'abc'), 0)
})

// ---- validation: the cases of validate.rs's tests, same answers, same errors ----
const LISTS = {
  estado: [['07', 'Chiapas'], ['30', 'Veracruz de Ignacio de la Llave']],
  municipio: [['07089', 'Tapachula', { estado: '07' }], ['30039', 'Coatzacoalcos', { estado: '30' }], ['30003', 'Acayucan', { estado: '30' }]],
  'actos.tipo': [['robo', 'Robo'], ['secuestro', 'Secuestro']],
  idiomas: [['es', 'Español'], ['en', 'Inglés'], ['fr', 'Francés']],
}
const opts = { today: TODAY, lists: LISTS }
const errs = r => r.errors.map(e => [e.field, e.code])
// The stored tree with calculations, as Instance::to_json.
function stored(inst) {
  const o = {}
  inst.v.forEach((v, k) => o[k] = toJson(v))
  inst.r.forEach((l, k) => o[k] = l.map(stored))
  return o
}
// Answers as the page's fields would send them.
function toFields(answers, prefix = '') {
  return Object.entries(answers).flatMap(([k, v]) => Array.isArray(v)
    ? v.flatMap((x, i) => typeof x == 'object' ? toFields(x, `${prefix}${k}.${i}.`) : [[prefix + k, x]])
    : v == null ? [] : [[prefix + k, String(v)]])
}
const json = answers => validate(RULES, toFields(answers), opts)
const fields = pairs => validate(RULES, pairs, opts)

test('a valid case is typed and calculated', () => {
  const r = json({
    consent: true, fecha: '2024-05-01', estado: '30', municipio: '30003', peso: 61.5,
    total: 99, actos: [{ tipo: ['secuestro', 'robo'], dias: 3 }, { tipo: ['robo'] }],
  })
  assert.deepEqual(errs(r), [])
  assert.deepEqual(stored(r.root), {
    consent: true, fecha: '2024-05-01', estado: '30', municipio: '30003', peso: 61.5,
    total: 2, actos: [{ tipo: ['robo', 'secuestro'], dias: 3 }, { tipo: ['robo'] }],
  })
})

test('errors name their field', () => {
  const e = errs(json({
    consent: 'yes', fecha: '2024-13-01', peso: 'x', extra: 1,
    actos: [{ tipo: ['robo'] }, { tipo: ['nope'] }, { tipo: ['secuestro'], dias: 1.5 }],
  }))
  for (const want of [['extra', 'unknown_field'], ['consent', 'type'], ['fecha', 'type'], ['peso', 'type']])
    assert.ok(e.some(x => x[0] == want[0] && x[1] == want[1]), JSON.stringify([want, e]))
})

test('relevance drops answers and their errors', () => {
  assert.deepEqual(errs(json({ consent: false, actos: [{ tipo: ['nope'], dias: 'x' }] })), [['nota', 'required']])
  assert.deepEqual(stored(json({ consent: false, nota: 'ok', actos: [{ tipo: ['robo'] }] }).root), { consent: false, nota: 'ok', total: 0 })
  assert.deepEqual(stored(json({ consent: true, actos: [{ tipo: ['robo'], dias: 4 }] }).root).actos, [{ tipo: ['robo'] }])
})

test('required, ranges, lengths and constraints, in the server order', () => {
  assert.deepEqual(errs(json({})), [['consent', 'required']])
  const r = json({ consent: true, fecha: '2024-07-01', peso: 600, nota: 'demasiado', actos: [{ tipo: ['secuestro'] }] })
  assert.deepEqual(errs(r), [['fecha', 'constraint'], ['peso', 'max'], ['nota', 'max_length'], ['actos.0.dias', 'required']])
  assert.deepEqual(r.errors.map(e => e.message), [
    'No puede ser futura', 'El valor máximo es 500.', 'Escriba como máximo 5 caracteres.', 'Responda esta pregunta.'])
})

test('repeat counts and blank instances', () => {
  assert.deepEqual(errs(json({ consent: true })), [['actos', 'min_instances']])
  const four = { consent: true, actos: [{ tipo: ['robo'] }, { tipo: ['robo'] }, { tipo: ['robo'] }, { tipo: ['robo'] }] }
  assert.deepEqual(errs(json(four)), [['actos.3.tipo', 'unknown_field']])
  // A blank instance beyond the minimum is dropped; errors keep the page's index.
  assert.deepEqual(errs(fields([['consent', 'true'], ['actos.0.dias', ''], ['actos.1.tipo', 'secuestro']])), [['actos.1.dias', 'required']])
  assert.deepEqual(errs(fields([['consent', 'true'], ['actos.0.dias', '']])), [['actos.0.tipo', 'required']])
})

test('cascades and codes', () => {
  assert.deepEqual(errs(json({ consent: true, estado: '07', municipio: '30003', actos: [{ tipo: ['robo'] }] })), [['municipio', 'choice_filter']])
  assert.deepEqual(errs(json({ consent: true, municipio: '30003', actos: [{ tipo: ['robo'] }] })), [['municipio', 'choice_filter']])
  assert.deepEqual(errs(json({ consent: true, estado: '99', actos: [{ tipo: ['robo'] }] })), [['estado', 'choice']])
  // Typed labels, ignoring case and accents, in the page's language.
  assert.equal(stored(json({ consent: false, nota: 'x', estado: ' CHIAPAS ' }).root).estado, '07')
})

test('page fields are read like a browser sends them', () => {
  const r = fields([
    ['_form', 't'], ['consent', 'true'], ['fecha', '2024-05-01'], ['estado', 'veracruz de ignacio de la llave'],
    ['municipio', 'ACAYUCÁN'], ['peso', '61,5'], ['nota', ''], ['actos.0.tipo', 'secuestro'], ['actos.0.tipo', 'robo'],
    ['actos.0.dias', ' 3 '], ['actos.2.tipo', 'robo'],
  ])
  assert.deepEqual(errs(r), [])
  assert.deepEqual(stored(r.root), {
    consent: true, fecha: '2024-05-01', estado: '30', municipio: '30003', peso: 61.5, total: 2,
    actos: [{ tipo: ['robo', 'secuestro'], dias: 3 }, { tipo: ['robo'] }],
  })
  assert.deepEqual(errs(fields([['consent', 'true'], ['municipio', 'Tapachul'], ['actos.0.tipo', 'robo']])), [['municipio', 'choice']])
  // Two labels folding alike are ambiguous.
  const lists = { ...LISTS, estado: [['1', 'Niño'], ['2', 'nino']] }
  assert.deepEqual(validate(RULES, [['consent', 'false'], ['nota', 'x'], ['estado', 'NIÑO']], { today: TODAY, lists }).errors.map(e => e.code), ['choice'])
  assert.equal(fold('  Veracruz   de  IGNACIO '), 'veracruz de ignacio')
})

test('odd field names are unknown, not fatal; calculations are never taken', () => {
  for (const name of ['actos.99999999999.tipo', 'actos.x.tipo', 'actos', 'actos.0', 'consent.0', 'nada', 'actos.0.nada', 'actos.3.tipo', 'total.x'])
    assert.ok(errs(fields([['consent', 'true'], [name, 'robo']])).some(e => e[0] == name && e[1] == 'unknown_field'), name)
  assert.equal(stored(fields([['consent', 'true'], ['total', '77'], ['actos.0.tipo', 'robo']]).root).total, 1)
})

test('typed fields: numbers, times, e-mail, phone, choices', () => {
  const base = [['consent', 'true'], ['actos.0.tipo', 'robo']]
  const one = (name, value) => errs(fields([...base, [name, value]]))
  assert.deepEqual(one('peso', '12.5.1'), [['peso', 'type']])
  assert.deepEqual(one('peso', '-0,5'), [['peso', 'min']])
  assert.deepEqual(one('peso', '1e3'), [['peso', 'type']])
  const kidnap = (name, value) => errs(fields([['consent', 'true'], ['actos.0.tipo', 'secuestro'], [name, value]]))
  assert.deepEqual(kidnap('actos.0.dias', '12.5'), [['actos.0.dias', 'type']])
  assert.deepEqual(kidnap('actos.0.dias', '9999999999999999'), [['actos.0.dias', 'type']])
  assert.equal(fields([['consent', 'true'], ['actos.0.tipo', 'secuestro'], ['actos.0.dias', '1e3']]).errors[0].message, 'Escriba un número entero, por ejemplo 12.')
  assert.deepEqual(one('actos.0.testigos.0.edad_t', '121'), [['actos.0.testigos.0.edad_t', 'max']])
  assert.deepEqual(one('actos.0.testigos.1.edad_t', '-1'), [['actos.0.testigos.1.edad_t', 'min']])
  // As in validate.rs, an instance whose only answer fails to read counts as
  // blank and is dropped with its error (reported in docs/runtime-needs.md).
  assert.deepEqual(one('actos.0.testigos.0.edad_t', '12.5'), [])
  assert.deepEqual(one('hora', '08:30:00'), [])
  assert.deepEqual(one('hora', '8:30'), [['hora', 'type']])
  assert.deepEqual(one('correo', 'ana@example.org'), [])
  for (const bad of ['ana', '@example.org', 'ana@example', 'ana@.org', 'ana@example.', 'a na@example.org', 'ana@b@c.org'])
    assert.deepEqual(one('correo', bad), [['correo', 'type']], bad)
  assert.deepEqual(one('tel', '+503 (2) 7777-8888'), [])
  for (const bad of ['12345', '+503 7777 8888 ext 1', '1'.repeat(21)]) assert.deepEqual(one('tel', bad), [['tel', 'type']], bad)
  assert.deepEqual(one('consent', 'sí'), [['consent', 'type']])
  assert.deepEqual(errs(fields([...base, ['idiomas', 'es'], ['idiomas', 'en'], ['idiomas', 'fr']])), [['idiomas', 'max']])
  assert.equal(fields([...base, ['idiomas', 'es'], ['idiomas', 'en'], ['idiomas', 'fr']]).errors[0].message, 'Elija como máximo 2 opciones.')
  assert.deepEqual(stored(fields([...base, ['idiomas', 'fr'], ['idiomas', 'es'], ['idiomas', 'fr']]).root).idiomas, ['es', 'fr'])
  // A text with a control character.
  assert.deepEqual(one('nota', 'a\u0007b'), [['nota', 'type']])
  // Answers to sections that are not relevant are dropped with their errors.
  assert.deepEqual(errs(fields([['consent', 'false'], ['nota', 'x'], ['correo', 'nope'], ['actos.0.tipo', 'nope']])), [])
})

test('a limit of one reads in the singular, as the server writes it', () => {
  // The generator adds the singular texts only to forms with such a limit.
  const rules = structuredClone(RULES)
  rules.questions.find(q => q.path == 'idiomas').max = 1
  rules.questions.find(q => q.path == 'nota').max_length = 1
  const answers = [['consent', 'true'], ['actos.0.tipo', 'robo'], ['idiomas', 'es'], ['idiomas', 'en'], ['nota', 'ab']]
  const messages = r => r.errors.map(e => e.message)
  assert.deepEqual(messages(validate(rules, answers, opts)), ['Escriba como máximo 1 caracteres.', 'Elija como máximo 1 opciones.'])
  Object.assign(rules.messages, { too_many_choices_one: 'Elija como máximo {} opción.', too_long_one: 'Escriba como máximo {} carácter.' })
  assert.deepEqual(messages(validate(rules, answers, opts)), ['Escriba como máximo 1 carácter.', 'Elija como máximo 1 opción.'])
})

test('a live page keeps every instance, blank or not, where it shows them', () => {
  const live = f => ({ actos: 3, 'actos.0.testigos': 2 })[f]
  const r = validate(RULES, [['consent', 'true'], ['actos.0.tipo', 'robo']], { ...opts, live })
  assert.equal(r.root.r.get('actos').length, 3)
  assert.equal(r.root.v.get('total'), 3)
  assert.equal(r.root.r.get('actos')[0].r.get('testigos').length, 2)
  assert.ok(r.relevant.has('actos.dias|actos.0.') === false)
  assert.ok(r.relevant.has('actos.tipo|actos.2.'))
  const off = validate(RULES, [['consent', 'false'], ['actos.0.tipo', 'robo']], { ...opts, live })
  assert.equal(off.root.r.has('actos'), false)
  assert.equal(off.relevant.has('actos.tipo|actos.0.'), false)
})

test('submitted answers hold only relevant answers, laid out by page index', () => {
  const r = prepare(RULES, [
    ['consent', 'true'], ['nota', 'no'], ['estado', '30'], ['actos.0.tipo', 'robo'], ['actos.0.dias', '4'],
    ['actos.1.dias', ''], ['actos.2.tipo', 'secuestro'], ['actos.2.dias', '2'], ['correo', ' a@b.org '],
  ], opts)
  assert.deepEqual(r, {
    answers: {
      actos: [{ tipo: ['robo'] }, {}, { dias: 2, tipo: ['secuestro'] }],
      consent: true, correo: 'a@b.org', estado: '30', nota: 'no',
    },
  })
  // Read back as the collector reads it, it gives the same answers.
  assert.deepEqual(answersOf(RULES, json(r.answers).root), r.answers)
  assert.deepEqual(prepare(RULES, [['consent', 'true']], opts), { errors: [{ field: 'actos', code: 'min_instances', message: 'Añada al menos 1.' }] })
})

test('an instance left blank by relevance is sent as the collector will read it', () => {
  const rules = {
    lang: 'es', messages: {}, order: ['r', 'r.a', 'r.b', 'c'],
    sections: [{ id: 's', scope: '' }, { id: 'r', scope: 'r', repeat: { min: 0 } }],
    questions: [
      { path: 'c', type: 'text', section: 's', relevant: ['>', ['count', ['ref', 'r']], 0] },
      { path: 'r.a', type: 'text', section: 'r' },
      { path: 'r.b', type: 'text', section: 'r', relevant: ['answered', ['ref', 'r.a']] },
    ],
  }
  // On the page, r has one (non-blank) instance, so c applies; but b is not
  // relevant, so the instance arrives blank, is dropped, and c does not apply.
  assert.deepEqual(prepare(rules, [['c', 'z'], ['r.0.a', ''], ['r.0.b', 'x']], opts), { answers: {} })
  assert.deepEqual(answersOf(rules, validate(rules, [], opts).root), {})
  assert.deepEqual(prepare(rules, [['c', 'z'], ['r.0.a', 'y'], ['r.0.b', 'x']], opts), { answers: { c: 'z', r: [{ a: 'y', b: 'x' }] } })
})

test('evaluateForm drops repeats that are not relevant and computes calculations', () => {
  const root = tree({ consent: false, actos: [{ tipo: ['robo'] }] })
  const relevant = evaluateForm(RULES, root, TODAY)
  assert.equal(root.r.has('actos'), false)
  assert.equal(root.v.get('total'), 0)
  assert.ok(relevant.has('nota|') && !relevant.has('correo|'))
})

test('outbox: exponential backoff with jitter, capped; which failures retry', () => {
  assert.equal(backoff(1, 1), 5000)
  assert.equal(backoff(1, 0), 2500)
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map(n => backoff(n, 1)), [5e3, 1e4, 2e4, 4e4, 8e4, 16e4, 32e4, 6e5, 6e5])
  assert.equal(backoff(50, 1), 6e5)
  for (let n = 1; n < 12; n++) for (const r of [0, 0.3, 0.99]) {
    const d = backoff(n, r)
    assert.ok(d >= backoff(n, 0) && d <= backoff(n, 1) && d >= 2500 && d <= 6e5)
  }
  assert.ok(backoff(3) >= 1e4 && backoff(3) <= 2e4)
  for (const s of [0, 408, 429, 500, 502, 503, 504]) assert.ok(retryable(s), String(s))
  for (const s of [400, 401, 403, 404, 409, 413, 415, 422]) assert.ok(!retryable(s), String(s))
})

test('repeat instances are renamed consistently', () => {
  assert.equal(renameAttr('acts.0.kind', 'acts.0.', 'acts.1.'), 'acts.1.kind')
  assert.equal(renameAttr('f-acts.0.kind-3', 'acts.0.', 'acts.2.'), 'f-acts.2.kind-3')
  assert.equal(renameAttr('h-acts.0.kind x-acts.0.kind e-acts.0.kind', 'acts.0.', 'acts.1.'), 'h-acts.1.kind x-acts.1.kind e-acts.1.kind')
  assert.equal(renameAttr('s-acts.3.inv', 'acts.3.', 'acts.2.'), 's-acts.2.inv')
  assert.equal(renameAttr('f-acts.3.inv.1.n', 'acts.3.', 'acts.2.'), 'f-acts.2.inv.1.n')
  assert.equal(renameAttr('f-acts.0.inv.0.n', 'acts.0.inv.0.', 'acts.4.inv.2.'), 'f-acts.4.inv.2.n')
  assert.equal(renameAttr('f-facts.0.x', 'acts.0.', 'acts.1.'), 'f-facts.0.x')
  assert.equal(renameAttr('f-acts.10.x', 'acts.1.', 'acts.0.'), 'f-acts.10.x')
})

test('submission ids and completion times', () => {
  const ids = new Set(Array.from({ length: 100 }, uuid))
  assert.equal(ids.size, 100)
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  const fallback = globalThis.crypto.randomUUID
  try {
    Object.defineProperty(globalThis.crypto, 'randomUUID', { value: undefined, configurable: true })
    assert.match(uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  } finally {
    Object.defineProperty(globalThis.crypto, 'randomUUID', { value: fallback, configurable: true })
  }
  const now = new Date(2024, 5, 1, 9, 5, 7)
  assert.match(rfc3339(now), /^2024-06-01T09:05:07[+-]\d\d:\d\d$/)
  assert.equal(new Date(rfc3339(now)).getTime(), now.getTime())
  assert.equal(formatDate(todayDate(now)), '2024-06-01')
})
