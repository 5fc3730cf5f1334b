//! sprig's string functions: case, trimming, `replace`, `repeat`, `substr`, `trunc`, quoting,
//! `cat`, `indent`/`nindent`, `join`/`split*`, `b64enc`/`b64dec`, `toJson`, `toString(s)` and
//! `sha256sum`, with Go's deprecated `strings.Title` for `title`; the goutils/xstrings word
//! functions (`abbrev`, `wrap`, `camelcase`…, see `text`), `b32enc`/`b32dec` (see `base32`),
//! `sha1sum`, `sha512sum`, `adler32sum`, `plural`, `splitn`, `trimall` and `hello`.

use super::{base32, sdef, strslice, strval, text};
use crate::gotmpl::{printf, Arity, FuncMap, Value};
use crate::template::funcs::encoding::base64::STD;
use crate::template::funcs::encoding::json::to_json;
use crate::template::funcs::hashes::{hex, sha256_hex};
use crate::template::funcs::strings::{check_size, go_split, go_to_lower, go_to_upper, title_char};
use crate::template::funcs::{bytes_arg, fail, int_arg, string_arg, Res, StrFn};

pub(super) fn register(funcs: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    let unary: [StrFn; 5] = [
        ("upper", go_to_upper),
        ("lower", go_to_lower),
        ("title", strings_title),
        ("trim", |s| s.trim().to_string()),
        ("nospace", text::delete_white_space),
    ];
    for (name, f) in unary {
        sdef(funcs, name, Exact(1), move |a| {
            Ok(Value::from(f(&string_arg(&a[0])?)))
        });
    }
    // (cut, s) → result, for the two-string functions whose string comes last.
    type PairFn = (&'static str, fn(&str, &str) -> Value);
    let binary: [PairFn; 6] = [
        ("trimAll", |c, s| {
            Value::str(s.trim_matches(|x| c.contains(x)))
        }),
        ("trimPrefix", |p, s| {
            Value::str(s.strip_prefix(p).unwrap_or(s))
        }),
        ("trimSuffix", |p, s| {
            Value::str(s.strip_suffix(p).unwrap_or(s))
        }),
        ("contains", |sub, s| Value::Bool(s.contains(sub))),
        ("hasPrefix", |p, s| Value::Bool(s.starts_with(p))),
        ("hasSuffix", |p, s| Value::Bool(s.ends_with(p))),
    ];
    sdef(funcs, "trimall", Exact(2), |a| {
        let (cut, s) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::str(s.trim_matches(|x| cut.contains(x))))
    });
    for (name, f) in binary {
        sdef(funcs, name, Exact(2), move |a| {
            Ok(f(&string_arg(&a[0])?, &string_arg(&a[1])?))
        });
    }
    sdef(funcs, "replace", Exact(3), |a| {
        let (old, new) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::from(string_arg(&a[2])?.replace(&*old, &new)))
    });
    sdef(funcs, "repeat", Exact(2), |a| {
        let n = int_arg(&a[0])?;
        if n < 0 {
            return fail("strings: negative Repeat count");
        }
        let s = bytes_arg(&a[1])?;
        check_size(n, s.len())?;
        Ok(Value::from_bytes(&s.repeat(n as usize)))
    });
    sdef(funcs, "substr", Exact(3), |a| {
        let (start, end) = (int_arg(&a[0])?, int_arg(&a[1])?);
        let s = bytes_arg(&a[2])?;
        let len = s.len() as i64;
        let (from, to) = if start < 0 {
            (0, end)
        } else if end < 0 || end > len {
            (start, len)
        } else {
            (start, end)
        };
        go_slice(s, from, to)
    });
    sdef(funcs, "trunc", Exact(2), |a| {
        let c = int_arg(&a[0])?;
        let s = bytes_arg(&a[1])?;
        let len = s.len() as i64;
        let (from, to) = match c {
            c if c < 0 && len.saturating_add(c) > 0 => (len + c, len),
            c if c >= 0 && len > c => (0, c),
            _ => (0, len),
        };
        go_slice(s, from, to)
    });
    sdef(funcs, "quote", AtLeast(0), |a| {
        let quoted: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| printf::quote(&strval(v)))
            .collect();
        Ok(Value::from(quoted.join(" ")))
    });
    sdef(funcs, "squote", AtLeast(0), |a| {
        let quoted: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| format!("'{}'", strval(v)))
            .collect();
        Ok(Value::from(quoted.join(" ")))
    });
    sdef(funcs, "cat", AtLeast(0), |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(Value::to_go_string)
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    for (name, lead) in [("indent", ""), ("nindent", "\n")] {
        sdef(funcs, name, Exact(2), move |a| {
            let n = int_arg(&a[0])?;
            let s = string_arg(&a[1])?;
            check_size(n, s.len())?;
            let pad = " ".repeat(usize::try_from(n).unwrap_or(0));
            Ok(Value::from(format!(
                "{lead}{pad}{}",
                s.replace('\n', &format!("\n{pad}"))
            )))
        });
    }
    sdef(funcs, "join", Exact(2), |a| {
        Ok(Value::from(strslice(&a[1]).join(&string_arg(&a[0])?)))
    });
    sdef(funcs, "splitList", Exact(2), |a| {
        let (sep, s) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::list(
            go_split(&s, &sep).into_iter().map(Value::str).collect(),
        ))
    });
    sdef(funcs, "split", Exact(2), |a| {
        let (sep, s) = (string_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::map(
            go_split(&s, &sep)
                .into_iter()
                .enumerate()
                .map(|(i, p)| (format!("_{i}"), Value::str(p))),
        ))
    });
    sdef(funcs, "b64enc", Exact(1), |a| {
        Ok(Value::from(STD.encode(bytes_arg(&a[0])?)))
    });
    // sprig returns the error text as the result.
    sdef(funcs, "b64dec", Exact(1), |a| {
        match STD.decode(bytes_arg(&a[0])?) {
            Ok(bytes) => Ok(Value::from_bytes(&bytes)),
            Err(at) => Ok(Value::from(format!(
                "illegal base64 data at input byte {at}"
            ))),
        }
    });
    // sprig drops encoding errors: the result is then empty.
    sdef(funcs, "toJson", Exact(1), |a| {
        Ok(Value::from(to_json(&a[0], true, false).unwrap_or_default()))
    });
    sdef(funcs, "toPrettyJson", Exact(1), |a| {
        Ok(Value::from(to_json(&a[0], true, true).unwrap_or_default()))
    });
    sdef(funcs, "toString", Exact(1), |a| {
        Ok(Value::from(strval(&a[0])))
    });
    sdef(funcs, "toStrings", Exact(1), |a| {
        Ok(Value::list(
            strslice(&a[0]).into_iter().map(Value::from).collect(),
        ))
    });
    sdef(funcs, "sha256sum", Exact(1), |a| {
        Ok(Value::from(sha256_hex(bytes_arg(&a[0])?)))
    });
    register_words(funcs);
    register_digests(funcs);
}

/// goutils' and xstrings' word functions, `plural`, `splitn`, `hello`.
fn register_words(funcs: &mut FuncMap) {
    use Arity::Exact;
    let unary: [StrFn; 8] = [
        ("initials", text::initials),
        ("untitle", text::uncapitalize),
        ("swapcase", text::swap_case),
        ("shuffle", text::shuffle),
        ("camelcase", text::to_camel_case),
        ("snakecase", |s| text::camel_to_lower(s, '_')),
        ("kebabcase", |s| text::camel_to_lower(s, '-')),
        ("b32enc", |s| base32::encode(s.as_bytes())),
    ];
    for (name, f) in unary {
        sdef(funcs, name, Exact(1), move |a| {
            Ok(Value::from(f(&string_arg(&a[0])?)))
        });
    }
    // sprig returns the error text as the result.
    sdef(funcs, "b32dec", Exact(1), |a| {
        Ok(match base32::decode(bytes_arg(&a[0])?) {
            Ok(bytes) => Value::from_bytes(&bytes),
            Err(at) => Value::from(format!("illegal base32 data at input byte {at}")),
        })
    });
    sdef(funcs, "abbrev", Exact(2), |a| {
        let (width, s) = (int_arg(&a[0])?, string_arg(&a[1])?);
        if width < 4 {
            return Ok(Value::str(&s));
        }
        Ok(Value::from(
            text::abbreviate_full(&s, 0, width).unwrap_or_default(),
        ))
    });
    sdef(funcs, "abbrevboth", Exact(3), |a| {
        let (left, right) = (int_arg(&a[0])?, int_arg(&a[1])?);
        let s = string_arg(&a[2])?;
        if right < 4 || left > 0 && right < 7 {
            return Ok(Value::str(&s));
        }
        Ok(Value::from(
            text::abbreviate_full(&s, left, right).unwrap_or_default(),
        ))
    });
    sdef(funcs, "wrap", Exact(2), |a| {
        let (width, s) = (int_arg(&a[0])?, string_arg(&a[1])?);
        Ok(Value::from_bytes(&text::wrap_custom(&s, width, "", false)))
    });
    sdef(funcs, "wrapWith", Exact(3), |a| {
        let (width, sep) = (int_arg(&a[0])?, string_arg(&a[1])?);
        let s = string_arg(&a[2])?;
        Ok(Value::from_bytes(&text::wrap_custom(&s, width, &sep, true)))
    });
    sdef(funcs, "plural", Exact(3), |a| {
        let (one, many) = (string_arg(&a[0])?, string_arg(&a[1])?);
        let count = int_arg(&a[2])?;
        Ok(Value::str(if count == 1 { &one } else { &many }))
    });
    sdef(funcs, "splitn", Exact(3), |a| {
        let sep = string_arg(&a[0])?;
        let n = int_arg(&a[1])?;
        let s = string_arg(&a[2])?;
        let parts = go_split_n(&s, &sep, n);
        Ok(Value::map(
            parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| (format!("_{i}"), Value::str(p))),
        ))
    });
    sdef(funcs, "hello", Exact(0), |_| Ok(Value::str("Hello!")));
}

/// Go's `strings.SplitN`: no parts for `n == 0`, all for `n < 0`, else at most `n` (the last
/// holds the rest).
fn go_split_n<'a>(s: &'a str, sep: &str, n: i64) -> Vec<&'a str> {
    if n == 0 {
        return Vec::new();
    }
    let all = go_split(s, sep);
    if n < 0 || all.len() as i64 <= n {
        return all;
    }
    let n = n as usize;
    let mut parts: Vec<&str> = all[..n - 1].to_vec();
    let consumed: usize = parts.iter().map(|p| p.len() + sep.len()).sum();
    parts.push(&s[consumed..]);
    parts
}

/// `sha1sum`, `sha512sum` (sprig 3.3.0) and `adler32sum` (decimal, as `%d`).
fn register_digests(funcs: &mut FuncMap) {
    use sha1::Digest as _;
    sdef(funcs, "sha1sum", Arity::Exact(1), |a| {
        Ok(Value::from(hex(&sha1::Sha1::digest(bytes_arg(&a[0])?))))
    });
    sdef(funcs, "sha512sum", Arity::Exact(1), |a| {
        Ok(Value::from(hex(&sha2::Sha512::digest(bytes_arg(&a[0])?))))
    });
    sdef(funcs, "adler32sum", Arity::Exact(1), |a| {
        Ok(Value::from(adler32(bytes_arg(&a[0])?).to_string()))
    });
}

/// Adler-32 (RFC 1950), as Go's `hash/adler32`.
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// `s[from:to]` on bytes, with Go's panic text when out of range.
fn go_slice(s: &[u8], from: i64, to: i64) -> Res {
    if from < 0 || to < 0 || to > s.len() as i64 || from > to {
        let msg = if to > s.len() as i64 {
            format!(
                "runtime error: slice bounds out of range [:{to}] with length {}",
                s.len()
            )
        } else {
            format!("runtime error: slice bounds out of range [{from}:{to}]")
        };
        return fail(msg);
    }
    Ok(Value::from_bytes(&s[from as usize..to as usize]))
}

/// Go's deprecated `strings.Title`: the letter after a separator in title case.
fn strings_title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { title_char(c) } else { c };
            prev = c;
            out
        })
        .collect()
}
