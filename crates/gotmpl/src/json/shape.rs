//! Objects at the same place in a document (the values of one key, or the elements of one
//! array, at one depth) mostly have the same members in the same order: a catalog's thirty
//! thousand instances do. A [`Shape`] is what the last object at a place had: its keys as read,
//! and the order that sorts them. The next object's keys are then recognised by comparing each
//! with the one expected, rather than hashed and looked up in the key table, and its entries are
//! put in order by the same permutation rather than sorted again.

use std::sync::Arc;

use super::Entries;
use crate::value::{SortedMap, Value};

/// Where an object is: the address of the key whose value it is (an array's elements share
/// the array's; 0 for the root), and its depth.
pub(super) type Place = (usize, usize);

/// The place of the values under `key`, at `depth`.
pub(super) fn place(key: Option<&Arc<str>>, depth: usize) -> Place {
    (
        key.map_or(0, |k| Arc::as_ptr(k) as *const u8 as usize),
        depth,
    )
}

/// The keys of the last object read at a place.
pub(super) struct Shape {
    /// As read: the next object is expected to have these.
    pub(super) keys: Vec<Arc<str>>,
    /// Sorted, the entries are `read[order[0]], read[order[1]]…`; `None` when the keys are not
    /// distinct (the last of equal keys wins, which `SortedMap::from_entries` sees to) or too
    /// many to permute with a one-word mark of the entries moved (`MAX_ORDERED`).
    order: Option<Vec<u8>>,
    /// Objects at this place since the first whose keys were not the ones expected: past
    /// `MAX_MISSES` the place is taken to have no one shape and the last one is kept.
    pub(super) misses: u32,
}

/// Objects with more members are sorted each time.
const MAX_ORDERED: usize = 64;
/// See `Shape::misses`.
pub(super) const MAX_MISSES: u32 = 16;

impl Shape {
    /// The shape of `entries`, as read.
    pub(super) fn of(entries: &Entries, misses: u32) -> Shape {
        let keys: Vec<Arc<str>> = entries.iter().map(|(k, _)| k.clone()).collect();
        let order = (keys.len() <= MAX_ORDERED).then(|| {
            let mut order: Vec<u8> = (0..keys.len() as u8).collect();
            order.sort_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]));
            order
        });
        let distinct = |order: &Vec<u8>| {
            order
                .windows(2)
                .all(|w| keys[w[0] as usize] < keys[w[1] as usize])
        };
        Shape {
            order: order.filter(distinct),
            keys,
            misses,
        }
    }

    /// Whether `entries` were read with this shape's keys (the same interned keys, in order).
    pub(super) fn fits(&self, entries: &Entries) -> bool {
        self.keys.len() == entries.len()
            && self
                .keys
                .iter()
                .zip(entries)
                .all(|(a, (b, _))| Arc::ptr_eq(a, b))
    }

    /// The map of `entries`, which fit this shape.
    pub(super) fn sorted(&self, mut entries: Entries) -> SortedMap {
        match &self.order {
            Some(order) => {
                permute(&mut entries, order);
                SortedMap::from_sorted(entries)
            }
            None => SortedMap::from_entries(entries),
        }
    }
}

/// Puts `entries[order[i]]` at `i`, following each cycle of the permutation with swaps.
fn permute(entries: &mut [(Arc<str>, Value)], order: &[u8]) {
    let mut placed = 0u64;
    for start in 0..entries.len() {
        let mut i = start;
        while placed & (1 << i) == 0 {
            placed |= 1 << i;
            let from = order[i] as usize;
            if from == start {
                break;
            }
            entries.swap(i, from);
            i = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(keys: &[&str]) -> Entries {
        keys.iter()
            .enumerate()
            .map(|(i, k)| (Arc::from(*k), Value::Int(i as i64)))
            .collect()
    }

    fn listed(m: &SortedMap) -> Vec<(String, i64)> {
        m.iter()
            .map(|(k, v)| match v {
                Value::Int(i) => (k.to_string(), *i),
                v => panic!("{v:?}"),
            })
            .collect()
    }

    #[test]
    fn a_shape_sorts_the_next_object_as_the_map_would_be_sorted() {
        for keys in [
            &["b", "a", "c"][..],
            &["Port", "Address", "ID", "Node", "Weights", "Checks", "Tags"],
            &["z", "y", "x", "w", "v", "u", "t", "s", "r"],
            &["a", "b"],
            &["a"],
            &[],
            &["b", "a", "b"],
        ] {
            let first = entries(keys);
            let shape = Shape::of(&first, 0);
            let mut next = entries(keys);
            for (i, (k, _)) in next.iter_mut().enumerate() {
                *k = shape.keys[i].clone();
            }
            assert!(shape.fits(&next));
            let want = listed(&SortedMap::from_entries(entries(keys)));
            assert_eq!(listed(&shape.sorted(next)), want, "{keys:?}");
            assert!(!shape.fits(&entries(keys)) || keys.is_empty(), "other Arcs");
        }
    }
}
