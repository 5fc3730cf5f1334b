//! A large JSON document parsed on two threads: a catalog dump is one big array (`services`,
//! ten thousand entries) whose second half can be parsed beside the first. A quick scan of the
//! text (strings and brackets only) finds that array and the comma between two of its elements
//! nearest the middle of the text; the first part (the text with the array's second half cut
//! out) and the second half (wrapped as an array of its own) are parsed at once, and the second
//! half's elements are appended to the array found again in the first part's value.
//!
//! This is only a faster road to the same value: whenever both parts do not parse, or anything
//! is not as the scan expects, `None` sends the caller to the one-thread parse, which gives
//! Go's answer and Go's error. Both parts parsing means the whole does (the cut is a comma
//! between two elements of one array, neither part empty), and the depth limit counts from the
//! array's own depth in the second half, so what parses in two parts parses in one, to the
//! same value.

use std::sync::Arc;

use super::{parse_with, Keys};
use crate::value::Value;

/// Below this many bytes a second thread costs more than it saves.
const MIN_LEN: usize = 1 << 20;
/// The array must span at least this share of the text to be worth splitting, and the cut must
/// fall within the middle half of the text.
const MIN_SHARE: f64 = 0.5;

/// One step from the document's root to the array: a member (whose key has no escapes) or an
/// element.
#[derive(Debug, PartialEq)]
enum Step<'t> {
    Key(&'t str),
    Index(usize),
}

/// Where to cut: the array at `path`, at depth `depth` (the root value is depth 1, as in
/// `Keys`), the comma at byte `cut` and the `]` that closes the array at byte `end`.
#[derive(Debug, PartialEq)]
struct Cut<'t> {
    path: Vec<Step<'t>>,
    depth: usize,
    cut: usize,
    end: usize,
}

/// The value of `text` parsed on two threads, or `None` to parse it on one.
pub(super) fn parse(text: &str) -> Option<Value> {
    if text.len() < MIN_LEN || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return None;
    }
    let cut = find_cut(text)?;
    let first = [&text[..cut.cut], &text[cut.end..]].concat();
    let second = ["[", &text[cut.cut + 1..cut.end], "]"].concat();
    let (first, second) = std::thread::scope(|s| {
        let second = std::thread::Builder::new()
            // About 1 KiB of stack a level, as for the one-thread parse (see `json::parse`).
            .stack_size(64 << 20)
            .spawn_scoped(s, || {
                parse_with(&second, Keys::at_depth(cut.depth - 1)).ok()
            })
            .ok()?;
        let first = parse_with(&first, Keys::default()).ok();
        Some((first, second.join().ok()?))
    })?;
    let (mut root, Value::List(tail)) = (first?, second?) else {
        return None;
    };
    let tail = Arc::try_unwrap(tail).ok()?;
    let Value::List(head) = find_mut(&mut root, &cut.path)? else {
        return None;
    };
    let head = Arc::get_mut(head)?;
    if head.is_empty() || tail.is_empty() {
        return None;
    }
    head.extend(tail);
    Some(root)
}

/// The value at `path` in a freshly parsed (unshared) value.
fn find_mut<'v>(mut v: &'v mut Value, path: &[Step<'_>]) -> Option<&'v mut Value> {
    for step in path {
        v = match (v, step) {
            (Value::Map(m), Step::Key(k)) => Arc::get_mut(m)?.get_mut(k)?,
            (Value::List(l), Step::Index(i)) => Arc::get_mut(l)?.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// An open array or object during the scan.
struct Open<'t> {
    array: bool,
    start: usize,
    /// Arrays: elements begun so far less one (commas seen directly inside).
    index: usize,
    /// Arrays: the first comma directly inside past the middle of the text.
    mid_comma: Option<usize>,
    /// Objects: whether the next string is a key, and the last key read (raw, and whether it
    /// has escapes).
    want_key: bool,
    key: Option<(&'t str, bool)>,
    /// Objects on the path to the chosen array: a later member with this key would replace
    /// the one holding the array (Go keeps the last), so it forbids the split.
    watch: Option<&'t str>,
}

impl<'t> Open<'t> {
    fn new(array: bool, start: usize) -> Self {
        Open {
            array,
            start,
            index: 0,
            mid_comma: None,
            want_key: !array,
            key: None,
            watch: None,
        }
    }
}

/// Scans `text` for the array to split (see the module doc): `None` when there is none, or the
/// text is not what the scan can vouch for.
fn find_cut(text: &str) -> Option<Cut<'_>> {
    let bytes = text.as_bytes();
    let mid = bytes.len() / 2;
    let (lo, hi) = (bytes.len() / 4, bytes.len() * 3 / 4);
    let min_span = (bytes.len() as f64 * MIN_SHARE) as usize;
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut found: Option<Cut<'_>> = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let (end, escaped) = string_end(bytes, i + 1)?;
                if let Some(top) = stack.last_mut().filter(|o| !o.array && o.want_key) {
                    let raw = &text[i + 1..end];
                    if top.watch.is_some_and(|w| escaped || w == raw) {
                        return None;
                    }
                    top.key = Some((raw, escaped));
                    top.want_key = false;
                }
                i = end;
            }
            b'[' | b'{' => stack.push(Open::new(bytes[i] == b'[', i)),
            b']' | b'}' => {
                let open = stack.pop()?;
                if open.array != (bytes[i] == b']') {
                    return None;
                }
                if found.is_none() && open.array && i - open.start >= min_span {
                    if let Some(cut) = open.mid_comma.filter(|c| (lo..=hi).contains(c)) {
                        found = Some(Cut {
                            path: path_to(&mut stack)?,
                            depth: stack.len() + 1,
                            cut,
                            end: i,
                        });
                    }
                }
            }
            b',' => match stack.last_mut() {
                Some(top) if top.array => {
                    top.index += 1;
                    if top.mid_comma.is_none() && i >= mid {
                        top.mid_comma = Some(i);
                    }
                }
                Some(top) => top.want_key = true,
                None => return None,
            },
            _ => {}
        }
        i += 1;
    }
    if !stack.is_empty() {
        return None;
    }
    found
}

/// The steps from the root to the container just closed, whose parents are `stack`; each
/// object on the way watches its key from now on.
fn path_to<'t>(stack: &mut [Open<'t>]) -> Option<Vec<Step<'t>>> {
    stack
        .iter_mut()
        .map(|open| {
            if open.array {
                return Some(Step::Index(open.index));
            }
            match open.key {
                Some((key, false)) => {
                    open.watch = Some(key);
                    Some(Step::Key(key))
                }
                _ => None,
            }
        })
        .collect()
}

/// The index of the `"` closing the string whose contents begin at `from`, and whether the
/// string has escapes. Most of a document's bytes are in strings: `memchr2` skips them fast.
fn string_end(bytes: &[u8], mut from: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', bytes.get(from..)?)?;
        if bytes[at] == b'"' {
            return Some((at, escaped));
        }
        escaped = true;
        from = at + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_whole;

    /// A document of `n` records under `key`, padded past `MIN_LEN`.
    fn catalog(key: &str, n: usize) -> String {
        let items: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"Name": "svc-{i}", "Tags": ["a", "b\"{{["], "Port": {i}.5, "M": {{}}}}"#
                )
            })
            .collect();
        format!(
            r#"{{"before": [1, 2], "{key}": [{}], "after": null}}"#,
            items.join(", ")
        )
    }

    fn same(a: &Value, b: &Value) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    #[test]
    fn the_big_array_is_cut_near_the_middle_and_rejoined() {
        let text = catalog("services", 40_000);
        assert!(text.len() > MIN_LEN);
        let cut = find_cut(&text).expect("a cut");
        assert_eq!(cut.path, vec![Step::Key("services")]);
        assert_eq!(cut.depth, 2);
        assert_eq!(&text[cut.cut..cut.cut + 1], ",");
        assert_eq!(&text[cut.end..cut.end + 1], "]");
        let two = parse(&text).expect("parsed in two parts");
        let one = parse_whole(&text).unwrap();
        let Value::Map(m) = &two else { panic!() };
        let Value::List(l) = &m["services"] else {
            panic!()
        };
        assert_eq!(l.len(), 40_000);
        assert!(same(&one, &two));
    }

    #[test]
    fn a_later_member_of_the_same_key_or_an_escaped_key_forbids_the_cut() {
        let text = catalog("services", 40_000);
        let dup = format!(r#"{}, "services": 1}}"#, &text[..text.len() - 1]);
        assert!(find_cut(&dup).is_none());
        let escaped = format!(r#"{}, "servic\u0065s": 1}}"#, &text[..text.len() - 1]);
        assert!(find_cut(&escaped).is_none());
        let via_escape = catalog(r"servic\u0065s", 40_000);
        assert!(find_cut(&via_escape).is_none());
        // What the split turns down, the one-thread parse still reads, Go's way (last wins).
        let Value::Map(m) = crate::json::parse(&dup).unwrap() else {
            panic!()
        };
        assert!(matches!(m["services"], Value::Float(x) if x == 1.0));
    }

    #[test]
    fn what_does_not_parse_whole_is_not_parsed_in_parts() {
        let text = catalog("services", 40_000);
        let cut = find_cut(&text).unwrap();
        // An empty element at the cut, a trailing comma, an element missing after the cut.
        let doubled = format!("{},{}", &text[..cut.cut], &text[cut.cut..]);
        let trailing = format!("{},]{}", &text[..cut.end], &text[cut.end + 1..]);
        let nothing_after = format!("{},]{}", &text[..cut.cut], &text[cut.end + 1..]);
        for bad in [&doubled, &trailing, &nothing_after] {
            assert!(parse_whole(bad).is_err());
            assert!(parse(bad).is_none());
            assert_eq!(
                crate::json::parse(bad).unwrap_err(),
                parse_whole(bad).unwrap_err()
            );
        }
    }

    #[test]
    fn depth_counts_from_the_array_in_the_second_part() {
        // Nesting in the second half that only the array's own depth takes past the limit.
        let deep = |n: usize| "[".repeat(n) + &"]".repeat(n);
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(move || {
                let text = catalog("services", 40_000);
                let cut = find_cut(&text).unwrap();
                let limit = super::super::MAX_DEPTH - cut.depth; // levels left inside one element
                for (levels, ok) in [(limit, true), (limit + 1, false)] {
                    let doc = format!("{}, {}{}", &text[..cut.end], deep(levels), &text[cut.end..]);
                    assert_eq!(parse_whole(&doc).is_ok(), ok, "{levels} levels");
                    assert_eq!(parse(&doc).is_some(), ok, "{levels} levels in two parts");
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
