//! The word functions sprig takes from Masterminds/goutils (`abbrev`, `abbrevboth`, `initials`,
//! `untitle`, `swapcase`, `wrap`, `wrapWith`, `nospace`) and huandu/xstrings (`camelcase`,
//! `snakecase`, `kebabcase`, `shuffle`), ported line by line: no crate cuts words the way these
//! two libraries do, and their quirks show in the output (goutils walks some strings byte by
//! byte, taking each byte for a Latin-1 character).

use crate::template::funcs::strings::{simple_lower, simple_upper, title_char};

/// goutils' `AbbreviateFull` (byte offsets, `...` marker), with sprig's guards folded in by the
/// callers. `Err` carries goutils' message, which sprig drops.
pub(super) fn abbreviate_full(s: &str, offset: i64, max_width: i64) -> Result<String, String> {
    let b = s.as_bytes();
    let len = b.len() as i64;
    if s.is_empty() {
        return Ok(String::new());
    }
    if max_width < 4 {
        return Err("stringutils illegal argument: Minimum abbreviation width is 4".into());
    }
    if len <= max_width {
        return Ok(s.to_string());
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    let cut =
        |from: i64, to: i64| String::from_utf8_lossy(&b[from as usize..to as usize]).into_owned();
    if offset <= 4 {
        return Ok(format!("{}...", cut(0, max_width - 3)));
    }
    if max_width < 7 {
        return Err(
            "stringutils illegal argument: Minimum abbreviation width with offset is 7".into(),
        );
    }
    if offset + max_width - 3 < len {
        let rest = cut(offset, len);
        return Ok(format!("...{}", abbreviate_full(&rest, 0, max_width - 3)?));
    }
    Ok(format!("...{}", cut(len - (max_width - 3), len)))
}

/// Go's `unicode.IsSpace` on a rune made from one byte (goutils' byte loops).
fn byte_is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0)
}

/// Appends a byte taken as a rune (Latin-1), as goutils' `WriteRune(rune(str[i]))` does.
fn push_byte_rune(out: &mut String, b: u8) {
    out.push(char::from(b));
}

/// goutils' `DeleteWhiteSpace`: unchanged when nothing is removed, else rebuilt byte by byte.
pub(super) fn delete_white_space(s: &str) -> String {
    if !s.bytes().any(byte_is_space) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes().filter(|b| !byte_is_space(*b)) {
        push_byte_rune(&mut out, b);
    }
    out
}

/// goutils' `Initials` with whitespace delimiters (byte by byte).
pub(super) fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut last_was_gap = true;
    for b in s.bytes() {
        if byte_is_space(b) {
            last_was_gap = true;
        } else if last_was_gap {
            push_byte_rune(&mut out, b);
            last_was_gap = false;
        }
    }
    out
}

/// goutils' `Uncapitalize`: the first letter of each whitespace-separated word in lower case.
pub(super) fn uncapitalize(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if c.is_whitespace() {
                next = true;
                c
            } else if next {
                next = false;
                simple_lower(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils' `SwapCase`: upper and title case to lower; lower to title case at a word start and
/// to upper case elsewhere.
pub(super) fn swap_case(s: &str) -> String {
    let mut whitespace = true;
    s.chars()
        .map(|c| {
            if c.is_uppercase() || is_title_case(c) {
                whitespace = false;
                simple_lower(c)
            } else if c.is_lowercase() {
                if whitespace {
                    whitespace = false;
                    title_char(c)
                } else {
                    simple_upper(c)
                }
            } else {
                whitespace = c.is_whitespace();
                c
            }
        })
        .collect()
}

fn is_title_case(c: char) -> bool {
    matches!(c, 'ǅ' | 'ǈ' | 'ǋ' | 'ǲ')
        || ('\u{1f88}'..='\u{1faf}').contains(&c) && !c.is_uppercase()
}

/// goutils' `WrapCustom` on bytes: breaks at the last space within `width`; a longer word is
/// cut only when `long_words` (else kept whole up to the next space).
pub(super) fn wrap_custom(s: &str, width: i64, newline: &str, long_words: bool) -> Vec<u8> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Vec::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let width = width.max(1) as usize;
    let len = b.len();
    let mut offset = 0usize;
    let mut out = Vec::with_capacity(len + len / width * newline.len());
    while len - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = width + offset + 1;
        let space = b[offset..end].iter().rposition(|&c| c == b' ');
        if let Some(at) = space {
            out.extend_from_slice(&b[offset..offset + at]);
            out.extend_from_slice(newline.as_bytes());
            offset += at + 1;
        } else if long_words {
            out.extend_from_slice(&b[offset..offset + width]);
            out.extend_from_slice(newline.as_bytes());
            offset += width;
        } else {
            let end = width + offset;
            match b[end..].iter().position(|&c| c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
                Some(i) => {
                    out.extend_from_slice(&b[offset..end + i]);
                    out.extend_from_slice(newline.as_bytes());
                    offset = end + i + 1;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    out
}

/// xstrings' connector: `-`, `_` or white space.
fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// xstrings' `ToCamelCase`: connectors removed, the letter after one upper-cased, the rest of
/// each word lower-cased; leading connectors kept.
pub(super) fn to_camel_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    let mut r0 = '\0';
    let mut seen = false;
    for c in chars.by_ref() {
        seen = true;
        if !is_connector(c) {
            r0 = simple_upper(c);
            break;
        }
        out.push(c);
        r0 = c;
    }
    let rest: Vec<char> = chars.collect();
    if rest.is_empty() {
        // xstrings writes the last character read once more, even a connector (`__` → `___`).
        if seen {
            out.push(r0);
        }
        return out;
    }
    for c in rest {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            r0 = simple_upper(r0);
        } else {
            r0 = simple_lower(r0);
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// Go's `unicode.IsPunct` (category P) for the characters templates meet: ASCII punctuation
/// that is not a symbol, Latin-1's `¡§«¶·»¿`, and the general and CJK punctuation blocks.
fn is_punct(c: char) -> bool {
    matches!(c,
        '!'..='#' | '%'..='*' | ','..='/' | ':' | ';' | '?' | '@' | '['..=']' | '_' | '{' | '}'
        | '¡' | '§' | '«' | '¶' | '·' | '»' | '¿'
        | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{2043}' | '\u{2045}'..='\u{2051}'
        | '\u{2053}'..='\u{205e}' | '\u{3001}'..='\u{3003}' | '\u{3008}'..='\u{3011}')
}

/// xstrings' `isAlphabet`: a letter outside the CJK ideograph blocks.
fn is_alphabet(c: char) -> bool {
    c.is_alphabetic()
        && !matches!(c, '\u{4e00}'..='\u{9fcc}' | '\u{3400}'..='\u{4d85}' | '\u{20000}'..='\u{2b81d}')
}

/// xstrings' `nextWord`: the type and text of the next word, and what follows it.
fn next_word(s: &str) -> (Word, &str, &str) {
    let mut it = s.char_indices().peekable();
    let Some((_, r)) = it.next() else {
        return (Word::Invalid, "", "");
    };
    let first_len = r.len_utf8();
    // End (byte offset) of the run of characters after the first that satisfy `keep`.
    let run_end = |keep: &dyn Fn(char) -> bool| {
        s[first_len..]
            .char_indices()
            .find(|&(_, c)| !keep(c))
            .map_or(s.len(), |(i, _)| first_len + i)
    };
    let (wt, end) = if is_connector(r) {
        (Word::Connector, run_end(&is_connector))
    } else if is_punct(r) {
        (Word::Punct, run_end(&is_punct))
    } else if r.is_uppercase() {
        let rest = &s[first_len..];
        match rest.chars().next() {
            None => (Word::Upper, first_len),
            Some(n) if n.is_uppercase() => {
                // A run of capitals; its last one starts the next word if a letter follows.
                let mut end = first_len;
                let mut prev_len = 0;
                let mut after = None;
                for c in rest.chars() {
                    if !c.is_uppercase() {
                        after = Some(c);
                        break;
                    }
                    prev_len = c.len_utf8();
                    end += prev_len;
                }
                if after.is_some_and(is_alphabet) {
                    end -= prev_len;
                }
                (Word::Upper, end)
            }
            Some(n) if is_alphabet(n) => (
                Word::Upper,
                run_end(&|c: char| is_alphabet(c) && !c.is_uppercase()),
            ),
            Some(_) => (Word::Upper, first_len),
        }
    } else if is_alphabet(r) {
        (
            Word::Alphabet,
            run_end(&|c: char| is_alphabet(c) && !c.is_uppercase()),
        )
    } else if r.is_numeric() {
        (Word::Number, run_end(&|c: char| c.is_numeric()))
    } else {
        (
            Word::Other,
            run_end(&|c: char| {
                !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c))
            }),
        )
    };
    (wt, &s[..end], &s[end..])
}

/// xstrings' `toLower` of one word: capitals lowered and connectors replaced in upper-case and
/// connector words; others written as they are.
fn word_lower(out: &mut String, wt: Word, word: &str, connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else if c.is_uppercase() {
            out.push(simple_lower(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings' `camelCaseToLowerCase` (`snakecase` with `_`, `kebabcase` with `-`).
pub(super) fn camel_to_lower(s: &str, connector: char) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(s.len() + 4);
    let (mut wt, mut word, mut remaining) = next_word(s);
    while !remaining.is_empty() {
        if wt != Word::Connector {
            word_lower(&mut out, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word, remaining) = next_word(remaining);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    word_lower(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if !matches!(wt, Word::Invalid | Word::Punct | Word::Connector) {
                    out.push(connector);
                }
            }
            Word::Connector => word_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if remaining.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, remaining) = next_word(remaining);
                if wt != Word::Alphabet {
                    word_lower(&mut out, Word::Number, last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                word_lower(&mut out, Word::Number, last, connector);
                while wt == Word::Alphabet || wt == Word::Number {
                    word_lower(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if !matches!(wt, Word::Invalid | Word::Connector | Word::Punct) {
                    out.push(connector);
                }
            }
        }
    }
    word_lower(&mut out, wt, word, connector);
    out
}

/// xstrings' `Shuffle`: a Fisher–Yates shuffle of the characters.
pub(super) fn shuffle(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for i in (1..chars.len()).rev() {
        let j = random_below(i as u64 + 1) as usize;
        chars.swap(i, j);
    }
    chars.into_iter().collect()
}

/// A uniformly random number below `n` (`n` > 0), from the OS.
pub(super) fn random_below(n: u64) -> u64 {
    let mut buf = [0u8; 8];
    getrandom::fill(&mut buf).expect("the OS gives random bytes");
    // The modulo bias is below 2^-40 for the sizes a template shuffles.
    u64::from_le_bytes(buf) % n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_as_xstrings() {
        assert_eq!(next_word("HTTPServer"), (Word::Upper, "HTTP", "Server"));
        assert_eq!(next_word("fooBar"), (Word::Alphabet, "foo", "Bar"));
        assert_eq!(next_word("__x"), (Word::Connector, "__", "x"));
        assert_eq!(next_word("12ab"), (Word::Number, "12", "ab"));
    }
}
