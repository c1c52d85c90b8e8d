//! A submission's answers as a tree: top-level answers, and for each repeat
//! its instances, each with answers and possibly nested repeats.
//!
//! Answers are kept in numbered slots rather than maps keyed by question
//! id: a [`Layout`], built once per form version, numbers the questions and
//! repeats of every scope (the top level and each repeat). Validating a
//! case then reads and writes answers by number, with no string hashing or
//! comparing on the way; ids come back only where text is written out (the
//! stored JSON) or an expression names a path.
//!
//! Question ids are unique across a form, so one scope holds every answer
//! of the sections stored there, whatever section shows them.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::expr::Reference;
use crate::manifest::Manifest;
use crate::value::Value;

/// What an id names in a scope: the slot of a question's answer or of a
/// repeat's instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    /// A question: its answer is `values[slot]` of the instance.
    Value(usize),
    /// A repeat: its instances are `repeats[slot]` of the instance.
    Repeat(usize),
}

/// The ids of one scope and where their answers live.
#[derive(Debug, Clone, Default)]
struct ScopeLayout {
    /// How many questions the scope holds (its value slots).
    values: usize,
    /// The scope of each repeat's instances, by repeat slot.
    repeats: Vec<usize>,
    /// Every id of the scope.
    slots: FxHashMap<String, Slot>,
    /// The slots in the order of their ids' bytes: the order of the stored
    /// JSON's keys and of [`packed`](crate::packed) answers.
    order: Vec<Slot>,
    /// By the same order, the JSON text that introduces each id's value
    /// (`"id":`).
    keys: Vec<Vec<u8>>,
}

/// Where a data path leads from the top: the repeats to enter (id and slot,
/// outermost first) and, for a question, the slot of its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The repeats on the way, ending with the repeat itself when the path
    /// names a repeat. Ids are shared (every route and position through a
    /// repeat holds the same allocation), so comparing them is usually
    /// comparing two pointers: see [`same_id`].
    pub repeats: Vec<(Arc<str>, usize)>,
    /// The answer's slot in the last instance; `None` for a repeat.
    pub value: Option<usize>,
}

/// The numbering of a form's answers: scope 0 is the top level, every
/// repeat has a scope of its own.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Tells layouts apart, for references that remember their route.
    id: u64,
    scopes: Vec<ScopeLayout>,
    /// Every question and repeat by data path (`acts.inv.n`).
    routes: FxHashMap<String, Route>,
}

impl Layout {
    /// Numbers the questions and repeats given by data path. Repeats may be
    /// given in any order; questions get slots in the order given.
    pub fn new<'a>(questions: impl IntoIterator<Item = &'a str>, repeats: impl IntoIterator<Item = &'a str>) -> Self {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut layout = Self { id, scopes: vec![ScopeLayout::default()], routes: FxHashMap::default() };
        let mut repeats: Vec<&str> = repeats.into_iter().collect();
        // Containers before what they contain.
        repeats.sort_by_key(|path| path.matches('.').count());
        for path in repeats {
            let Some((container, id)) = split(path) else { continue };
            let Some(parent) = layout.scope_at(container) else { continue };
            if layout.scopes[parent].slots.contains_key(id) {
                continue;
            }
            let mut route = layout.base_route(container);
            let child = layout.scopes.len();
            let scope = &mut layout.scopes[parent];
            let slot = scope.repeats.len();
            scope.repeats.push(child);
            scope.slots.insert(id.to_owned(), Slot::Repeat(slot));
            layout.scopes.push(ScopeLayout::default());
            route.repeats.push((Arc::from(id), slot));
            layout.routes.insert(path.to_owned(), route);
        }
        for path in questions {
            let Some((container, id)) = split(path) else { continue };
            let Some(parent) = layout.scope_at(container) else { continue };
            let scope = &mut layout.scopes[parent];
            if scope.slots.contains_key(id) {
                continue;
            }
            let slot = scope.values;
            scope.values += 1;
            scope.slots.insert(id.to_owned(), Slot::Value(slot));
            let mut route = layout.base_route(container);
            route.value = Some(slot);
            layout.routes.insert(path.to_owned(), route);
        }
        for scope in &mut layout.scopes {
            let mut ids: Vec<(&String, Slot)> = scope.slots.iter().map(|(id, slot)| (id, *slot)).collect();
            ids.sort_unstable();
            scope.order = ids.iter().map(|(_, slot)| *slot).collect();
            scope.keys = ids
                .iter()
                .map(|(id, _)| {
                    let mut key = serde_json::to_vec(id).unwrap_or_default();
                    key.push(b':');
                    key
                })
                .collect();
        }
        layout
    }

    /// The layout of a form version: its questions by data path, and its
    /// repeating sections by scope.
    pub fn for_manifest(manifest: &Manifest) -> Self {
        Self::new(
            manifest.sections.iter().flat_map(|s| s.questions.iter().map(|q| q.path.as_str())),
            manifest.sections.iter().filter(|s| s.repeat.is_some()).map(|s| s.scope.as_str()),
        )
    }

    /// Tells this layout apart from others (clones share it).
    #[cfg(test)]
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The scope whose instances are at `path` (`""` for the top level).
    pub fn scope_at(&self, path: &str) -> Option<usize> {
        if path.is_empty() {
            return Some(0);
        }
        let route = self.routes.get(path)?;
        if route.value.is_some() {
            return None;
        }
        let mut scope = 0;
        for (_, slot) in &route.repeats {
            scope = *self.scopes.get(scope)?.repeats.get(*slot)?;
        }
        Some(scope)
    }

    /// The route to the instances at `container` (a repeat, or the top).
    fn base_route(&self, container: &str) -> Route {
        match self.routes.get(container) {
            Some(route) if !container.is_empty() && route.value.is_none() => route.clone(),
            _ => Route { repeats: Vec::new(), value: None },
        }
    }

    /// What `id` names in `scope`.
    pub fn slot(&self, scope: usize, id: &str) -> Option<Slot> {
        self.scopes.get(scope)?.slots.get(id).copied()
    }

    /// The slots of a scope in the order of their ids' bytes.
    pub(crate) fn ordered(&self, scope: usize) -> &[Slot] {
        self.scopes.get(scope).map_or(&[], |layout| &layout.order)
    }

    /// The scope of a repeat's instances, by the repeat's scope and slot.
    pub fn child_scope(&self, scope: usize, repeat: usize) -> usize {
        self.scopes[scope].repeats[repeat]
    }

    /// Where a data path leads.
    pub fn route(&self, path: &str) -> Option<&Route> {
        self.routes.get(path)
    }

    /// Points a reference at this layout: its route is found now rather
    /// than at its first evaluation (and a route remembered for another
    /// layout, e.g. of the manifest this one was cloned from, is replaced).
    pub fn resolve(&self, reference: &mut Reference) {
        reference.route = std::sync::OnceLock::from((self.id, self.route(reference).cloned()));
    }

    /// Where a reference leads, found once per reference and layout.
    pub fn route_of<'a>(&'a self, reference: &'a Reference) -> Option<&'a Route> {
        match reference.route.get() {
            Some((id, route)) if *id == self.id => route.as_ref(),
            Some(_) => self.route(reference),
            None => {
                let route = self.route(reference);
                // Another thread may have set it first: to the same route.
                let _ = reference.route.set((self.id, route.cloned()));
                route
            }
        }
    }

    /// An instance of `scope` with nothing answered.
    pub fn instance(&self, scope: usize) -> Instance {
        let layout = &self.scopes[scope];
        Instance { values: vec![Value::Empty; layout.values], repeats: vec![None; layout.repeats.len()] }
    }

    /// The answers as the JSON text stored and exported: answers by id in
    /// key order, repeats as arrays of objects, unanswered questions left
    /// out. This text is what a submission's content hash covers, so it
    /// must not change from one release to the next.
    pub fn json(&self, root: &Instance) -> String {
        let mut out = Vec::with_capacity(4096);
        self.write_instance(0, root, &mut out);
        // Keys and values are all written as JSON, which is UTF-8.
        String::from_utf8(out).unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
    }

    /// Writes an instance of `scope` as a JSON object. Written directly
    /// rather than through serde's map machinery: keys are prepared once
    /// per layout, so only values are formatted per submission.
    fn write_instance(&self, scope: usize, instance: &Instance, out: &mut Vec<u8>) {
        let layout = &self.scopes[scope];
        out.push(b'{');
        let mut first = true;
        for (key, slot) in layout.keys.iter().zip(&layout.order) {
            let mut separate = |out: &mut Vec<u8>| {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                out.extend_from_slice(key);
            };
            match *slot {
                Slot::Value(slot) => match instance.values.get(slot) {
                    Some(value) if !value.is_empty() => {
                        separate(out);
                        // Writing into a vector cannot fail.
                        let _ = serde_json::to_writer(&mut *out, value);
                    }
                    _ => {}
                },
                Slot::Repeat(slot) => {
                    if let Some(Some(instances)) = instance.repeats.get(slot) {
                        separate(out);
                        out.push(b'[');
                        let child = layout.repeats[slot];
                        for (index, instance) in instances.iter().enumerate() {
                            if index > 0 {
                                out.push(b',');
                            }
                            self.write_instance(child, instance, out);
                        }
                        out.push(b']');
                    }
                }
            }
        }
        out.push(b'}');
    }
}

/// The answers of the whole form, or of one instance of a repeat, in the
/// slots of their scope's [`Layout`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Instance {
    /// Answers by value slot ([`Value::Empty`] when unanswered).
    pub values: Vec<Value>,
    /// Instances by repeat slot; `None` when the repeat was not sent (or
    /// was dropped as not relevant), which the stored JSON tells apart
    /// from an empty list.
    pub repeats: Vec<Option<Vec<Instance>>>,
}

impl Instance {
    /// The answer in a slot.
    pub fn get(&self, slot: usize) -> &Value {
        self.values.get(slot).unwrap_or(&Value::Empty)
    }

    /// The instances of a repeat (none when not sent).
    pub fn instances(&self, slot: usize) -> &[Instance] {
        self.repeats.get(slot).and_then(Option::as_deref).unwrap_or(&[])
    }

    /// Whether nothing at all is answered here.
    pub fn is_blank(&self) -> bool {
        self.values.iter().all(Value::is_empty) && self.repeats.iter().flatten().flatten().all(Instance::is_blank)
    }
}

/// Whether two repeat ids are the same: at once when both point at the
/// shared id of a [`Route`], by their text otherwise.
pub fn same_id(a: &str, b: &str) -> bool {
    (std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len()) || a == b
}

/// A data path's container and last id; `None` for a path with an empty
/// part (only a hand-edited manifest has one).
fn split(path: &str) -> Option<(&str, &str)> {
    if path.split('.').any(str::is_empty) {
        return None;
    }
    Some(path.rsplit_once('.').unwrap_or(("", path)))
}

/// A position in the answer tree: for each repeat entered, its id and the
/// instance index.
pub type Position<'a> = [(&'a str, usize)];

/// Answers written by id, for tests and tools that build answers by hand:
/// [`Draft::build`] numbers them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    /// Answers by question id.
    pub values: BTreeMap<String, Value>,
    /// Instances by repeat id.
    pub repeats: BTreeMap<String, Vec<Draft>>,
}

impl Draft {
    /// Sets an answer; an empty value removes it.
    pub fn set(&mut self, id: &str, value: Value) {
        if value.is_empty() {
            self.values.remove(id);
        } else {
            self.values.insert(id.to_owned(), value);
        }
    }

    /// A layout holding every id used (at any instance) and the answers in it.
    pub fn build(&self) -> (Layout, Instance) {
        let (mut questions, mut repeats) = (Vec::new(), Vec::new());
        self.paths("", &mut questions, &mut repeats);
        let layout = Layout::new(questions.iter().map(String::as_str), repeats.iter().map(String::as_str));
        let root = self.fill(&layout, 0);
        (layout, root)
    }

    fn paths(&self, scope: &str, questions: &mut Vec<String>, repeats: &mut Vec<String>) {
        let join = |id: &str| if scope.is_empty() { id.to_owned() } else { format!("{scope}.{id}") };
        questions.extend(self.values.keys().map(|id| join(id)));
        for (id, instances) in &self.repeats {
            let path = join(id);
            for instance in instances {
                instance.paths(&path, questions, repeats);
            }
            repeats.push(path);
        }
    }

    fn fill(&self, layout: &Layout, scope: usize) -> Instance {
        let mut instance = layout.instance(scope);
        for (id, value) in &self.values {
            if let Some(Slot::Value(slot)) = layout.slot(scope, id) {
                instance.values[slot] = value.clone();
            }
        }
        for (id, instances) in &self.repeats {
            if let Some(Slot::Repeat(slot)) = layout.slot(scope, id) {
                let child = layout.child_scope(scope, slot);
                instance.repeats[slot] = Some(instances.iter().map(|i| i.fill(layout, child)).collect());
            }
        }
        instance
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lists_answers_in_key_order_and_leaves_out_the_unanswered() {
        let mut inner = Draft::default();
        inner.set("n", Value::Number(2.0));
        let mut root = Draft::default();
        root.set("b", Value::Text("x".into()));
        root.set("z", Value::Multi(vec!["a".into()]));
        root.set("d", Value::Date(jiff::civil::date(2024, 2, 29)));
        root.set("ñ\"q", Value::Bool(true));
        root.repeats.insert("c".into(), vec![inner.clone(), inner]);
        root.repeats.insert("a".into(), vec![]);
        let (layout, mut instance) = root.build();
        let Some(Slot::Value(b)) = layout.slot(0, "b") else { panic!("b is a question") };
        let text = layout.json(&instance);
        assert_eq!(text, r#"{"a":[],"b":"x","c":[{"n":2},{"n":2}],"d":"2024-02-29","z":["a"],"ñ\"q":true}"#);
        instance.values[b] = Value::Empty;
        let text = layout.json(&instance);
        assert!(!text.contains("\"b\""), "{text}");
    }

    #[test]
    fn routes_lead_through_nested_repeats() {
        let layout = Layout::new(["age", "acts.kind", "acts.inv.n"], ["acts.inv", "acts"]);
        let route = layout.route("acts.inv.n").unwrap();
        assert_eq!(route.repeats.iter().map(|(id, _)| &**id).collect::<Vec<_>>(), ["acts", "inv"]);
        assert!(route.value.is_some());
        assert_eq!(layout.route("acts.inv").unwrap().value, None);
        assert_eq!(layout.scope_at("acts.inv"), Some(2));
        assert_eq!(layout.scope_at("age"), None);
        assert_eq!(layout.slot(1, "kind"), Some(Slot::Value(0)));
    }
}
