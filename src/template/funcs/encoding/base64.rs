//! Base64 as Go's `encoding/base64` `StdEncoding` and `URLEncoding` (padded): `base64Encode`,
//! `base64Decode`, `base64URLEncode`, `base64URLDecode`, and the codec sprig and YAML use.
//!
//! The `base64` crate encodes and decodes. A thin layer keeps Go's decoding rules around it: `\r`
//! and `\n` anywhere are skipped, padding is required and canonical, bits after the last byte are
//! ignored (Go's encodings are not `Strict`), and an error names the input byte at which Go's
//! decoder stops (`illegal base64 data at input byte N`), which the crate does not report in Go's
//! terms: on an error, [`Encoding::go_error_offset`] walks the input as Go's `decodeQuantum` does.
//! Go's own corrupt inputs (`TestDecodeCorrupt`) and their offsets are golden cases
//! (`testdata/sprig_fn_base64_*`, through sprig's `b64dec`, which shares this decoder).

use std::borrow::Cow;

use ::base64::alphabet::{self, Alphabet};
use ::base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ::base64::Engine as _;

use super::super::{bytes_arg, def, fail};
use crate::gotmpl::{Arity, FuncMap, Value};

/// One of Go's padded encodings: the crate's engine and its alphabet.
pub(in crate::template::funcs) struct Encoding {
    engine: GeneralPurpose,
    alphabet: &'static Alphabet,
}

const GO_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(true)
    .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
    .with_decode_allow_trailing_bits(true);

/// Go's `base64.StdEncoding`.
pub(in crate::template::funcs) const STD: Encoding = Encoding {
    engine: GeneralPurpose::new(&alphabet::STANDARD, GO_CONFIG),
    alphabet: &alphabet::STANDARD,
};

/// Go's `base64.URLEncoding`.
pub(in crate::template::funcs) const URL: Encoding = Encoding {
    engine: GeneralPurpose::new(&alphabet::URL_SAFE, GO_CONFIG),
    alphabet: &alphabet::URL_SAFE,
};

pub(super) fn register(funcs: &mut FuncMap) {
    def(funcs, "base64Encode", Arity::Exact(1), |a| {
        Ok(Value::from(STD.encode(bytes_arg(&a[0])?)))
    });
    def(funcs, "base64URLEncode", Arity::Exact(1), |a| {
        Ok(Value::from(URL.encode(bytes_arg(&a[0])?)))
    });
    for (name, encoding) in [("base64Decode", &STD), ("base64URLDecode", &URL)] {
        def(funcs, name, Arity::Exact(1), move |a| {
            match encoding.decode(bytes_arg(&a[0])?) {
                Ok(bytes) => Ok(Value::from_bytes(&bytes)),
                Err(at) => fail(format!("{name}: illegal base64 data at input byte {at}")),
            }
        });
    }
}

impl Encoding {
    /// Padded base64 of `data`.
    pub(in crate::template::funcs) fn encode(&self, data: &[u8]) -> String {
        self.engine.encode(data)
    }

    /// Go's `DecodeString`; the error is the input offset Go reports.
    pub(in crate::template::funcs) fn decode(&self, src: &[u8]) -> Result<Vec<u8>, usize> {
        let text: Cow<'_, [u8]> = if src.iter().any(|&c| c == b'\n' || c == b'\r') {
            Cow::Owned(
                src.iter()
                    .copied()
                    .filter(|&c| c != b'\n' && c != b'\r')
                    .collect(),
            )
        } else {
            Cow::Borrowed(src)
        };
        self.engine.decode(&*text).map_err(|_| {
            let at = self.go_error_offset(src);
            debug_assert!(at.is_some(), "the base64 crate refused what Go accepts");
            at.unwrap_or(0)
        })
    }

    /// Where Go's decoder reports `src` corrupt (`None` if Go would decode it): quanta of four
    /// symbols, newlines skipped, `=` only as the last one or two symbols and nothing after.
    fn go_error_offset(&self, src: &[u8]) -> Option<usize> {
        let symbols = self.alphabet.as_str().as_bytes();
        let skip_newlines = |mut si: usize| {
            while si < src.len() && matches!(src[si], b'\n' | b'\r') {
                si += 1;
            }
            si
        };
        let mut si = 0;
        loop {
            let mut j = 0;
            while j < 4 {
                if si == src.len() {
                    return (j > 0).then_some(si - j);
                }
                let c = src[si];
                si += 1;
                if symbols.contains(&c) {
                    j += 1;
                    continue;
                }
                if c == b'\n' || c == b'\r' {
                    continue;
                }
                if c != b'=' || j < 2 {
                    return Some(si - 1);
                }
                if j == 2 {
                    // "==" is expected; the first "=" is read.
                    si = skip_newlines(si);
                    if si == src.len() {
                        return Some(src.len());
                    }
                    if src[si] != b'=' {
                        return Some(si - 1);
                    }
                    si += 1;
                }
                si = skip_newlines(si);
                return (si < src.len()).then_some(si);
            }
        }
    }
}
