//! [`SortedMap`], the map behind `Value::Map`: a Go `map[string]interface{}` as one vector of
//! its entries, sorted by key bytes (the order Go's `range`, `fmt` and `encoding/json` give a
//! map with string keys), found by a scan when small and by binary search when large.
//!
//! Template maps are built once (mostly by the JSON decoder, from an object's members already
//! gathered in a vector) and then only read, and most are small: a catalog instance has 17 keys,
//! its meta and weights maps one or two. A vector holds them in one allocation of exactly their
//! size, where a `BTreeMap` took a 450-byte node per 11 entries; inserting in the middle is
//! linear, which the few code paths that build a map entry by entry (scratch, sprig's dicts,
//! YAML/TOML) can afford, and which they avoid for large maps by collecting (`FromIterator`
//! sorts once).

use std::fmt;
use std::ops::Index;
use std::sync::Arc;

use super::Value;

/// Up to this many entries a lookup scans rather than bisects (see `position`).
const SCAN_MAX: usize = 32;

/// One entry: the key (interned by the JSON decoder, so often shared) and its value.
type Entry = (Arc<str>, Value);

/// A map with string keys kept in Go's order (byte-wise), each key once.
#[derive(Clone, Default)]
pub struct SortedMap {
    /// Sorted by key, no key twice.
    entries: Vec<Entry>,
}

impl SortedMap {
    pub fn new() -> SortedMap {
        SortedMap::default()
    }

    /// The map of `entries` already sorted by key, each key once.
    pub(crate) fn from_sorted(entries: Vec<Entry>) -> SortedMap {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        SortedMap { entries }
    }

    /// The map of `entries` in any order; of equal keys the last wins (as Go's JSON decoder and
    /// map literals keep the last).
    pub fn from_entries(mut entries: Vec<Entry>) -> SortedMap {
        sort_keeping_last(&mut entries);
        SortedMap { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    pub fn get_key_value(&self, key: &str) -> Option<(&Arc<str>, &Value)> {
        self.position(key).map(|i| pair(&self.entries[i]))
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        let i = self.find(key).ok()?;
        Some(&mut self.entries[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`, returning the value it replaces (the key already there stays).
    pub fn insert(&mut self, key: Arc<str>, value: Value) -> Option<Value> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// The value of `key`, inserted as `make()` first if the map lacks it (`BTreeMap`'s
    /// `entry(key).or_insert_with(make)`).
    pub fn get_or_insert_with(
        &mut self,
        key: Arc<str>,
        make: impl FnOnce() -> Value,
    ) -> &mut Value {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (key, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.find(key).ok()?;
        Some(self.entries.remove(i).1)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&Arc<str>, &mut Value) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter())
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Arc<str>> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn into_values(self) -> impl DoubleEndedIterator<Item = Value> + ExactSizeIterator {
        self.entries.into_iter().map(|(_, v)| v)
    }

    pub fn into_keys(self) -> impl DoubleEndedIterator<Item = Arc<str>> + ExactSizeIterator {
        self.entries.into_iter().map(|(k, _)| k)
    }

    /// Where `key` is, for a lookup. A small map is scanned, lengths first: most keys differ
    /// there, and the scan's loads do not wait on one another as a binary search's do (a map
    /// built while parsing the document is seldom in cache when a template reads it).
    fn position(&self, key: &str) -> Option<usize> {
        if self.entries.len() > SCAN_MAX {
            return self.find(key).ok();
        }
        self.entries
            .iter()
            .position(|(k, _)| k.len() == key.len() && k.as_bytes() == key.as_bytes())
    }

    /// Where `key` is (`Ok`), or where it would go (`Err`).
    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(k, _)| k.as_bytes().cmp(key.as_bytes()))
    }
}

/// Sorts `entries` by key, stably, and of equal keys keeps the last.
fn sort_keeping_last(entries: &mut Vec<Entry>) {
    if !entries.is_sorted_by(|a, b| a.0 < b.0) {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        // `dedup_by` keeps the first of a run: move each later entry into the kept slot.
        entries.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
    }
}

fn pair(e: &Entry) -> (&Arc<str>, &Value) {
    (&e.0, &e.1)
}

/// The entries of a [`SortedMap`] in key order.
#[derive(Clone)]
pub struct Iter<'a>(std::slice::Iter<'a, Entry>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Arc<str>, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(pair)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(pair)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a SortedMap {
    type Item = (&'a Arc<str>, &'a Value);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for SortedMap {
    type Item = Entry;
    type IntoIter = std::vec::IntoIter<Entry>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// Of equal keys the last wins, as with `BTreeMap`'s `collect`.
impl<K: Into<Arc<str>>> FromIterator<(K, Value)> for SortedMap {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> SortedMap {
        SortedMap::from_entries(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

/// Later entries replace earlier ones of the same key.
impl<K: Into<Arc<str>>> Extend<(K, Value)> for SortedMap {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        let before = self.entries.len();
        self.entries
            .extend(iter.into_iter().map(|(k, v)| (k.into(), v)));
        if self.entries.len() > before {
            sort_keeping_last(&mut self.entries);
        }
    }
}

impl Index<&str> for SortedMap {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        self.get(key).expect("no entry for key in SortedMap")
    }
}

impl fmt::Debug for SortedMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(m: &SortedMap) -> Vec<&str> {
        m.keys().map(|k| &**k).collect()
    }

    fn num(v: Option<&Value>) -> Option<i64> {
        match v {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }

    #[test]
    fn built_in_byte_order_with_the_last_of_equal_keys() {
        let m: SortedMap = [("b", 1), ("a", 2), ("B", 3), ("b", 4), ("é", 5), ("a", 6)]
            .into_iter()
            .map(|(k, v)| (k, Value::Int(v)))
            .collect();
        assert_eq!(keys(&m), ["B", "a", "b", "é"]);
        assert_eq!(num(m.get("a")), Some(6));
        assert_eq!(num(m.get("b")), Some(4));
        assert_eq!(m.get("c").map(|_| ()), None);
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn small_maps_are_scanned_and_large_ones_bisected_to_the_same_answers() {
        for n in [0, 1, 2, SCAN_MAX, SCAN_MAX + 1, 200] {
            let m: SortedMap = (0..n)
                .rev()
                .map(|i| (format!("k{i}"), Value::Int(i as i64)))
                .collect();
            assert_eq!(m.len(), n);
            for i in 0..n {
                assert_eq!(num(m.get(&format!("k{i}"))), Some(i as i64), "{n} entries");
            }
            for absent in ["", "k", "k-1", "zz", "K0"] {
                assert!(m.get(absent).is_none(), "{absent:?} in {n} entries");
            }
        }
    }

    #[test]
    fn changed_in_place_as_a_btreemap_is() {
        let mut m = SortedMap::new();
        assert!(m.is_empty());
        for (k, v) in [("m", 1), ("z", 2), ("a", 3)] {
            assert!(m.insert(k.into(), Value::Int(v)).is_none());
        }
        assert_eq!(num(m.insert("m".into(), Value::Int(4)).as_ref()), Some(1));
        assert_eq!(keys(&m), ["a", "m", "z"]);
        *m.get_or_insert_with("b".into(), || Value::Int(0)) = Value::Int(5);
        assert!(matches!(
            m.get_or_insert_with("b".into(), || Value::Int(9)),
            Value::Int(5)
        ));
        assert_eq!(num(m.get("b")), Some(5));
        assert_eq!(num(m.remove("a").as_ref()), Some(3));
        assert!(m.remove("a").is_none());
        m.extend([("c", Value::Int(7)), ("b", Value::Int(8))]);
        assert_eq!(keys(&m), ["b", "c", "m", "z"]);
        assert_eq!(num(m.get("b")), Some(8));
        m.retain(|k, _| &**k != "c");
        assert_eq!(keys(&m), ["b", "m", "z"]);
        assert!(m.contains_key("z") && !m.contains_key("c"));
    }
}
