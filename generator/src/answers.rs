//! A submission's answers as a tree: top-level answers, and for each repeat
//! its instances, each with answers and possibly nested repeats.
//!
//! Question ids are unique across a form, so one map per instance holds
//! every answer of the sections stored there, whatever section shows them.

use rustc_hash::FxHashMap;

use crate::value::Value;

/// The answers of the whole form, or of one instance of a repeat.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Instance {
    /// Answered questions by id (never [`Value::Empty`]). A hash map: it is
    /// looked up far more often than listed (output sorts the ids).
    pub values: FxHashMap<String, Value>,
    /// Repeats stored here, by section id.
    pub repeats: FxHashMap<String, Vec<Instance>>,
}

impl Instance {
    /// The answer of a question of this instance.
    pub fn get(&self, id: &str) -> &Value {
        self.values.get(id).unwrap_or(&Value::Empty)
    }

    /// Sets an answer; an empty value removes it.
    pub fn set(&mut self, id: &str, value: Value) {
        if value.is_empty() {
            self.values.remove(id);
        } else {
            self.values.insert(id.to_owned(), value);
        }
    }

    /// Whether nothing at all is answered here.
    pub fn is_blank(&self) -> bool {
        self.values.is_empty() && self.repeats.values().all(|instances| instances.iter().all(Instance::is_blank))
    }

    /// The answers as the JSON object stored and exported: answers by id,
    /// repeats as arrays of objects.
    pub fn to_json(&self) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        for (id, value) in &self.values {
            object.insert(id.clone(), value.to_json());
        }
        for (id, instances) in &self.repeats {
            object.insert(id.clone(), instances.iter().map(Instance::to_json).collect());
        }
        serde_json::Value::Object(object)
    }
}

/// A position in the answer tree: for each repeat entered, its id and the
/// instance index.
pub type Position<'a> = [(&'a str, usize)];

impl serde::Serialize for Instance {
    /// The same JSON as [`Instance::to_json`], written directly: answers and
    /// repeats merged in key order.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.values.len() + self.repeats.len()))?;
        let mut sorted: Vec<(&String, &Value)> = self.values.iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut values = sorted.into_iter().peekable();
        let mut repeats: Vec<(&String, &Vec<Instance>)> = self.repeats.iter().collect();
        repeats.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut repeats = repeats.into_iter().peekable();
        loop {
            match (values.peek(), repeats.peek()) {
                (Some((a, _)), Some((b, _))) if a <= b => {
                    let (key, value) = values.next().expect("peeked");
                    map.serialize_entry(key, value)?;
                }
                (_, Some(_)) => {
                    let (key, instances) = repeats.next().expect("peeked");
                    map.serialize_entry(key, instances)?;
                }
                (Some(_), None) => {
                    let (key, value) = values.next().expect("peeked");
                    map.serialize_entry(key, value)?;
                }
                (None, None) => break,
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn serializes_like_to_json() {
        let mut inner = Instance::default();
        inner.set("n", Value::Number(2.0));
        let mut root = Instance::default();
        root.set("b", Value::Text("x".into()));
        root.set("z", Value::Multi(vec!["a".into()]));
        root.set("d", Value::Date(jiff::civil::date(2024, 2, 29)));
        root.repeats.insert("c".into(), vec![inner.clone(), inner]);
        root.repeats.insert("a".into(), vec![]);
        assert_eq!(serde_json::to_string(&root).unwrap(), root.to_json().to_string());
    }
}
