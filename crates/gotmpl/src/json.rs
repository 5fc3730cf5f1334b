//! JSON text straight to template values, in one pass: serde_json's parser drives seeds that
//! build `Value`s as it reads (no `serde_json::Value` tree in between), with the object keys
//! interned, since a catalog document repeats the same few dozen keys (`Address`, `Port`…)
//! tens of thousands of times: one shared `Arc<str>` per distinct key instead of one allocation
//! per occurrence. Decoding follows Go's `encoding/json` into `interface{}`: objects are maps,
//! arrays lists, every number a float64, `null` nil, the last of repeated keys wins, and
//! nesting deeper than Go's 10,000 levels is Go's error, found where Go's scanner finds it.
//! Objects at one place in a document mostly share their keys, which are then read by
//! comparison with the last object's and sorted by its permutation (`shape`). A large
//! document's big array is parsed on two threads (`split`).

mod shape;
mod split;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use std::sync::Arc;

use serde::de::{DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};

use crate::value::{SortedMap, Value};
use shape::{Place, Shape};

/// Go's `encoding/json` nesting limit.
const MAX_DEPTH: usize = 10_000;
const DEPTH_ERROR: &str = "exceeded max depth";

/// An object's members as read, before they become its map.
type Entries = Vec<(Arc<str>, Value)>;

/// One document's state: the keys seen so far, and how deep the parser is.
#[derive(Default)]
pub(crate) struct Keys {
    table: RefCell<HashMap<Box<str>, Arc<str>, BuildHasherDefault<Fnv>>>,
    depth: Cell<usize>,
    too_deep: Cell<bool>,
    /// Emptied entry buffers, one per level in use: an object's members are gathered in one
    /// before they become its map, instead of a fresh vector grown four times per object.
    spare: RefCell<Vec<Entries>>,
    /// The last object's keys at each place (see `shape`), for at most `MAX_PLACES` places.
    shapes: RefCell<HashMap<Place, Rc<Shape>, BuildHasherDefault<Fnv>>>,
}

/// FNV-1a: keys are short, and SipHash's setup cost more than the lookups it served. The table
/// is capped (`MAX_KEYS`), so keys crafted to collide cost little.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Keys {
    /// The state for a part of a document that begins `depth` levels down.
    fn at_depth(depth: usize) -> Keys {
        let keys = Keys::default();
        keys.depth.set(depth);
        keys
    }

    /// Keys longer than this are rare and seldom repeated: they are not worth a table entry.
    const MAX_INTERNED: usize = 64;
    /// Past this many distinct keys the document is not a catalog of records: stop sharing.
    const MAX_KEYS: usize = 4096;
    /// Past this many places with objects, shapes are kept for the first ones only.
    const MAX_PLACES: usize = 4096;

    fn intern(&self, key: &str) -> Arc<str> {
        if key.len() > Self::MAX_INTERNED {
            return Arc::from(key);
        }
        let mut table = self.table.borrow_mut();
        if table.len() >= Self::MAX_KEYS {
            return table.get(key).cloned().unwrap_or_else(|| Arc::from(key));
        }
        if let Some(k) = table.get(key) {
            return k.clone();
        }
        let k: Arc<str> = Arc::from(key);
        table.insert(key.into(), k.clone());
        k
    }
}

/// Decodes one value, sharing `keys` with everything nested in it; `under` is the key the
/// value is found under (an array's elements share the array's), which places its objects.
#[derive(Clone, Copy)]
pub(crate) struct ValueSeed<'k> {
    keys: &'k Keys,
    under: Option<&'k Arc<str>>,
}

impl<'k> ValueSeed<'k> {
    /// The seed of a document's (or a part's) root value.
    pub(crate) fn root(keys: &'k Keys) -> Self {
        ValueSeed { keys, under: None }
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Float(i as f64))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Float(u as f64))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::str(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        self.leave();
        Ok(Value::list(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.enter()?;
        let place = shape::place(self.under, self.keys.depth.get());
        let expected = self.keys.shapes.borrow().get(&place).cloned();
        let mut entries = self.keys.spare.borrow_mut().pop().unwrap_or_default();
        loop {
            let next = expected.as_ref().and_then(|s| s.keys.get(entries.len()));
            let Some(k) = map.next_key_seed(KeySeed(self.keys, next))? else {
                break;
            };
            let value = map.next_value_seed(ValueSeed {
                keys: self.keys,
                under: Some(&k),
            })?;
            entries.push((k, value));
        }
        self.leave();
        // The entries moved to a vector of exactly their size (the buffer, grown to the largest
        // object seen, is kept for the next), sorted, the last of equal keys kept.
        let mut exact = Vec::with_capacity(entries.len());
        exact.append(&mut entries);
        self.keys.spare.borrow_mut().push(entries);
        let built = match expected {
            Some(shape) if shape.fits(&exact) => shape.sorted(exact),
            expected => self.learn(place, expected, exact),
        };
        Ok(Value::Map(Arc::new(built)))
    }
}

impl ValueSeed<'_> {
    /// The map of an object whose keys were not the ones `expected` at `place`; its keys are
    /// expected there next, unless the place has had too many shapes.
    fn learn(&self, place: Place, expected: Option<Rc<Shape>>, entries: Entries) -> SortedMap {
        let mut shapes = self.keys.shapes.borrow_mut();
        let misses = match expected {
            Some(old) if old.misses >= shape::MAX_MISSES => None,
            Some(old) => Some(old.misses + 1),
            None => (shapes.len() < Keys::MAX_PLACES).then_some(0),
        };
        let Some(misses) = misses else {
            return SortedMap::from_entries(entries);
        };
        let shape = Rc::new(Shape::of(&entries, misses));
        shapes.insert(place, shape.clone());
        shape.sorted(entries)
    }

    fn enter<E: Error>(&self) -> Result<(), E> {
        let depth = self.keys.depth.get() + 1;
        if depth > MAX_DEPTH {
            self.keys.too_deep.set(true);
            return Err(E::custom(DEPTH_ERROR));
        }
        self.keys.depth.set(depth);
        Ok(())
    }

    fn leave(&self) {
        self.keys.depth.set(self.keys.depth.get() - 1);
    }
}

/// Decodes an object key through the document's key table, or as the key expected there (see
/// `shape`) when it is that one.
struct KeySeed<'k>(&'k Keys, Option<&'k Arc<str>>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Arc<str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Arc<str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Arc<str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, s: &str) -> Result<Arc<str>, E> {
        match self.1 {
            Some(expected) if **expected == *s => Ok(expected.clone()),
            _ => Ok(self.0.intern(s)),
        }
    }
}

/// Parses JSON text into a value (see the module doc). Deep documents need a deep stack:
/// about 1 KiB per level.
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    match split::parse(text) {
        Some(v) => Ok(v),
        None => parse_whole(text),
    }
}

/// Parses JSON text the caller gives up: a large document is split for two threads in its own
/// buffer rather than copied (see `split`).
pub(crate) fn parse_owned(mut text: String) -> Result<Value, String> {
    match split::parse_owned(&mut text) {
        Some(v) => Ok(v),
        None => parse_whole(&text),
    }
}

/// Parses JSON text on this thread alone.
fn parse_whole(text: &str) -> Result<Value, String> {
    parse_with(text, Keys::default())
}

/// Parses JSON text (a whole document, or a part of one that `keys` places at its depth).
fn parse_with(text: &str, keys: Keys) -> Result<Value, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let describe = |e: serde_json::Error| {
        if keys.too_deep.get() {
            DEPTH_ERROR.to_string()
        } else {
            e.to_string()
        }
    };
    let v = ValueSeed::root(&keys)
        .deserialize(&mut de)
        .map_err(describe)?;
    de.end().map_err(describe)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_shared_and_values_decoded_as_go_does() {
        let v = parse(r#"[{"Port": 1, "Tags": ["a"], "N": null}, {"Port": 2.5}]"#).unwrap();
        let Value::List(items) = &v else {
            panic!("{v:?}")
        };
        let (Value::Map(a), Value::Map(b)) = (&items[0], &items[1]) else {
            panic!("{v:?}")
        };
        let (ka, _) = a.get_key_value("Port").unwrap();
        let (kb, _) = b.get_key_value("Port").unwrap();
        assert!(Arc::ptr_eq(ka, kb), "one shared key");
        assert!(matches!(a["Port"], Value::Float(x) if x == 1.0));
        assert!(matches!(b["Port"], Value::Float(x) if x == 2.5));
        assert!(matches!(a["N"], Value::Nil));
        let Value::Map(dup) = parse(r#"{"a": 1, "b": 2, "a": 3}"#).unwrap() else {
            panic!()
        };
        assert!(
            matches!(dup["a"], Value::Float(x) if x == 3.0),
            "the last wins"
        );
        assert!(parse("[1,").is_err());
        // Objects at one place whose keys change, repeat, or come in another order.
        let v = parse(
            r#"[{"b":1,"a":2},{"b":3,"a":4},{"a":5,"b":6},{"b":7,"a":8,"c":9},{"b":1,"b":2,"a":0},
               {"b":1,"b":2,"a":0},{"b":3,"a":4},{"x":{"b":1,"a":2}},{"x":{"b":3,"a":4}}]"#,
        )
        .unwrap();
        assert_eq!(
            format!("{v:?}"),
            "[{\"a\": Float(2.0), \"b\": Float(1.0)}, {\"a\": Float(4.0), \"b\": Float(3.0)}, \
             {\"a\": Float(5.0), \"b\": Float(6.0)}, \
             {\"a\": Float(8.0), \"b\": Float(7.0), \"c\": Float(9.0)}, \
             {\"a\": Float(0.0), \"b\": Float(2.0)}, {\"a\": Float(0.0), \"b\": Float(2.0)}, \
             {\"a\": Float(4.0), \"b\": Float(3.0)}, {\"x\": {\"a\": Float(2.0), \"b\": Float(1.0)}}, \
             {\"x\": {\"a\": Float(4.0), \"b\": Float(3.0)}}]"
        );
        assert!(parse("{} x").is_err());
        // About 1 KiB of stack a level: a thread with room for Go's limit.
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(|| {
                let deep = |n: usize| "[".repeat(n) + &"]".repeat(n);
                assert_eq!(parse(&deep(MAX_DEPTH + 1)).unwrap_err(), DEPTH_ERROR);
                assert!(parse(&deep(MAX_DEPTH)).is_ok());
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
