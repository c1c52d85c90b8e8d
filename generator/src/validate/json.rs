//! Reading JSON answers straight into the answer tree.
//!
//! serde seeds walk the JSON once, guided by the form: keys are looked up
//! without being copied, values become typed answers as they are read, and
//! nothing is built only to be thrown away (no intermediate `serde_json`
//! tree). Reading never fails on what a client sends: a value of the wrong
//! type is remembered against its field, an unknown key is an error of its
//! own, and the walk goes on, so every problem is reported at once.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Field, FieldError, Member, Pending, Reader};

use crate::answers::Instance;
use crate::lower::MAX_REPEAT;
use crate::manifest::{Question, QuestionType};
use crate::messages::fill;
use crate::value::{Value, parse_date, parse_time};

/// A key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(value)))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(value.to_owned())))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(value)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The answers of one instance (or of the whole form) at `scope`, naming
/// fields with `prefix`. `None` when the JSON value is not an object.
pub(super) struct InstanceSeed<'r, 'a> {
    pub reader: &'r mut Reader<'a>,
    /// The scope in the form's layout.
    pub scope: usize,
    pub prefix: &'r str,
}

impl<'de> DeserializeSeed<'de> for InstanceSeed<'_, '_> {
    type Value = Option<Instance>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Consumes a sequence without keeping anything.
fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Consumes a map without keeping anything.
fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

impl<'de> Visitor<'de> for InstanceSeed<'_, '_> {
    type Value = Option<Instance>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of answers")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let reader = self.reader;
        let form = reader.form;
        let mut instance = form.layout.instance(self.scope);
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let named = Field { prefix: self.prefix, key: &key };
            match form.member(self.scope, &key) {
                Some(Member::Question { number, slot }) => {
                    let question = form.question_at(number);
                    if matches!(question.kind, QuestionType::Calculate | QuestionType::Note) {
                        // Recomputed, or without a value: never taken from a client.
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    instance.values[slot] =
                        map.next_value_seed(ValueSeed { reader: &mut *reader, number, question, field: &named })?;
                }
                Some(Member::Repeat { section, slot }) => {
                    let section = &form.manifest.sections[section];
                    let field = named.name();
                    let seed = RepeatSeed {
                        reader: &mut *reader,
                        scope: form.layout.child_scope(self.scope, slot),
                        field: &field,
                        limit: section.repeat.and_then(|r| r.max).unwrap_or(MAX_REPEAT) as usize,
                    };
                    if let Some(instances) = map.next_value_seed(seed)? {
                        let min = section.repeat.map_or(0, |r| r.min) as usize;
                        reader.keep_instances(&mut instance, slot, &field, instances, min);
                    }
                }
                None => {
                    reader.unknown(&named.name());
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(instance))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A repeat's instances: `None` (after recording why) when the value is not
/// a list; `null` is no instance at all.
struct RepeatSeed<'r, 'a> {
    reader: &'r mut Reader<'a>,
    scope: usize,
    field: &'r str,
    limit: usize,
}

type Instances = Vec<(usize, Instance, bool)>;

impl RepeatSeed<'_, '_> {
    fn not_a_list(self) -> Option<Instances> {
        let message = self.reader.t.invalid_repeat.to_owned();
        self.reader.reading.errors.push(FieldError { field: self.field.to_owned(), code: "type", message });
        None
    }
}

impl<'de> DeserializeSeed<'de> for RepeatSeed<'_, '_> {
    type Value = Option<Instances>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RepeatSeed<'_, '_> {
    type Value = Option<Instances>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut instances = Vec::new();
        let mut index = 0;
        loop {
            if index >= self.limit {
                // Beyond the maximum: read past them, remember the excess once.
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    break;
                }
                let message = fill(self.reader.t.too_many_instances, self.limit);
                self.reader.reading.pending.insert(self.field.to_owned(), Pending { code: "max_instances", message });
                continue;
            }
            let failures = self.reader.failures();
            // Built by hand: `format!` costs more than the rest of reading
            // a short instance.
            let mut prefix = String::with_capacity(self.field.len() + 6);
            prefix.push_str(self.field);
            prefix.push('.');
            prefix.push_str(itoa::Buffer::new().format(index));
            prefix.push('.');
            let seed = InstanceSeed { reader: &mut *self.reader, scope: self.scope, prefix: &prefix };
            match seq.next_element_seed(seed)? {
                None => break,
                Some(Some(child)) => instances.push((index, child, self.reader.failures() > failures)),
                Some(None) => {
                    let message = self.reader.t.invalid_repeat.to_owned();
                    let field = format!("{}.{index}", self.field);
                    self.reader.reading.errors.push(FieldError { field, code: "type", message });
                }
            }
            index += 1;
        }
        Ok(Some(instances))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Some(Vec::new()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map)?;
        Ok(self.not_a_list())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(self.not_a_list())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(self.not_a_list())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(self.not_a_list())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(self.not_a_list())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(self.not_a_list())
    }
}

/// One answer, typed by its question.
struct ValueSeed<'r, 'a, 'f> {
    reader: &'r mut Reader<'a>,
    /// The question's number in the form, and the question.
    number: usize,
    question: &'r Question,
    field: &'r Field<'f>,
}

impl ValueSeed<'_, '_, '_> {
    fn wrong_type(self) -> Value {
        let message = self.reader.type_message(self.question.kind);
        self.reader.type_error(self.field, message);
        Value::Empty
    }

    fn text(self, text: Cow<'_, str>) -> Value {
        let Self { reader, number, question, field } = self;
        match question.kind {
            QuestionType::Text | QuestionType::Textarea | QuestionType::Email | QuestionType::Phone => {
                reader.text(question, field, text.into_owned())
            }
            QuestionType::Date => match parse_date(&text) {
                Some(date) => Value::Date(date),
                None => {
                    reader.type_error(field, reader.t.invalid_date);
                    Value::Empty
                }
            },
            QuestionType::Time => match parse_time(&text) {
                Some(time) => Value::Time(time),
                None => {
                    reader.type_error(field, reader.t.invalid_time);
                    Value::Empty
                }
            },
            QuestionType::SelectOne => {
                if reader.form.code_index(number, &text).is_some() {
                    return Value::Text(text.into_owned());
                }
                // A long list's picker may not have loaded (offline, before
                // its asset was cached): then the officer typed the name.
                let searched = reader.form.list(question).is_some_and(|l| l.long)
                    || question.appearance.as_deref() == Some("search");
                reader.choice(number, field, &text, searched)
            }
            _ => ValueSeed { reader, number, question, field }.wrong_type(),
        }
    }

    fn number(self, n: f64) -> Value {
        match self.question.kind {
            QuestionType::Integer | QuestionType::Decimal => self.reader.number(self.question, self.field, Some(n)),
            _ => self.wrong_type(),
        }
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an answer")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Empty)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Empty)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(match self.question.kind {
            QuestionType::YesNo => Value::Bool(b),
            _ => self.wrong_type(),
        })
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(self.number(n as f64))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(self.number(n as f64))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Ok(self.number(n))
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Value, E> {
        Ok(self.text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Value, E> {
        Ok(self.text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Value, E> {
        Ok(self.text(Cow::Owned(text)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.question.kind != QuestionType::SelectMultiple {
            skip_seq(seq)?;
            return Ok(self.wrong_type());
        }
        let mut codes = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        let mut all_text = true;
        while let Some(item) = seq.next_element::<CodeOrOther>()? {
            match item {
                CodeOrOther::Code(code) => codes.push(code),
                CodeOrOther::Other => all_text = false,
            }
        }
        if !all_text {
            let message = self.reader.t.invalid_choice;
            self.reader.type_error(self.field, message);
            return Ok(Value::Empty);
        }
        Ok(self.reader.codes(self.number, self.field, codes))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        skip_map(map)?;
        Ok(self.wrong_type())
    }
}

/// An element of a multiple choice: a code, or anything else (an error).
enum CodeOrOther {
    Code(String),
    Other,
}

impl<'de> de::Deserialize<'de> for CodeOrOther {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CodeVisitor;
        impl<'de> Visitor<'de> for CodeVisitor {
            type Value = CodeOrOther;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a code")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<CodeOrOther, E> {
                Ok(CodeOrOther::Code(value.to_owned()))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<CodeOrOther, E> {
                Ok(CodeOrOther::Code(value))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<CodeOrOther, E> {
                Ok(CodeOrOther::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<CodeOrOther, E> {
                Ok(CodeOrOther::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<CodeOrOther, E> {
                Ok(CodeOrOther::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<CodeOrOther, E> {
                Ok(CodeOrOther::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<CodeOrOther, E> {
                Ok(CodeOrOther::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<CodeOrOther, A::Error> {
                skip_seq(seq).map(|()| CodeOrOther::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<CodeOrOther, A::Error> {
                skip_map(map).map(|()| CodeOrOther::Other)
            }
        }
        deserializer.deserialize_any(CodeVisitor)
    }
}
