// Constancia's browser runtime (docs/runtime.md). Exported, and tested in
// Node: eval.rs and validate.rs, rule for rule. With a page: skip logic,
// cascades, picker, repeats, errors, submit, outbox, drafts, offline, exit.

// Values: empty null, boolean, number, string, multiple choice array, date
// {k:'d',y,m,d,n} (n: days since 1970), time {k:'t',m} (minutes).
export const MAX_SAFE = 2 ** 53 - 1
const isArr = Array.isArray, p2 = n => String(n).padStart(2, '0')
const kind = v => v == null ? '' : typeof v == 'object' ? isArr(v) ? 'm' : v.k : (typeof v)[0]
export const isEmpty = v => v == null || isArr(v) && !v.length
export const dayNumber = (y, m, d) => new Date(0).setUTCFullYear(y, m - 1, d) / 864e5
export function dateFromDays(n) {
  const t = new Date(n * 864e5), y = t.getUTCFullYear()
  return y > 0 && y < 1e4 ? { k: 'd', y, m: t.getUTCMonth() + 1, d: t.getUTCDate(), n } : null
}
export function parseDate(s) {
  const [y, m, d] = typeof s == 'string' && /^(\d{4})-(\d\d)-(\d\d)$/.exec(s)?.slice(1).map(Number) || [], v = y && dateFromDays(dayNumber(y, m, d))
  return v && v.m == m && v.d == d ? v : null
}
export const formatDate = v => `${String(v.y).padStart(4, '0')}-${p2(v.m)}-${p2(v.d)}`
export const parseTime = s => typeof s == 'string' && /^([01]\d|2[0-3]):[0-5]\d$/.test(s) ? { k: 't', m: s.slice(0, 2) * 60 + +s.slice(3) } : null
export const formatTime = v => p2(v.m / 60 | 0) + ':' + p2(v.m % 60)
export const addDays = (v, n) => Number.isInteger(n) && Math.abs(n) <= 1e7 ? dateFromDays(v.n + n) : null
export const yearsBetween = (a, b) => b.n < a.n ? -yearsBetween(b, a) : b.y - a.y - (b.m < a.m || b.m == a.m && b.d < a.d)
export function compareText(a, b) {
  for (let i = 0, f = c => c < 0xd800 ? c : c < 0xe000 ? c + 8192 : c - 2048; ; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i)
    if (x != y || x != x) return x == x && y == y ? f(x) - f(y) : a.length - b.length
  }
}
export function compare(a, b) {
  const k = kind(a)
  return k != kind(b) ? NaN : k == 'n' ? (a > b) - (a < b) : k == 's' ? compareText(a, b) : k == 'b' ? a - b
    : k == 'd' ? a.n - b.n : k == 't' ? a.m - b.m : NaN
}
export const toJson = v => kind(v) == 'd' ? formatDate(v) : kind(v) == 't' ? formatTime(v) : v

// Answers: an instance is {v: Map id→value, r: Map repeat id→[instance]}.
export const instance = () => ({ v: new Map(), r: new Map() })
const setv = (inst, id, v) => isEmpty(v) ? inst.v.delete(id) : inst.v.set(id, v)
const blank = i => !i.v.size && [...i.r.values()].every(l => l.every(blank))
const fin = n => Number.isFinite(n) ? n : null, nop = () => {}
function lookup(path, s) {
  const parts = path.split?.('.') || []
  let inst = s.root, l = 0
  for (; l < parts.length - 1; l++) if (s.position?.[l]?.[0] != parts[l] || !(inst = inst.r.get(parts[l])?.[s.position[l][1]])) return null
  return inst.v.get(parts[l]) ?? null
}
function instances(path, s) {
  const parts = path.split('.')
  let cur = [s.root], on = 1
  parts.forEach((part, l) => {
    const p = s.position?.[l], ch = on && p?.[0] == part ? p[1] : -1
    cur = cur.flatMap(i => (list => ch >= 0 && l + 1 < parts.length ? list.slice(ch, ch + 1) : list)(i.r.get(part) || []))
    on = ch >= 0
  })
  return cur
}

export function evaluate(x, s) {
  if (!isArr(x)) return typeof x == 'number' ? fin(x) : typeof x == 'string' || typeof x == 'boolean' ? x : null
  const [h, a, b, c] = x, ev = e => evaluate(e, s), ref = a?.[0] == 'ref' && typeof a[1] == 'string' ? a[1] : null
  let l, r, k
  switch (h) {
    case 'ref': return lookup(a, s)
    case '.': return s.self ?? null
    case 'date': return parseDate(a)
    case 'time': return parseTime(a)
    case 'today': return s.today
    case 'not': return typeof (l = ev(a)) == 'boolean' ? !l : null
    case 'neg': return typeof (l = ev(a)) == 'number' ? -l : null
    case 'and': return (l = ev(a)) === false || (r = ev(b)) === false ? false : l === true && r === true || null
    case 'or': return (l = ev(a)) === true || (r = ev(b)) === true || (l === false && r === false ? false : null)
    case '=': case '!=': case '<': case '<=': case '>': case '>=':
      r = compare(ev(a), ev(b))
      return r == r && (h == '=' ? !r : h == '!=' ? !!r : h == '<' ? r < 0 : h == '<=' ? r <= 0 : h == '>' ? r > 0 : r >= 0)
    case '+': case '-': case '*': case '/':
      l = ev(a); r = ev(b)
      k = kind(l) + kind(r)
      return k == 'nn' ? fin(h == '+' ? l + r : h == '-' ? l - r : h == '*' ? l * r : l / r)
        : h == '+' ? k == 'dn' ? addDays(l, r) : k == 'nd' ? addDays(r, l) : null
        : h == '-' ? k == 'dn' ? addDays(l, -r) : k == 'dd' ? l.n - r.n : null : null
    case 'selected': return typeof (r = ev(b)) == 'string' && (typeof (l = ev(a)) == 'string' ? l == r : isArr(l) && l.includes(r))
    case 'count': return ref == null ? null : instances(ref, s).length
    case 'sum':
      if (ref == null || (l = ref.lastIndexOf('.')) < 0) return null
      return fin(instances(ref.slice(0, l), s).reduce((t, i) => t + (typeof (r = i.v.get(ref.slice(l + 1))) == 'number' ? r : 0), 0))
    case 'count_selected': return isArr(l = ev(a)) ? l.length : 0
    case 'answered': return !isEmpty(ev(a))
    case 'len': return typeof (l = ev(a)) == 'string' ? [...l].length : 0
    case 'years_between': return kind(l = ev(a)) + kind(r = ev(b)) == 'dd' ? yearsBetween(l, r) : null
    case 'if': return (l = ev(a)) === true ? ev(b) : l === false ? ev(c) : null
  }
  return null
}

// A message by key. Given the count it will be filled with, a counting
// message takes its singular form for 1 when the page carries one (only
// forms with such a limit do), as the server's messages do.
const texts = rules => (k, n, m = rules?.messages) => m?.[n == 1 && m[k + '_one'] ? k + '_one' : k] ?? m?.constraint
export const fill = (t, v) => t.replace('{}', () => v)

const last = p => p.slice(p.lastIndexOf('.') + 1)
const container = p => p.slice(0, Math.max(p.lastIndexOf('.'), 0))
const join = (s, id) => s ? s + '.' + id : id
const IX = new WeakMap()
const ix = rules => IX.get(rules) || (rules.sections.forEach(s => s.q && rules.questions.slice(s.q[0], s.q[1] + 1).forEach(q => q.section ??= s.id)), IX.set(rules, {
  q: new Map(rules.questions.map(q => [q.path, q])), sec: new Map(rules.sections.map(s => [s.id, s])),
  order: rules.order.flatMap(x => isArr(x) ? rules.questions.slice(x[0], x[1] + 1).map(q => q.path) : [x]),
  rep: new Map(rules.sections.filter(s => s.repeat).map(s => [s.scope, s])),
})).get(rules)
const chain = (X, s, c = [s]) => { while ((s = X.sec.get(s.parent)) && !c.includes(s)) c.unshift(s); return c }
function positions(root, scope) {
  let cur = [{ p: [], f: '', inst: root }]
  for (const part of scope ? scope.split('.') : []) cur = cur.flatMap(c => (c.inst.r.get(part) || [])
    .map((inst, k) => ({ p: [...c.p, [part, k]], f: `${c.f}${part}.${inst.i ?? k}.`, inst })))
  return cur
}
export const chainRelevant = (rules, sec, root, position, today, own) => chain(ix(rules), sec).every(s =>
  s.repeat && !(own && s == sec) || s.relevant === undefined || evaluate(s.relevant, { root, position, today }) === true)
export function evaluateForm(rules, root, today) {
  const X = ix(rules), relevant = new Set()
  for (const path of X.order) {
    const s = X.rep.get(path), q = X.q.get(path), sec = X.sec.get(q?.section)
    for (const c of s || sec ? positions(root, container(path)) : []) {
      const scope = { root, position: c.p, today }
      let v = null
      if (s) chainRelevant(rules, s, root, c.p, today, 1) || c.inst.r.delete(s.id)
      else {
        if (chainRelevant(rules, sec, root, c.p, today) && (q.relevant === undefined || evaluate(q.relevant, scope) === true)) {
          relevant.add(path + '|' + c.f)
          v = q.calculation !== undefined ? evaluate(q.calculation, scope) : c.inst.v.get(last(path))
          if (q.value_type == 'integer' && typeof v == 'number' && !Number.isSafeInteger(v)) v = Math.trunc(v)
        }
        setv(c.inst, last(path), v)
      }
    }
  }
  return relevant
}

export const fold = s => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().split(/\s+/).filter(Boolean).join(' ')
export function validate(rules, fields, o = {}) {
  const X = ix(rules), t = texts(rules), today = o.today || todayDate(), lists = o.lists || {}
  const pending = new Map(), errors = []
  const push = (field, code, message) => errors.push({ field, code, message })
  const hold = (f, code, m) => void pending.set(f, { code, message: m })
  const bad = (q, f, k = /^select/.test(q.type) ? 'choice' : /^(integer|decimal|date|time|email|phone|yes_no)$/.test(q.type) ? q.type : 'text') =>
    hold(f, 'type', t('invalid_' + k))
  const text = (q, f, raw) => {
    const s = raw.replace(/\r\n/g, '\n').trim(), at = s.indexOf('@'), d = s.slice(at + 1), n = s.replace(/\D/g, '').length
    return !s ? null : (q.type == 'email' ? at > 0 && /\./.test(d) && !/^\.|\.$|@/.test(d) && !/[\s\p{Cc}]/u.test(s) &&
      new TextEncoder().encode(s).length < 255 : q.type == 'phone' ? n > 5 && n < 21 && /^[\d +\-().]{0,40}$/.test(s)
      : !/[\0-\x08\x0b-\x1f\x7f-\x9f]/.test(s)) ? s : bad(q, f)
  }
  const number = (q, f, n) => !Number.isFinite(n) ? bad(q, f) : q.type == 'integer' && !Number.isSafeInteger(n)
    ? bad(q, f, 'integer') : Math.abs(n) > 1e15 ? bad(q, f, 'decimal') : n
  const choice = (q, f, raw, typed) => {
    const list = lists[q.path]
    if (!(raw = raw.trim()) || !list || list.some(c => c[0] == raw)) return raw || null
    const w = fold(raw), m = typed && list.filter(c => fold(c[0]) == w || fold(c[1]) == w)
    if (m?.length == 1) return m[0][0]
    hold(f, 'choice', t('invalid_choice'))
  }
  const codes = (q, f, raws) => {
    const out = [], at = c => lists[q.path]?.findIndex(x => x[0] == c)
    for (const raw of raws) { const c = choice(q, f, raw, 0); c == null || out.includes(c) || out.push(c) }
    return out.sort((a, b) => at(a) - at(b) || 0)
  }
  const when = (q, f, s) => (q.type == 'date' ? parseDate : parseTime)(s) ?? bad(q, f)
  const fieldValue = (q, f, raws) => {
    const raw = raws.at(-1), s = raw.trim(), d = s.replace(/,/g, '.'), ty = q.type
    return ty == 'select_multiple' ? codes(q, f, raws.filter(x => x.trim())) : !s ? null
      : ty == 'integer' ? number(q, f, /^-?\d{1,16}$/.test(s) ? +s : NaN)
      : ty == 'decimal' ? number(q, f, /^[\d-]*\.?[\d-]*$/.test(d) && d.length < 25 ? Number(d) : NaN)
      : ty == 'date' ? when(q, f, s) : ty == 'time' ? when(q, f, /^.{5}:00$/.test(s) ? s.slice(0, 5) : s)
      : ty == 'yes_no' ? s == 'true' || (s == 'false' ? false : bad(q, f))
      : ty == 'select_one' ? choice(q, f, s, 1) : text(q, f, raw)
  }
  const unknown = f => push(f, 'unknown_field', t('unknown_field'))
  const noValue = q => /calculate|note/.test(q.type)
  const keep = (inst, id, f, items, min) => {
    const n = o.live?.(f)
    let drop = o.live ? 0 : Math.min(Math.max(items.length - min, 0), items.filter(x => blank(x[1])).length)
    if (n != null) items = Array.from({ length: n }, (_, k) => items.find(x => x[0] == k) || [k, instance()])
    const list = items.filter(([i, c]) => !(drop && blank(c) && drop--) && (c.i = i, 1)).map(x => x[1])
    list.n = items.length && items.at(-1)[0] + 1
    inst.r.set(id, list)
  }
  const place = (tree, name, vals) => {
    const parts = name.split('.')
    let node = tree, scope = '', depth = 0
    for (let k = 0; k < parts.length; k += 2) {
      const path = join(scope, parts[k]), q = X.q.get(path), s = X.rep.get(path), i = parts[k + 1]
      if (q) return i != null ? unknown(name) : noValue(q) || node.v.set(parts[k], vals)
      if (!s || !/^\d{1,4}$/.test(i) || i >= Math.max(s.repeat.max ?? 1e3, 1) || depth++ > 1) return unknown(name)
      const m = node.r.get(parts[k]) || node.r.set(parts[k], new Map()).get(parts[k])
      node = m.get(+i) || m.set(+i, instance()).get(+i)
      scope = path
    }
    unknown(name)
  }
  const fromTree = (tree, scope, prefix) => {
    const inst = instance()
    for (const [id, vals] of tree.v) setv(inst, id, fieldValue(X.q.get(join(scope, id)), prefix + id, vals))
    if (o.live) for (const s of X.rep.values()) container(s.scope) == scope && !tree.r.has(s.id) && tree.r.set(s.id, new Map())
    for (const [id, m] of tree.r) {
      const path = join(scope, id), f = prefix + id
      keep(inst, id, f, [...m.keys()].sort((a, b) => a - b).map(i => [i, fromTree(m.get(i), path, `${f}.${i}.`)]), X.rep.get(path).repeat.min)
    }
    return inst
  }
  const tree = instance(), groups = new Map()
  for (const [n, v] of fields) n[0] == '_' || (groups.get(n) || groups.set(n, []).get(n)).push(v)
  groups.forEach((vs, n) => place(tree, n, vs))
  const root = fromTree(tree, '', ''), relevant = evaluateForm(rules, root, today)
  if (o.live) return { root, errors, relevant }

  for (const s of X.rep.values()) for (const c of positions(root, container(s.scope))) {
    const list = c.inst.r.get(s.id)
    if ((list || chainRelevant(rules, s, root, c.p, today, 1)) && (list?.length ?? 0) < s.repeat.min)
      push(c.f + s.id, 'min_instances', fill(t('too_few_instances'), s.repeat.min))
  }
  for (const q of rules.questions) for (const c of q.type == 'note' ? [] : positions(root, container(q.path))) {
    const f = c.f + last(q.path), pe = pending.get(f), v = c.inst.v.get(last(q.path)) ?? null, k = kind(v), { min, max } = q
    const scope = { root, position: c.p, today }, err = (code, m) => push(f, code, m), list = lists[q.path]
    const limit = (n, b, w, lo) => typeof b == 'number' && (lo ? n < b : n > b) && err(lo ? 'min' : 'max', fill(t(w, b), String(b).replace('e+', 'e')))
    if (!relevant.has(q.path + '|' + c.f)) continue
    if (pe) { err(pe.code, pe.message); continue }
    if (k == '') { q.type != 'calculate' && evaluate(q.required ?? false, scope) === true && err('required', t('required')); continue }
    if (k == 'n') limit(v, min, 'too_small', 1), limit(v, max, 'too_large')
    if (k == 'm') limit(v.length, min, 'too_few_choices', 1), limit(v.length, max, 'too_many_choices')
    if (k == 'd') {
      parseDate(min)?.n > v.n && err('min', fill(t('too_early'), min))
      parseDate(max)?.n < v.n && err('max', fill(t('too_late'), max))
    }
    k == 's' && [...v].length > q.max_length && err('max_length', fill(t('too_long', q.max_length), q.max_length))
    if (q.filter && list && !(k == 's' ? [v] : k == 'm' ? v : []).every(code => {
      const ch = list.find(x => x[0] == code)
      return ch && Object.entries(q.filter).every(([a, p]) => { const w = lookup(p, scope); return typeof w == 'string' && ch[2]?.[a] === w })
    })) err('choice_filter', t('filtered_choice'))
    q.constraint !== undefined && evaluate(q.constraint, { ...scope, self: v }) === false && err('constraint', q.message ?? t('constraint'))
  }
  return { root, errors, relevant }
}

export function answersOf(rules, inst, scope = '') {
  const X = ix(rules), o = {}
  inst.v.forEach((v, k) => X.q.get(join(scope, k))?.type == 'calculate' || (o[k] = toJson(v)))
  inst.r.forEach((list, k) => {
    o[k] = Array.from({ length: Math.max(list.n || 0, list.length) }, () => ({}))
    list.forEach((c, j) => o[k][c.i ?? j] = answersOf(rules, c, join(scope, k)))
  })
  return o
}
export function prepare(rules, fields, o = {}) {
  for (let r, n; ;) {
    r = validate(rules, fields, o)
    n = fields.length
    fields = fields.filter(([f]) => r.relevant.has(f.replace(/\.\d+\./g, '.') + '|' + f.slice(0, f.lastIndexOf('.') + 1)))
    if (r.errors.length || fields.length == n) return r.errors.length ? { errors: r.errors } : { answers: answersOf(rules, r.root) }
  }
}

export const backoff = (n, rand = Math.random()) => Math.min(5e3 * 2 ** (n - 1), 6e5) * (0.5 + rand / 2)
export const retryable = status => !status || status == 408 || status == 429 || status > 499
export const todayDate = (d = new Date()) => dateFromDays(dayNumber(d.getFullYear(), d.getMonth() + 1, d.getDate()))

let dbp
const db = (store, f, mode = 'readwrite') => (dbp ||= new Promise((ok, ko) => {
  const r = indexedDB.open('constancia', 1)
  r.onupgradeneeded = () => { r.result.createObjectStore('outbox', { keyPath: 'id' }); r.result.createObjectStore('drafts') }
  r.onsuccess = () => ok(r.result)
  r.onerror = () => ko(r.error)
})).then(d => new Promise((ok, ko) => {
  const tx = d.transaction(store, mode), q = f(tx.objectStore(store))
  tx.oncomplete = () => ok(q.result)
  tx.onerror = tx.onabort = () => ko(tx.error)
}))

if (typeof document == 'object') page()

function page() {
  const D = document, lang = D.documentElement.lang, $ = (s, r = D) => r.querySelector(s), $$ = (s, r = D) => [...r.querySelectorAll(s)]
  const rules = JSON.parse(D.getElementById('constancia-rules')?.textContent || 'null'), t = texts(rules), form = $('form.case')
  const on = (e, type, f) => e.addEventListener(type, f), byId = id => D.getElementById(id)
  const el = (tag, attrs, ...kids) => {
    const e = D.createElement(tag)
    for (const k in attrs) e.setAttribute(k, attrs[k])
    return e.append(...kids), e
  }
  const focus = e => e?.focus()
  const fields = 'input,select,textarea'
  if (/^http/.test(location.protocol)) navigator.serviceWorker?.register(new URL('../sw.js', import.meta.url)).catch(nop)

  const status = el('p', { class: 'outbox', role: 'status', 'aria-live': 'polite' }), tried = new Set()
  $('header .brand')?.after(status)
  let timer, note = '', leaving, key, flushing
  const post = item => fetch(item.url, {
    method: 'POST', body: item.body, credentials: 'include', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(3e4),
  }).then(async r => ({ status: r.status, json: await r.json().catch(nop) }), () => ({ status: 0 }))
  const all = () => db('outbox', s => s.getAll(), 'readonly')
  const show = items => {
    const held = items.filter(i => i.held).length
    status.textContent = [items.length && fill(t('waiting'), items.length), held && fill(t('attention'), held), note].filter(Boolean).join(' · ')
  }
  const refresh = () => all().then(show, nop)
  const failed = item => (retryable(item.status) ? item.next = Date.now() + backoff(++item.tries) : item.held = item.status, db('outbox', s => s.put(item)))
  const flush = async now => {
    if (flushing) return
    clearTimeout(timer)
    flushing = 1
    try {
      for (const item of await all()) if (item.held ? !tried.has(item.id) : now || item.next <= Date.now()) {
        const r = await post(item)
        tried.add(item.id)
        if (r.status > 199 && r.status < 300) await db('outbox', s => s.delete(item.id)), note = fill(t('delivered'), r.json?.reference ?? '')
        else await failed(Object.assign(item, { status: r.status }))
      }
      const items = await all(), next = Math.min(...items.filter(i => !i.held).map(i => i.next))
      if (next < 1 / 0) timer = setTimeout(flush, Math.max(next - Date.now(), 1e3))
      show(items)
    } catch {} finally { flushing = 0 }
  }
  on(self, 'online', () => flush(1))
  flush(1)

  const exit = $('[data-quick-exit]'), presses = []
  const leave = () => {
    const go = () => location.replace(exit.href)
    leaving = D.body.hidden = true
    Promise.race([key && db('drafts', s => s.delete(key)), new Promise(r => setTimeout(r, 400))]).then(go, go)
  }
  if (exit) {
    on(exit, 'click', e => { e.preventDefault(); leave() })
    on(self, 'keydown', e => e.key != 'Shift' ? presses.length = 0
      : !e.repeat && presses.push(e.timeStamp) > 2 && presses.at(-1) - presses.at(-3) < 1e3 && leave())
  }
  if (!rules || !form) return

  const X = ix(rules), lists = {}, templates = {}, loading = {}
  key = rules.form + '@' + rules.version
  $$('.cond', form).forEach(e => e.remove())
  const base = sec => sec.id.slice(2), insts = sec => $$(':scope>.inst', sec)
  const pathOf = n => n.replace(/\.\d+\./g, '.'), prefixOf = n => n.slice(0, n.lastIndexOf('.') + 1)
  const posOf = prefix => prefix.split('.').flatMap((x, i, a) => i % 2 || i == a.length - 1 ? [] : [[x, +a[i + 1]]])
  for (const sec of $$('section.rep', form)) {
    const node = insts(sec)[0]?.cloneNode(true)
    templates[sec.dataset.section] ||= node && { node, from: base(sec) + '.0.' }
  }
  const label = i => {
    const lg = $(':scope>legend', i)
    lg.textContent = lg.textContent.replace(/\d+$/, +i.dataset.index + 1)
    ;($(':scope>.remove', i) || i.appendChild(el('button', { type: 'button', class: 'remove' }))).textContent = t('remove') + ' ' + lg.textContent
  }
  const buttons = sec => {
    const n = insts(sec).length, r = X.sec.get(sec.dataset.section).repeat
    $(':scope>.add', sec).hidden = n >= (r.max ?? 1 / 0)
    insts(sec).forEach(i => $(':scope>.remove', i).hidden = n <= r.min)
  }
  const enhance = node => {
    for (const sec of $$('section.rep', node)) insts(sec).forEach(label), buttons(sec)
    // The picker comes with the rest of the page's code (more.js), once the
    // officer starts on the form.
    for (const i of $$('input[data-list]', node)) on(i, 'focus', () => load(qOf(i)))
    morep && more().then(m => pickers(node, m), nop)
  }
  const pickers = (node, m) => $$('input[data-list]:not([role])', node).forEach(i => m.picker(i, c))

  const load = q => lists[q.path] || (loading[q.list] ||= fetch(q.list).then(r => r.ok ? r.json() : Promise.reject())
    .then(rows => rows.map(([c, l, a]) => [c, l, a || {}, fold(l)]), () => void setTimeout(() => delete loading[q.list], 3e4)))
    .then(rows => rows && !lists[q.path] && (lists[q.path] = rows, $$('input[data-list]', form).filter(i => qOf(i) == q).forEach(sync), update()))
  const qOf = input => X.q.get(pathOf(input.closest('[data-q]').dataset.q))
  const rowOf = input => {
    const l = lists[qOf(input).path], c = input.dataset.code
    return l?.find(r => r[0] == c && r[1] == input.value) || l?.find(r => r[0] == input.value.trim())
  }
  const sync = input => { const r = rowOf(input); r && (input.value = r[1], input.dataset.code = r[0]) }
  const fits = (input, row) => Object.entries(qOf(input).filter || {}).every(([a, p]) => {
    const w = lookup(p, { root: state.root, position: posOf(prefixOf(input.name)) })
    return typeof w == 'string' && row[2][a] === w
  })

  let state, wraps, morep
  const entries = () => {
    const codes = new Map($$('input[data-code]', form).map(i => [i.name, rowOf(i), i.value]).filter(x => x[1]?.[1] == x[2]).map(x => [x[0], x[1][0]]))
    return [...new FormData(form)].filter(e => typeof e[1] == 'string').map(([n, v]) => [n, codes.get(n) ?? v])
  }
  const live = f => { const s = byId('s-' + f); return s && insts(s).length }
  function update(round = 0) {
    const today = todayDate(), was = D.activeElement, set = (e, k, v) => e[k] != v && (e[k] = v)
    const { root, relevant } = state = validate(rules, entries(), { live, lists, today })
    let again
    wraps ||= $$('[data-q]', form).map(w => [w, pathOf(w.dataset.q), prefixOf(w.dataset.q)])
    for (const [w, q, pre] of wraps) set(w, 'hidden', X.q.has(q) && !relevant.has(q + '|' + pre))
    for (const s of $$('section[data-section]', form)) {
      const sec = X.sec.get(s.dataset.section)
      set(s, 'hidden', !chainRelevant(rules, sec, root, posOf(base(s).slice(0, -sec.id.length)), today, !!sec.repeat))
    }
    for (const q of rules.questions) for (const [w, , pre] of q.filter ? wraps.filter(x => x[1] == q.path) : []) {
      const scope = { root, position: posOf(pre) }, want = Object.entries(q.filter).map(([a, p]) => [a, lookup(p, scope)])
      const i = $('[data-list]', w), r = i && rowOf(i)
      for (const c of $$('option,input', w)) if (c.value && c != i) {
        const ok = want.every(([a, v]) => typeof v == 'string' && c.getAttribute('data-' + a) === v)
        if (!ok && !w.hidden && (c.selected || c.checked)) again = c.selected = c.checked = false
        set(c, 'disabled', !ok)
      }
      if (!w.hidden && i) r && !fits(i, r) ? (again = i.value = '', delete i.dataset.code) : load(q)
    }
    if (again != null && round < 3) return update(round + 1)
    if (was?.closest('form [hidden]')) {
      const all = $$(fields + ',button', form)
      focus(all.slice(all.indexOf(was)).find(c => !c.closest('[hidden]') && !c.disabled))
    }
  }

  let saving
  const save = () => {
    clearTimeout(saving)
    saving = setTimeout(() => rules.drafts && !leaving && db('drafts', s => s.put({ at: Date.now(), e: entries(), n: $$('section.rep', form).map(s => [s.id, insts(s).length]) }, key)).catch(nop), 600)
  }
  const dropDraft = () => (clearTimeout(saving), db('drafts', s => s.delete(key)).catch(nop))
  const changed = () => { update(); save() }

  on(form, 'submit', e => { e.preventDefault(); more().then(m => m.submit(c), () => form.submit()) })
  // One pass per answer: `input` fires for every kind of field, and the
  // `change` that follows it (a choice, a blur) brings nothing new; a
  // `change` alone (a scripted choice) still counts.
  const seen = new WeakSet()
  on(form, 'input', e => { seen.add(e.target); changed() })
  on(form, 'change', e => seen.delete(e.target) || changed())
  on(form, 'click', e => {
    const b = e.target.closest('button'), f = b?.matches('.add') ? 'add' : b?.matches('.inst>.remove') && 'remove'
    f && more().then(m => m[f](b.parentElement, c))
  })
  const c = {
    D, $, $$, el, on, byId, focus, form, rules, t, lang, title: D.title, lists, load, qOf, fits, sync, entries, changed, update,
    db, post, failed, refresh, dropDraft, prepare, todayDate, fill, fold, nop, templates, insts, base,
    label, buttons, enhance, fields, reset: () => wraps = 0,
  }
  // What only a working officer needs (the picker, submitting, the error
  // summary, the receipt: more.js) loads on the first focus in the form
  // rather than with the page; the service worker keeps it for offline use.
  const more = () => morep ||= import(new URL(rules.more, import.meta.url)).then(m => (pickers(form, m), m), e => { morep = 0; throw e })
  on(form, 'focusin', () => more().catch(nop))
  enhance(form)
  update()
  if (rules.drafts) db('drafts', s => s.get(key), 'readonly').then(d => d?.e.some(x => x[1]) && more().then(m => (m.restore(d, c), update())), nop)
  else db('drafts', s => s.clear()).catch(nop)
}
