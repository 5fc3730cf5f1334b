//! Hashes: `sha256Hex`, `md5sum`, `hmacSHA256Hex` (and sprig's `sha256sum` through
//! [`sha256_hex`]), printed as lower-case hex as Go's `hex.EncodeToString` does.
//!
//! The RustCrypto crates (`sha2`, `md-5`, `hmac`) compute the digests.

use std::fmt::Write as _;

use hmac::{Hmac, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};

use super::{bytes_arg, def};
use crate::gotmpl::{Arity, FuncMap, Value};

pub(super) fn register(funcs: &mut FuncMap) {
    def(funcs, "sha256Hex", Arity::Exact(1), |a| {
        Ok(Value::from(sha256_hex(bytes_arg(&a[0])?)))
    });
    def(funcs, "md5sum", Arity::Exact(1), |a| {
        Ok(Value::from(hex(&Md5::digest(bytes_arg(&a[0])?))))
    });
    // The message first, the (piped) key last.
    def(funcs, "hmacSHA256Hex", Arity::Exact(2), |a| {
        let (msg, key) = (bytes_arg(&a[0])?, bytes_arg(&a[1])?);
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any size");
        mac.update(msg);
        Ok(Value::from(hex(&mac.finalize().into_bytes())))
    });
}

/// SHA-256 of `data` in lower-case hex.
pub(super) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
