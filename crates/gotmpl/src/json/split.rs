//! A large JSON document parsed on two threads: a catalog dump is one big array (`services`,
//! ten thousand entries) whose second half can be parsed beside the first. A quick scan of the
//! text (strings and brackets only) finds that array and the comma between two of its elements
//! nearest the middle of the text; the first part (the text with the array's second half cut
//! out) and the second half (wrapped as an array of its own) are parsed at once, and the second
//! half's elements are appended to the array found again in the first part's value.
//!
//! Given text to keep (`parse_owned`), the parts are made in the text itself rather than
//! copied (15 MB of fresh pages for a 15 MB document): the element after the cut is copied out
//! as a third, small part, the second part is the rest of the array with the comma before it
//! turned into `[`, and the first part ends where that element was, in which the text after the
//! array is written, padded with spaces.
//!
//! This is only a faster road to the same value: whenever both parts do not parse, or anything
//! is not as the scan expects, `None` sends the caller to the one-thread parse, which gives
//! Go's answer and Go's error. Both parts parsing means the whole does (the cut is a comma
//! between two elements of one array, neither part empty), and the depth limit counts from the
//! array's own depth in the second half, so what parses in two parts parses in one, to the
//! same value.

use std::sync::Arc;

mod structural;

use super::{parse_with, Keys};
use crate::value::Value;
use structural::Structural;

/// Below this many bytes a second thread costs more than it saves.
const MIN_LEN: usize = 1 << 20;
/// The array must span at least this share of the text to be worth splitting, and the cut must
/// fall within the middle half of the text.
const MIN_SHARE: f64 = 0.5;

/// One step from the document's root to the array: a member (whose key has no escapes) or an
/// element.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Where to cut: the array at `path`, at depth `depth` (the root value is depth 1, as in
/// `Keys`), the comma at byte `cut`, the next comma directly in the array (if any) at `next`,
/// and the `]` that closes the array at byte `end`.
#[derive(Debug, PartialEq)]
struct Cut {
    path: Vec<Step>,
    depth: usize,
    cut: usize,
    next: Option<usize>,
    end: usize,
}

/// The value of `text` parsed on two threads, or `None` to parse it on one.
pub(super) fn parse(text: &str) -> Option<Value> {
    parse_copied(text, &cut_of(text)?)
}

/// The same for text the caller gives up: the parts are made in place (see the module doc).
/// When this returns `None`, `text` is as it was.
pub(super) fn parse_owned(text: &mut String) -> Option<Value> {
    let cut = cut_of(text)?;
    // The element after the cut must have room for the text after the array.
    let Some(next) = cut
        .next
        .filter(|&next| text.len() - cut.end <= next - cut.cut)
    else {
        return parse_copied(text, &cut);
    };
    let middle = ["[", &text[cut.cut + 1..next], "]"].concat();
    let after = &text[cut.end..];
    let first_end = [after, &" ".repeat(next - cut.cut - after.len())].concat();
    // Lengths are kept, so every position stays; both ends of each range are ASCII.
    text.replace_range(cut.cut..next, &first_end);
    text.replace_range(next..=next, "[");
    let parts = Parts {
        first: &text[..next],
        middle: Some(&middle),
        second: &text[next..=cut.end],
    };
    let value = parts.parse(&cut);
    if value.is_none() {
        let was = [",", &middle[1..middle.len() - 1], ","].concat();
        text.replace_range(cut.cut..=next, &was);
    }
    value
}

/// Where to cut `text`, if it is large enough to be worth two threads and has them.
fn cut_of(text: &str) -> Option<Cut> {
    if text.len() < MIN_LEN || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return None;
    }
    find_cut(text)
}

/// The two parts copied out of `text`.
fn parse_copied(text: &str, cut: &Cut) -> Option<Value> {
    let first = [&text[..cut.cut], &text[cut.end..]].concat();
    let second = ["[", &text[cut.cut + 1..cut.end], "]"].concat();
    let parts = Parts {
        first: &first,
        middle: None,
        second: &second,
    };
    parts.parse(cut)
}

/// The texts parsed apart: the document without the array's elements after the cut, maybe
/// the one element after the cut (as an array of one), and the elements after it (as an
/// array).
struct Parts<'p> {
    first: &'p str,
    middle: Option<&'p str>,
    second: &'p str,
}

impl Parts<'_> {
    /// The document's value: the first part's with the others' elements appended to the array.
    fn parse(&self, cut: &Cut) -> Option<Value> {
        // The other parts are arrays standing for the one at the cut's depth.
        let at_array = || Keys::at_depth(cut.depth - 1);
        let (first, middle, second) = std::thread::scope(|s| {
            let second = std::thread::Builder::new()
                // About 1 KiB of stack a level, as for the one-thread parse (see `json::parse`).
                .stack_size(64 << 20)
                .spawn_scoped(s, || parse_with(self.second, at_array()).ok())
                .ok()?;
            let first = parse_with(self.first, Keys::default()).ok();
            let middle = self.middle.map(|m| parse_with(m, at_array()).ok());
            Some((first, middle, second.join().ok()?))
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
        if let Some(middle) = middle {
            let Value::List(one) = middle? else {
                return None;
            };
            let [element] = <[Value; 1]>::try_from(Arc::try_unwrap(one).ok()?).ok()?;
            head.push(element);
        }
        head.extend(tail);
        Some(root)
    }
}

/// The value at `path` in a freshly parsed (unshared) value.
fn find_mut<'v>(mut v: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
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
    /// Arrays: the first comma directly inside past the middle of the text, and the one after.
    mid_comma: Option<usize>,
    next_comma: Option<usize>,
    /// Objects: the `{` or `,` before the member being read (its key is read from there when
    /// it is needed, which is seldom).
    member: usize,
    /// Objects on the path to the chosen array: a later member with this key would replace
    /// the one holding the array (Go keeps the last), so it forbids the split.
    watch: Option<&'t str>,
}

impl Open<'_> {
    fn new(array: bool, start: usize) -> Self {
        Open {
            array,
            start,
            index: 0,
            mid_comma: None,
            next_comma: None,
            member: start,
            watch: None,
        }
    }
}

/// Scans `text` for the array to split (see the module doc): `None` when there is none, or the
/// text is not what the scan can vouch for.
fn find_cut(text: &str) -> Option<Cut> {
    let bytes = text.as_bytes();
    let mid = bytes.len() / 2;
    let (lo, hi) = (bytes.len() / 4, bytes.len() * 3 / 4);
    let min_span = (bytes.len() as f64 * MIN_SHARE) as usize;
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut found: Option<Cut> = None;
    let mut scan = Structural::new(bytes);
    for i in scan.by_ref() {
        match bytes[i] {
            b'[' | b'{' => stack.push(Open::new(bytes[i] == b'[', i)),
            b']' | b'}' => {
                let open = stack.pop()?;
                if open.array != (bytes[i] == b']') {
                    return None;
                }
                if found.is_none() && open.array && i - open.start >= min_span {
                    if let Some(cut) = open.mid_comma.filter(|c| (lo..=hi).contains(c)) {
                        found = Some(Cut {
                            path: path_to(text, &mut stack)?,
                            depth: stack.len() + 1,
                            cut,
                            next: open.next_comma,
                            end: i,
                        });
                    }
                }
            }
            _ => match stack.last_mut() {
                Some(top) if top.array => {
                    top.index += 1;
                    if top.mid_comma.is_none() && i >= mid {
                        top.mid_comma = Some(i);
                    } else if top.mid_comma.is_some() && top.next_comma.is_none() {
                        top.next_comma = Some(i);
                    }
                }
                Some(top) => {
                    top.member = i;
                    if let Some(watched) = top.watch {
                        match key_after(text, i)? {
                            (key, false) if key != watched => {}
                            _ => return None,
                        }
                    }
                }
                None => return None,
            },
        }
    }
    if scan.ends_in_string() || !stack.is_empty() {
        return None;
    }
    found
}

/// The steps from the root to the container just closed, whose parents are `stack`; each
/// object on the way watches its key from now on.
fn path_to<'t>(text: &'t str, stack: &mut [Open<'t>]) -> Option<Vec<Step>> {
    stack
        .iter_mut()
        .map(|open| {
            if open.array {
                return Some(Step::Index(open.index));
            }
            match key_after(text, open.member)? {
                (key, false) => {
                    open.watch = Some(key);
                    Some(Step::Key(key.to_string()))
                }
                _ => None,
            }
        })
        .collect()
}

/// The key of the member after the `{` or `,` at `at`, raw, and whether it has escapes; `None`
/// when a string does not follow (after white space).
fn key_after(text: &str, at: usize) -> Option<(&str, bool)> {
    let bytes = text.as_bytes();
    let open = at
        + 1
        + bytes[at + 1..]
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))?;
    if bytes[open] != b'"' {
        return None;
    }
    let (close, escaped) = string_end(bytes, open + 1)?;
    Some((&text[open + 1..close], escaped))
}

/// The index of the `"` closing the string whose contents begin at `from`, and whether the
/// string has escapes.
fn string_end(bytes: &[u8], mut from: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    loop {
        let at = from
            + bytes
                .get(from..)?
                .iter()
                .position(|&b| b == b'"' || b == b'\\')?;
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
        assert_eq!(cut.path, vec![Step::Key("services".into())]);
        assert_eq!(cut.depth, 2);
        assert_eq!(&text[cut.cut..cut.cut + 1], ",");
        assert_eq!(&text[cut.end..cut.end + 1], "]");
        let two = parse(&text).expect("parsed in two parts");
        let one = parse_whole(&text).unwrap();
        let mut owned = text.clone();
        let in_place = parse_owned(&mut owned).expect("parsed in three parts in place");
        assert!(same(&one, &in_place));
        // Text after the array longer than the element it would overwrite: parts are copied.
        let long_after = text.replace(
            r#""after": null"#,
            &format!(r#""after": "{}""#, "x".repeat(200)),
        );
        let cut = find_cut(&long_after).unwrap();
        assert!(long_after.len() - cut.end > cut.next.unwrap() - cut.cut);
        let copied = parse_owned(&mut long_after.clone()).expect("parsed in two parts");
        assert!(same(&parse_whole(&long_after).unwrap(), &copied));
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
        // No element where the text after the array goes when parsing in place, or none after
        // it: blanked, so that the scan finds the same commas.
        let next = cut.next.unwrap();
        let blank =
            |from: usize, to: usize| [&text[..from], &" ".repeat(to - from), &text[to..]].concat();
        let after_next = next + 1 + text[next + 1..].find(", {").unwrap();
        let empty_middle = blank(cut.cut + 1, next);
        let empty_after = blank(next + 1, after_next);
        for bad in [&empty_middle, &empty_after] {
            let bad_cut = find_cut(bad).unwrap();
            assert_eq!((bad_cut.cut, bad_cut.next), (cut.cut, cut.next));
        }
        for bad in [
            &doubled,
            &trailing,
            &nothing_after,
            &empty_middle,
            &empty_after,
        ] {
            assert!(parse_whole(bad).is_err());
            assert!(parse(bad).is_none());
            let mut owned = bad.clone();
            assert!(parse_owned(&mut owned).is_none());
            assert!(&owned == bad, "put back as it was");
            assert_eq!(
                crate::json::parse_owned(bad.clone()).unwrap_err(),
                parse_whole(bad).unwrap_err()
            );
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
                    let in_place = parse_owned(&mut doc.clone()).is_some();
                    assert_eq!(in_place, ok, "{levels} levels in three parts");
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
