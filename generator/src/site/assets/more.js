// The part of Constancia's browser runtime (docs/runtime.md) that only an
// officer at work needs: the long-list picker, submitting, the error summary
// and the receipt, adding and removing repeat instances, restoring a draft.
// runtime.js imports it on the first focus in a form (so it is not in the
// weight of opening the page), or at once to restore a draft, and passes
// `c`, its page state and helpers; this file has no state of its own and
// imports nothing.

// Pure, tested in Node with runtime.js's exports: the submission id (a UUID
// v4), `completed_at` in RFC 3339 with the local offset, and the renaming of
// repeat instances in names and ids.
export const uuid = () => crypto.randomUUID?.() ??
  '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, c => (c ^ crypto.getRandomValues(new Uint8Array(1))[0] & 15 >> c / 4).toString(16))
const p2 = n => String(n).padStart(2, '0')
export const rfc3339 = (d = new Date(), o = d.getTimezoneOffset(), a = Math.abs(o)) =>
  new Date(d - o * 6e4).toISOString().slice(0, 19) + (o > 0 ? '-' : '+') + p2(a / 60 | 0) + ':' + p2(a % 60)
export const renameAttr = (value, from, to) => value.replace(new RegExp('(^|[\\s-])' + from.replace(/\./g, '\\.'), 'g'), '$1' + to)

// An input[data-list] becomes an ARIA 1.2 combobox over its list asset.
export function picker(input, c) {
  const { el, on, lists, load, fits, changed, fold } = c
  const q = c.qOf(input), lb = el('ul', { id: 'l-' + input.name, role: 'listbox', class: 'picker', hidden: '', 'aria-label': input.labels[0].textContent })
  const attr = (k, v) => input.setAttribute(k, v), items = () => [...lb.children]
  let rows = [], active = -1
  input.after(lb)
  attr('role', 'combobox'); attr('aria-autocomplete', 'list'); attr('aria-expanded', false); attr('aria-controls', lb.id)
  const close = () => { lb.hidden = true; attr('aria-expanded', false); input.removeAttribute('aria-activedescendant'); active = -1 }
  const move = k => {
    active = (k + rows.length) % rows.length
    items().forEach((li, i) => li.setAttribute('aria-selected', i == active))
    attr('aria-activedescendant', items()[active].id)
    items()[active].scrollIntoView?.({ block: 'nearest' })
  }
  const choose = k => { input.value = rows[k][1]; input.dataset.code = rows[k][0]; close(); changed() }
  const open = () => {
    const w = fold(input.value), raw = input.value.trim()
    if (!lists[q.path]) return load(q)
    rows = lists[q.path].filter(r => fits(input, r) && (r[3].includes(w) || r[0].startsWith(raw)))
      .sort((a, b) => !a[3].startsWith(w) - !b[3].startsWith(w)).slice(0, 30)
    lb.replaceChildren(...rows.map((r, i) => el('li', { id: `${lb.id}-${i}`, role: 'option', 'aria-selected': false }, r[1])))
    lb.hidden = !rows.length
    attr('aria-expanded', !!rows.length)
    active = -1
  }
  // Typing filters; a click or ↓ shows the list as it stands (all of a
  // list of up to 30, like a dropdown).
  on(input, 'input', open)
  on(input, 'click', open)
  on(input, 'blur', close)
  on(input, 'keydown', e => {
    const k = { ArrowDown: 1, ArrowUp: -1 }[e.key], shown = !lb.hidden
    if (k || shown && /Enter|Escape/.test(e.key)) e.preventDefault()
    k ? shown ? move(active < 0 && k < 0 ? -1 : active + k) : open() : shown && (e.key == 'Enter' ? choose(Math.max(active, 0)) : e.key == 'Escape' && close())
  })
  on(lb, 'mousedown', e => e.preventDefault())
  on(lb, 'click', e => e.target.matches('li') && choose(items().indexOf(e.target)))
}

// Submitting: check as the collector would, queue in the outbox, post, then
// the receipt, the errors, or word that the case waits on this device.
export async function submit(c) {
  const { D, $, $$, el, byId, focus, form, rules, t, fill, lists, db, nop } = c
  const clearErrors = () => {
    D.title = c.title
    $$('.error-summary,.error', form).forEach(e => e.remove())
    $$('.invalid', form).forEach(e => e.classList.remove('invalid'))
    for (const e of $$('[aria-invalid],[aria-describedby]', form)) {
      const d = e.getAttribute('aria-describedby')?.split(' ').filter(x => !/^e-/.test(x)).join(' ')
      e.removeAttribute('aria-invalid')
      d ? e.setAttribute('aria-describedby', d) : e.removeAttribute('aria-describedby')
    }
  }
  const showErrors = errors => {
    const list = el('ul')
    clearErrors()
    for (const { field, message } of errors) {
      const to = byId('f-' + field) || byId('s-' + field), w = to?.closest('[data-q],section')
      const where = w && $(':scope>:is(label,legend,h2,h3,h4)', w)?.firstChild.textContent.trim()
      let p = byId('e-' + field)
      list.append(el('li', {}, to ? el('a', { href: '#' + to.id }, where ? where + ': ' + message : message) : message))
      if (p) p.append(' ' + message)
      else if (w) {
        p = el('p', { class: 'error', id: 'e-' + field }, message)
        w.classList.add('invalid')
        ;($(w.matches('section') ? ':scope>:is(.inst,.add,.q)' : ':scope>:is(input,select,textarea,label:not(:first-child))', w) || w.lastChild).before(p)
        for (const x of w.matches('fieldset') ? [w] : $$(':scope>:is(input,select,textarea)', w))
          x.setAttribute('aria-describedby', `${x.getAttribute('aria-describedby') || ''} e-${field}`.trim())
        $$(':scope>:is(input,select,textarea),:scope>label>input', w).forEach(x => x.setAttribute('aria-invalid', true))
      }
    }
    const box = el('div', { class: 'error-summary', role: 'alert', tabindex: -1, 'aria-labelledby': 'error-title' },
      el('h2', { id: 'error-title' }, t('error_summary')), list)
    form.prepend(box)
    D.title = t('error_prefix') + c.title
    focus(box)
  }
  const done = (heading, ...body) => {
    const box = el('div', { class: 'receipt', tabindex: -1 }, el('h2', {}, heading), ...body, el('p', {}, el('a', { href: location.pathname }, t('another'))))
    form.replaceWith(box)
    D.title = heading + ' — ' + c.title
    focus(box)
  }

  const button = $('.send', form), now = new Date(), drop = id => db('outbox', s => s.delete(id)).catch(nop)
  if (button.disabled) return
  button.disabled = true
  try {
    await Promise.all($$('input[data-list]', form).filter(i => i.value).map(i => c.load(c.qOf(i))))
    c.update()
    const r = c.prepare(rules, c.entries(), { lists, today: c.todayDate(now) })
    if (r.errors) return showErrors(r.errors)
    const body = { submission_id: uuid(), form: rules.form, version: rules.version, lang: rules.lang, completed_at: rfc3339(now), answers: r.answers }
    const item = { id: body.submission_id, url: new URL(rules.submit, location.href).href, body: JSON.stringify(body), tries: 0, next: Date.now() + 6e4 }
    const kept = await db('outbox', s => s.put(item)).then(() => 1, nop), res = await c.post(item)
    clearErrors()
    if (res.status > 199 && res.status < 300) {
      await drop(item.id)
      await c.dropDraft()
      done(t('received'), el('p', { class: 'reference' }, fill(t('reference'), res.json?.reference ?? '')), new Date(res.json?.received_at || now).toLocaleString(c.lang))
    } else if (res.status == 422 && res.json?.errors) {
      await drop(item.id)
      showErrors(res.json.errors)
    } else if (kept) {
      await c.failed(Object.assign(item, { status: res.status })).catch(nop)
      await c.dropDraft()
      done(item.held ? fill(t('held'), item.held) : t('queued'))
      c.refresh()
    } else showErrors([{ field: '', message: t('not_saved') }])
  } catch {
    form.submit()
  } finally {
    button.disabled = false
  }
}

// Repeats: a new instance is a copy of the first as the page was served,
// renamed; removing one renames the ones after it.
const rename = (c, node, from, to) => {
  for (const e of [node, ...c.$$('*', node)]) for (const a of ['id', 'name', 'for', 'data-q', 'aria-describedby', 'aria-labelledby', 'aria-controls'])
    e.getAttribute(a)?.includes(from) && e.setAttribute(a, renameAttr(e.getAttribute(a), from, to))
}
export function add(sec, c, quiet) {
  const k = c.insts(sec).length, tp = c.templates[sec.dataset.section], node = tp.node.cloneNode(true)
  c.reset()
  rename(c, node, tp.from, `${c.base(sec)}.${k}.`)
  node.dataset.index = k
  c.$(':scope>.add', sec).before(node)
  c.label(node)
  c.buttons(sec)
  c.enhance(node)
  quiet || (c.changed(), c.focus(c.$(c.fields, node)))
}
export function remove(inst, c) {
  const { $, $$ } = c, sec = inst.parentElement, b = c.base(sec), next = inst.nextElementSibling
  // Answered: a field that differs from what the page served (docs/browser-bugs.md 1).
  if ($$(c.fields, inst).some(x => x.options ? [...x.options].some(o => o.selected != o.defaultSelected)
    : /radio|checkbox/.test(x.type) ? x.checked != x.defaultChecked : x.value != x.defaultValue) &&
    !confirm($(':scope>.remove', inst).textContent + '?')) return
  inst.remove(c.reset())
  c.insts(sec).forEach((e, k) => e.dataset.index != k && (rename(c, e, `${b}.${e.dataset.index}.`, `${b}.${k}.`), e.dataset.index = k, c.label(e)))
  c.buttons(sec)
  c.changed()
  c.focus(next.matches('.inst') ? $(c.fields, next) : next)
}

// A draft saved on this device: its instances first, then its answers, and
// a notice with a button that discards it.
export function restore(d, c) {
  const { el, t, form } = c, by = new Map()
  for (const [id, n] of d.n) for (let s = c.byId(id); s && c.insts(s).length < n;) add(s, c, 1)
  for (const [n, v] of d.e) (by.get(n) || by.set(n, []).get(n)).push(v)
  for (const x of form.elements) if (x.name && x.name[0] != '_') {
    const vs = by.get(x.name) || []
    if (/radio|checkbox/.test(x.type)) x.checked = vs.includes(x.value)
    else x.value = vs.at(-1) ?? ''
    if (x.dataset.list) delete x.dataset.code, c.sync(x)
  }
  const btn = el('button', { type: 'button', class: 'remove' }, t('discard'))
  btn.onclick = () => c.dropDraft().then(() => location.reload())
  form.prepend(el('div', { class: 'draft', role: 'status' }, el('p', {}, c.fill(t('draft'), new Date(d.at).toLocaleString(c.lang))), btn))
}
