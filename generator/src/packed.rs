//! Validated answers packed in binary against their form version's
//! [`Layout`]: the collector's stored form of a case (format `packed1`).
//!
//! The stored JSON names every answer by its question id and spells every
//! value as text; most of a case's bytes are those names and spellings. A
//! packed case leaves the names out: within a scope (the top level, or one
//! instance of a repeat) the ids, sorted by their bytes, are numbered, and
//! each answer is written after the distance from the previous answer's
//! number. Reading it back therefore needs the same form version, which the
//! collector keeps with every submission; [`Layout::json`] then gives the
//! same JSON text as before, byte for byte.
//!
//! The format, which never changes once rows are stored in it (another
//! would be `packed2`):
//!
//! ```text
//! instance = count:varint entry{count}
//! entry    = gap:varint item        the id numbered (previous + 1 + gap);
//!                                   the first entry's number is its gap
//! item     = 0x00                   no
//!          | 0x01                   yes
//!          | 0x02 n:zigzag-varint   a whole number (|n| < 2^63, not -0)
//!          | 0x03 n:f64 LE          any other number
//!          | 0x04 len:varint utf-8  a text or a single choice's code
//!          | 0x05 year:zigzag-varint month:u8 day:u8
//!          | 0x06 minutes:varint    a time of day
//!          | 0x07 count:varint (len:varint utf-8){count}   codes
//!          | 0x08 count:varint instance{count}             a repeat's instances
//! ```
//!
//! Varints are LEB128 (protocol buffers' encoding). Unanswered questions
//! and repeats that were not sent are left out, as in the JSON.
//!
//! Decoding follows the layout: an item is accepted only where the layout
//! has a slot of its kind, so nesting can go no deeper than the form's own
//! repeats, and bytes that do not fit give a [`PackedError`], never a panic.

use integer_encoding::VarInt;

use crate::answers::{Instance, Layout, Slot};
use crate::value::Value;

const NO: u8 = 0x00;
const YES: u8 = 0x01;
const WHOLE: u8 = 0x02;
const NUMBER: u8 = 0x03;
const TEXT: u8 = 0x04;
const DATE: u8 = 0x05;
const TIME: u8 = 0x06;
const CODES: u8 = 0x07;
const INSTANCES: u8 = 0x08;

/// Why packed bytes could not be read against a layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackedError {
    /// The bytes end before the answers do.
    #[error("the packed answers end early, at byte {0}")]
    Truncated(usize),
    /// An item of an unknown kind.
    #[error("unknown item kind {kind:#04x} at byte {at}")]
    UnknownKind {
        /// The kind byte.
        kind: u8,
        /// Where it is.
        at: usize,
    },
    /// An answer numbered beyond the ids of its scope, or of the wrong kind
    /// for its id (a value where the form has a repeat, or the reverse).
    #[error("item {index} of scope {scope} does not fit the form at byte {at}")]
    Misplaced {
        /// The scope (0: the top level).
        scope: usize,
        /// The id's number in the scope.
        index: u64,
        /// Where the item is.
        at: usize,
    },
    /// A text that is not UTF-8, or a date that does not exist.
    #[error("an invalid value at byte {0}")]
    InvalidValue(usize),
    /// Bytes left after the answers.
    #[error("{0} bytes follow the answers")]
    Trailing(usize),
}

/// Packs a case's answers (an instance of scope 0 of `layout`).
pub fn pack(layout: &Layout, root: &Instance) -> Vec<u8> {
    let mut out = Vec::with_capacity(2048);
    pack_instance(layout, 0, root, &mut out);
    out
}

fn pack_instance(layout: &Layout, scope: usize, instance: &Instance, out: &mut Vec<u8>) {
    let order = layout.ordered(scope);
    let present = |slot: &Slot| match *slot {
        Slot::Value(slot) => instance.values.get(slot).is_some_and(|v| !v.is_empty()),
        Slot::Repeat(slot) => matches!(instance.repeats.get(slot), Some(Some(_))),
    };
    put_varint(out, order.iter().filter(|slot| present(slot)).count() as u64);
    let mut next = 0;
    for (index, slot) in order.iter().enumerate() {
        if !present(slot) {
            continue;
        }
        put_varint(out, (index - next) as u64);
        next = index + 1;
        match *slot {
            Slot::Value(slot) => pack_value(&instance.values[slot], out),
            Slot::Repeat(slot) => {
                let instances = instance.repeats[slot].as_deref().unwrap_or_default();
                out.push(INSTANCES);
                put_varint(out, instances.len() as u64);
                let child = layout.child_scope(scope, slot);
                for instance in instances {
                    pack_instance(layout, child, instance, out);
                }
            }
        }
    }
}

fn pack_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Empty => {}
        Value::Bool(false) => out.push(NO),
        Value::Bool(true) => out.push(YES),
        Value::Number(n) => {
            let whole = *n as i64;
            // Exactly this number back, sign of zero included.
            if whole as f64 == *n && (whole != 0 || n.is_sign_positive()) {
                out.push(WHOLE);
                put_var(out, whole);
            } else {
                out.push(NUMBER);
                out.extend_from_slice(&n.to_le_bytes());
            }
        }
        Value::Text(text) => {
            out.push(TEXT);
            put_text(out, text);
        }
        Value::Date(date) => {
            out.push(DATE);
            put_var(out, date.year());
            out.extend_from_slice(&[date.month() as u8, date.day() as u8]);
        }
        Value::Time(minutes) => {
            out.push(TIME);
            put_varint(out, u64::from(*minutes));
        }
        Value::Multi(codes) => {
            out.push(CODES);
            put_varint(out, codes.len() as u64);
            for code in codes {
                put_text(out, code);
            }
        }
    }
}

fn put_varint(out: &mut Vec<u8>, n: u64) {
    // Most varints here (gaps, lengths, counts) take one byte.
    if n < 0x80 {
        out.push(n as u8);
    } else {
        put_var(out, n);
    }
}

fn put_var(out: &mut Vec<u8>, n: impl VarInt) {
    let mut buffer = [0; 10];
    let used = n.encode_var(&mut buffer);
    out.extend_from_slice(&buffer[..used]);
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// Reads packed answers back into an instance of scope 0 of `layout`, the
/// layout of the form version they were packed with.
pub fn unpack(layout: &Layout, bytes: &[u8]) -> Result<Instance, PackedError> {
    let mut reader = Reader { bytes, at: 0 };
    let root = reader.instance(layout, 0)?;
    match bytes.len() - reader.at {
        0 => Ok(root),
        left => Err(PackedError::Trailing(left)),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn instance(&mut self, layout: &Layout, scope: usize) -> Result<Instance, PackedError> {
        let order = layout.ordered(scope);
        let mut instance = layout.instance(scope);
        let count = self.varint::<u64>()?;
        let mut next: u64 = 0;
        for _ in 0..count {
            let index = self.varint::<u64>()?.checked_add(next).ok_or(PackedError::InvalidValue(self.at))?;
            next = index + 1;
            let at = self.at;
            let kind = self.byte()?;
            let misplaced = || PackedError::Misplaced { scope, index, at };
            let slot = usize::try_from(index).ok().and_then(|i| order.get(i)).ok_or_else(misplaced)?;
            match (*slot, kind) {
                (Slot::Repeat(slot), INSTANCES) => {
                    let child = layout.child_scope(scope, slot);
                    let count = self.varint::<u64>()?;
                    // Every instance takes at least a byte: a count beyond
                    // what is left cannot be honest, and must not allocate.
                    if count > (self.bytes.len() - self.at) as u64 {
                        return Err(PackedError::Truncated(self.bytes.len()));
                    }
                    let instances = (0..count).map(|_| self.instance(layout, child)).collect::<Result<_, _>>()?;
                    instance.repeats[slot] = Some(instances);
                }
                (Slot::Value(slot), kind) if kind != INSTANCES => instance.values[slot] = self.value(kind, at)?,
                _ => return Err(misplaced()),
            }
        }
        Ok(instance)
    }

    fn value(&mut self, kind: u8, at: usize) -> Result<Value, PackedError> {
        Ok(match kind {
            NO => Value::Bool(false),
            YES => Value::Bool(true),
            WHOLE => Value::Number(self.varint::<i64>()? as f64),
            NUMBER => {
                Value::Number(f64::from_le_bytes(self.take(8)?.try_into().map_err(|_| PackedError::Truncated(at))?))
            }
            TEXT => Value::Text(self.text()?),
            DATE => {
                let year = self.varint::<i16>()?;
                let (month, day) = (self.byte()?, self.byte()?);
                let date = jiff::civil::Date::new(year, month as i8, day as i8);
                Value::Date(date.map_err(|_| PackedError::InvalidValue(at))?)
            }
            TIME => Value::Time(self.varint::<u16>()?),
            CODES => {
                let count = self.varint::<u64>()?;
                if count > (self.bytes.len() - self.at) as u64 {
                    return Err(PackedError::Truncated(self.bytes.len()));
                }
                Value::Multi((0..count).map(|_| self.text()).collect::<Result<_, _>>()?)
            }
            kind => return Err(PackedError::UnknownKind { kind, at }),
        })
    }

    fn byte(&mut self) -> Result<u8, PackedError> {
        let byte = *self.bytes.get(self.at).ok_or(PackedError::Truncated(self.at))?;
        self.at += 1;
        Ok(byte)
    }

    fn take(&mut self, length: usize) -> Result<&[u8], PackedError> {
        let end = self.at.checked_add(length).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or(PackedError::Truncated(self.bytes.len()))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn text(&mut self) -> Result<String, PackedError> {
        let at = self.at;
        let length = usize::try_from(self.varint::<u64>()?).map_err(|_| PackedError::Truncated(self.bytes.len()))?;
        let bytes = self.take(length)?;
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| PackedError::InvalidValue(at))
    }

    fn varint<T: VarInt>(&mut self) -> Result<T, PackedError> {
        let (n, used) = T::decode_var(&self.bytes[self.at..]).ok_or(PackedError::Truncated(self.bytes.len()))?;
        self.at += used;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::Draft;

    /// A case with one answer of every kind, a repeat, and an unanswered
    /// question (`c`) between two answered ones.
    fn case() -> (Layout, Instance) {
        let mut inner = Draft::default();
        inner.set("k", Value::Number(1.0));
        let mut root = Draft::default();
        root.set("b", Value::Text("x".into()));
        root.set("c", Value::Text("cleared below".into()));
        root.set("d", Value::Date(jiff::civil::date(2024, 2, 29)));
        root.set("f", Value::Number(-0.5));
        root.set("m", Value::Multi(vec!["a".into(), "bc".into()]));
        root.set("n", Value::Number(2.0));
        root.set("t", Value::Time(510));
        root.set("y", Value::Bool(true));
        root.repeats.insert("r".into(), vec![inner, Draft::default()]);
        let (layout, mut instance) = root.build();
        let Some(Slot::Value(c)) = layout.slot(0, "c") else { panic!("c is a question") };
        instance.values[c] = Value::Empty;
        (layout, instance)
    }

    /// The format is what stored rows are: these bytes never change.
    #[test]
    fn packs_to_the_documented_bytes() {
        let (layout, instance) = case();
        #[rustfmt::skip]
        let expected: &[u8] = &[
            8,                                                  // eight answers
            0, TEXT, 1, b'x',                                   // b
            1, DATE, 0xd0, 0x1f, 2, 29,                         // d, after the unanswered c
            0, NUMBER, 0, 0, 0, 0, 0, 0, 0xe0, 0xbf,            // f = -0.5
            0, CODES, 2, 1, b'a', 2, b'b', b'c',                // m
            0, WHOLE, 4,                                        // n = 2
            0, INSTANCES, 2, 1, 0, WHOLE, 2, 0,                 // r: {k = 1}, {}
            0, TIME, 0xfe, 0x03,                                // t = 08:30
            0, YES,                                             // y
        ];
        assert_eq!(pack(&layout, &instance), expected);
    }

    #[test]
    fn unpacks_to_the_same_answers_and_json() {
        let (layout, instance) = case();
        let back = unpack(&layout, &pack(&layout, &instance)).unwrap();
        assert_eq!(back, instance);
        assert_eq!(layout.json(&back), layout.json(&instance));
    }

    #[test]
    fn keeps_every_number_exactly() {
        for n in [0.0, -0.0, 1e300, -7.0, 9_007_199_254_740_993.0, f64::MAX, f64::MIN_POSITIVE, 2f64.powi(63)] {
            let mut root = Draft::default();
            root.set("n", Value::Number(n));
            let (layout, instance) = root.build();
            let Value::Number(back) = unpack(&layout, &pack(&layout, &instance)).unwrap().values[0] else {
                panic!("a number comes back as a number")
            };
            assert_eq!(back.to_bits(), n.to_bits(), "{n}");
        }
    }

    #[test]
    fn bytes_that_do_not_fit_the_form_are_errors() {
        let (layout, instance) = case();
        let bytes = pack(&layout, &instance);
        for end in 0..bytes.len() {
            assert!(unpack(&layout, &bytes[..end]).is_err(), "cut at {end}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(unpack(&layout, &longer), Err(PackedError::Trailing(1)));
        // A value where the form has the repeat `r` (the sixth id).
        assert!(matches!(unpack(&layout, &[1, 6, YES]), Err(PackedError::Misplaced { index: 6, .. })));
        // Instances where the form has the question `b`.
        assert!(matches!(unpack(&layout, &[1, 0, INSTANCES, 0]), Err(PackedError::Misplaced { index: 0, .. })));
        // Beyond the last id, and an unknown kind.
        assert!(matches!(unpack(&layout, &[1, 9, YES]), Err(PackedError::Misplaced { index: 9, .. })));
        assert!(matches!(unpack(&layout, &[1, 0, 0x2a]), Err(PackedError::UnknownKind { kind: 0x2a, .. })));
        // February 30th, and a text that is not UTF-8.
        assert_eq!(unpack(&layout, &[1, 2, DATE, 0xd0, 0x1f, 2, 30]), Err(PackedError::InvalidValue(2)));
        assert_eq!(unpack(&layout, &[1, 0, TEXT, 1, 0xff]), Err(PackedError::InvalidValue(3)));
        // Counts far beyond the bytes given allocate nothing.
        assert!(unpack(&layout, &[1, 5, INSTANCES, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(unpack(&layout, &[0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        // Varints longer than any number.
        let mut overlong = vec![0xff; 20];
        overlong.push(0x01);
        assert!(unpack(&layout, &overlong).is_err());
        assert!(unpack(&layout, &[1, 0, TIME, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_err());
    }
}
