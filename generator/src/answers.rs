//! A submission's answers as a tree: top-level answers, and for each repeat
//! its instances, each with answers and possibly nested repeats.
//!
//! Question ids are unique across a form, so one map per instance holds
//! every answer of the sections stored there, whatever section shows them.

use std::collections::BTreeMap;

use crate::value::Value;

/// The answers of the whole form, or of one instance of a repeat.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Instance {
    /// Answered questions by id (never [`Value::Empty`]).
    pub values: BTreeMap<String, Value>,
    /// Repeats stored here, by section id.
    pub repeats: BTreeMap<String, Vec<Instance>>,
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
