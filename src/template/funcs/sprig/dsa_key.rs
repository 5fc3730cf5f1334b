//! sprig's DSA keys: `genPrivateKey "dsa"` (Go's `dsa.GenerateParameters` with `L2048N256`,
//! then `dsa.GenerateKey`; here the RustCrypto `dsa` crate) written as sprig's
//! `pemBlockForKey` does, `asn1.Marshal` of its `DSAKeyFormat{Version, P, Q, G, Y, X}` in a
//! `DSA PRIVATE KEY` block; and `parsePrivateKeyPEM`'s reading of such a block, Go's
//! `asn1.Unmarshal` into that struct, with encoding/asn1's error texts (Go 1.23), because the
//! certificate functions print them after sprig's prefix.
//!
//! Go reads the struct leniently: trailing bytes after it and extra elements inside it are
//! ignored, and the integers may be negative; nothing checks that they make a usable key.

/// A DSA private key as `DSAKeyFormat` holds it: the version and the DER contents of the
/// five integers `P, Q, G, Y, X` (two's complement, as read).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct DsaKey {
    version: i64,
    integers: [Vec<u8>; 5],
}

impl DsaKey {
    /// A new key with fresh 2048/256-bit parameters.
    pub(super) fn generate() -> DsaKey {
        use dsa::{Components, KeySize, SigningKey};
        let mut rng = rand_core::OsRng;
        let components = Components::generate(&mut rng, KeySize::DSA_2048_256);
        let key = SigningKey::generate(&mut rng, components);
        let public = key.verifying_key();
        let c = public.components();
        let positive = |n: &dsa::BigUint| minimal_positive(&n.to_bytes_be());
        DsaKey {
            version: 0,
            integers: [
                positive(c.p()),
                positive(c.q()),
                positive(c.g()),
                positive(public.y()),
                positive(key.x()),
            ],
        }
    }

    /// Go's `asn1.Marshal(DSAKeyFormat{…})`.
    pub(super) fn to_der(&self) -> Vec<u8> {
        let mut body = der_element(0x02, &int64_contents(self.version));
        for n in &self.integers {
            body.extend(der_element(0x02, n));
        }
        der_element(0x30, &body)
    }

    /// Go's `asn1.Unmarshal(der, &DSAKeyFormat{})`, errors worded as encoding/asn1 words them.
    pub(super) fn from_der(der: &[u8]) -> Result<DsaKey, String> {
        let (seq, _) = field(der, 0, Expect::Sequence)?;
        let (version, mut offset) = field(seq, 0, Expect::Int)?;
        let version = parse_int64(version)?;
        let mut integers: [Vec<u8>; 5] = Default::default();
        for n in &mut integers {
            let (contents, next) = field(seq, offset, Expect::BigInt)?;
            check_integer(contents)?;
            *n = contents.to_vec();
            offset = next;
        }
        Ok(DsaKey { version, integers })
    }
}

/// The DER contents of a non-negative integer from its big-endian bytes.
fn minimal_positive(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let mut out = bytes[start..].to_vec();
    if out.first().is_none_or(|b| b & 0x80 != 0) {
        out.insert(0, 0);
    }
    out
}

/// Go's `asn1` encoding of an `int`: the shortest two's complement.
fn int64_contents(n: i64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    bytes[start..].to_vec()
}

fn der_element(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let start = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - start) as u8);
        out.extend_from_slice(&bytes[start..]);
    }
    out.extend_from_slice(contents);
    out
}

/// What `parseField` expects at a position of `DSAKeyFormat`.
#[derive(Clone, Copy)]
enum Expect {
    /// The struct itself (Go type name `DSAKeyFormat`).
    Sequence,
    /// `Version int`.
    Int,
    /// A `*big.Int` (whose Go type has no name).
    BigInt,
}

impl Expect {
    fn tag(self) -> usize {
        match self {
            Expect::Sequence => 16,
            Expect::Int | Expect::BigInt => 2,
        }
    }

    fn compound(self) -> bool {
        matches!(self, Expect::Sequence)
    }

    fn go_type_name(self) -> &'static str {
        match self {
            Expect::Sequence => "DSAKeyFormat",
            Expect::Int => "int",
            Expect::BigInt => "",
        }
    }
}

/// Go's `tagAndLength`.
struct TagAndLength {
    class: usize,
    tag: usize,
    length: usize,
    compound: bool,
}

fn structure(msg: &str) -> String {
    format!("asn1: structure error: {msg}")
}

fn syntax(msg: &str) -> String {
    format!("asn1: syntax error: {msg}")
}

/// encoding/asn1's `parseField` for one element at `offset`: its contents and the offset after
/// it.
fn field(bytes: &[u8], offset: usize, expect: Expect) -> Result<(&[u8], usize), String> {
    if offset == bytes.len() {
        return Err(syntax("sequence truncated"));
    }
    let (t, offset) = tag_and_length(bytes, offset)?;
    if t.class != 0 || t.tag != expect.tag() || t.compound != expect.compound() {
        return Err(structure(&format!(
            "tags don't match ({} vs {{class:{} tag:{} length:{} isCompound:{}}}) {{optional:false \
             explicit:false application:false private:false defaultValue:<nil> tag:<nil> \
             stringType:0 timeType:0 set:false omitEmpty:false}} {} @{offset}",
            expect.tag(),
            t.class,
            t.tag,
            t.length,
            t.compound,
            expect.go_type_name(),
        )));
    }
    match offset.checked_add(t.length) {
        Some(end) if end <= bytes.len() => Ok((&bytes[offset..end], end)),
        _ => Err(syntax("data truncated")),
    }
}

/// encoding/asn1's `parseTagAndLength`.
fn tag_and_length(bytes: &[u8], mut offset: usize) -> Result<(TagAndLength, usize), String> {
    let b = bytes[offset];
    offset += 1;
    let mut t = TagAndLength {
        class: usize::from(b >> 6),
        tag: usize::from(b & 0x1f),
        length: 0,
        compound: b & 0x20 != 0,
    };
    if t.tag == 0x1f {
        (t.tag, offset) = base128(bytes, offset)?;
        if t.tag < 0x1f {
            return Err(syntax("non-minimal tag"));
        }
    }
    let Some(&b) = bytes.get(offset) else {
        return Err(syntax("truncated tag or length"));
    };
    offset += 1;
    if b & 0x80 == 0 {
        t.length = usize::from(b & 0x7f);
        return Ok((t, offset));
    }
    let count = usize::from(b & 0x7f);
    if count == 0 {
        return Err(syntax("indefinite length found (not DER)"));
    }
    for _ in 0..count {
        let Some(&b) = bytes.get(offset) else {
            return Err(syntax("truncated tag or length"));
        };
        offset += 1;
        if t.length >= 1 << 23 {
            return Err(structure("length too large"));
        }
        t.length = (t.length << 8) | usize::from(b);
        if t.length == 0 {
            return Err(structure("superfluous leading zeros in length"));
        }
    }
    if t.length < 0x80 {
        return Err(structure("non-minimal length"));
    }
    Ok((t, offset))
}

/// encoding/asn1's `parseBase128Int` (a high tag number).
fn base128(bytes: &[u8], mut offset: usize) -> Result<(usize, usize), String> {
    let mut value: i64 = 0;
    let mut shifted = 0;
    while let Some(&b) = bytes.get(offset) {
        if shifted == 5 {
            return Err(structure("base 128 integer too large"));
        }
        if shifted == 0 && b == 0x80 {
            return Err(syntax("integer is not minimally encoded"));
        }
        value = (value << 7) | i64::from(b & 0x7f);
        offset += 1;
        shifted += 1;
        if b & 0x80 == 0 {
            if value > i64::from(i32::MAX) {
                return Err(structure("base 128 integer too large"));
            }
            return Ok((value as usize, offset));
        }
    }
    Err(syntax("truncated base 128 integer"))
}

/// encoding/asn1's `checkInteger`: not empty, and minimally encoded.
fn check_integer(bytes: &[u8]) -> Result<(), String> {
    match bytes {
        [] => Err(structure("empty integer")),
        [0, b, ..] if b & 0x80 == 0 => Err(structure("integer not minimally-encoded")),
        [0xff, b, ..] if b & 0x80 != 0 => Err(structure("integer not minimally-encoded")),
        _ => Ok(()),
    }
}

/// encoding/asn1's `parseInt64` (Go's `int` is 64 bits here).
fn parse_int64(bytes: &[u8]) -> Result<i64, String> {
    check_integer(bytes)?;
    if bytes.len() > 8 {
        return Err(structure("integer too large"));
    }
    let unsigned = bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
    let shift = 64 - 8 * bytes.len() as u32;
    Ok(((unsigned << shift) as i64) >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_round_trips_and_rejects_as_go_does() {
        let key = DsaKey {
            version: 0,
            integers: [vec![0x00, 0x80], vec![1], vec![2], vec![3], vec![0x7f]],
        };
        let der = key.to_der();
        assert_eq!(
            der,
            [0x30, 0x13, 2, 1, 0, 2, 2, 0, 0x80, 2, 1, 1, 2, 1, 2, 2, 1, 3, 2, 1, 0x7f]
        );
        assert_eq!(DsaKey::from_der(&der).unwrap(), key);
        // Trailing bytes after the struct and extra elements inside it are ignored.
        let mut longer = der.clone();
        longer.extend([0xde, 0xad]);
        assert_eq!(DsaKey::from_der(&longer).unwrap(), key);
        assert_eq!(
            DsaKey::from_der(&[]).unwrap_err(),
            "asn1: syntax error: sequence truncated"
        );
        assert_eq!(
            DsaKey::from_der(&[0x30, 0x03, 2, 1, 0]).unwrap_err(),
            "asn1: syntax error: sequence truncated"
        );
        assert_eq!(
            DsaKey::from_der(&[0x30, 0x05, 2, 1]).unwrap_err(),
            "asn1: syntax error: data truncated"
        );
        assert_eq!(
            DsaKey::from_der(&[0x30, 0x04, 2, 2, 0, 1]).unwrap_err(),
            "asn1: structure error: integer not minimally-encoded"
        );
        assert_eq!(
            DsaKey::from_der(&[0x30, 0x80]).unwrap_err(),
            "asn1: syntax error: indefinite length found (not DER)"
        );
        assert_eq!(int64_contents(0), [0]);
        assert_eq!(int64_contents(-1), [0xff]);
        assert_eq!(int64_contents(128), [0, 0x80]);
        assert_eq!(parse_int64(&[0xff, 0x7f]).unwrap(), -129);
    }
}
