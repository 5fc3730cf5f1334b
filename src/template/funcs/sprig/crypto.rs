//! sprig's crypto functions that need no certificates: `bcrypt` and `htpasswd` (the `bcrypt`
//! crate, in Go's `$2a$` form and cost 10), `derivePassword` (the Master Password algorithm on
//! the `scrypt` crate), and `encryptAES`/`decryptAES` (AES-256-CBC with a random IV in front and
//! PKCS#7 padding, base64; the `aes` crate's block cipher, chained here as Go's `cipher.CBC`
//! does, so that Go's panics on bad input can be reported with Go's text).

use aes::cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes256;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::sdef;
use crate::gotmpl::{Arity, FuncError, FuncMap, Value};
use crate::template::funcs::encoding::base64::STD;
use crate::template::funcs::{bytes_arg, int_arg, string_arg, Res};

pub(super) fn register(funcs: &mut FuncMap) {
    use Arity::Exact;
    sdef(funcs, "bcrypt", Exact(1), |a| {
        Ok(Value::from(bcrypt_hash(bytes_arg(&a[0])?)))
    });
    sdef(funcs, "htpasswd", Exact(2), |a| {
        let user = string_arg(&a[0])?;
        if user.contains(':') {
            return Ok(Value::from(format!("invalid username: {user}")));
        }
        Ok(Value::from(format!(
            "{user}:{}",
            bcrypt_hash(bytes_arg(&a[1])?)
        )))
    });
    sdef(funcs, "derivePassword", Exact(5), |a| {
        let counter = match &a[0] {
            Value::Uint(u) => u32::try_from(*u).ok(),
            v => u32::try_from(int_arg(v)?).ok(),
        }
        .ok_or_else(|| FuncError(format!("{} overflows uint32", a[0].to_go_string())))?;
        let strings = a[1..]
            .iter()
            .map(|v| bytes_arg(v).map(<[u8]>::to_vec))
            .collect::<Result<Vec<_>, _>>()?;
        let [kind, password, user, site] = &strings[..] else {
            unreachable!("arity is checked")
        };
        Ok(Value::from(derive_password(
            counter,
            &String::from_utf8_lossy(kind),
            password,
            user,
            site,
        )))
    });
    sdef(funcs, "encryptAES", Exact(2), |a| {
        let (password, plain) = (bytes_arg(&a[0])?, bytes_arg(&a[1])?);
        Ok(Value::from(encrypt_aes(password, plain)))
    });
    sdef(funcs, "decryptAES", Exact(2), |a| {
        let (password, coded) = (bytes_arg(&a[0])?, bytes_arg(&a[1])?);
        decrypt_aes(password, coded)
    });
}

/// x/crypto's `GenerateFromPassword(p, DefaultCost)`: `$2a$10$…`. Passwords over 72 bytes are
/// refused, as x/crypto does since v0.29 (consul-template's); sprig prints the error.
fn bcrypt_hash(password: &[u8]) -> String {
    if password.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .into();
    }
    match bcrypt::hash_with_result(password, 10) {
        Ok(parts) => parts.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

const MASTER_PASSWORD_SEED: &[u8] = b"com.lyndir.masterpassword";

/// The password templates of each kind, and what each template letter may become.
fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_characters(letter: u8) -> &'static [u8] {
    match letter {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// sprig's `derivePassword` (Master Password v3): scrypt(password, seed‖len(user)‖user) keys an
/// HMAC-SHA256 of seed‖len(site)‖site‖counter, whose bytes pick a template and its characters.
fn derive_password(counter: u32, kind: &str, password: &[u8], user: &[u8], site: &[u8]) -> String {
    let Some(templates) = password_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let salted = |name: &[u8]| {
        let mut b = MASTER_PASSWORD_SEED.to_vec();
        b.extend_from_slice(&(name.len() as u32).to_be_bytes());
        b.extend_from_slice(name);
        b
    };
    let params = scrypt::Params::new(15, 8, 2, 64).expect("Master Password's scrypt parameters");
    let mut key = [0u8; 64];
    if let Err(e) = scrypt::scrypt(password, &salted(user), &params, &mut key) {
        return format!("failed to derive password: {e}");
    }
    let mut message = salted(site);
    message.extend_from_slice(&counter.to_be_bytes());
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes a key of any size");
    mac.update(&message);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(i, letter)| {
            let chars = template_characters(letter);
            char::from(chars[usize::from(seed[i + 1]) % chars.len()])
        })
        .collect()
}

/// The password as an AES-256 key: its first 32 bytes, zero-padded.
fn aes_key(password: &[u8]) -> Aes256 {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password[..n]);
    Aes256::new(GenericArray::from_slice(&key))
}

fn encrypt_aes(password: &[u8], plain: &[u8]) -> String {
    if plain.is_empty() {
        return String::new();
    }
    let cipher = aes_key(password);
    let padding = 16 - plain.len() % 16;
    let mut content = plain.to_vec();
    content.extend(std::iter::repeat_n(padding as u8, padding));
    let mut iv = [0u8; 16];
    getrandom::fill(&mut iv).expect("the OS gives random bytes");
    let mut out = iv.to_vec();
    let mut prev = iv;
    for block in content.chunks(16) {
        let mut b = [0u8; 16];
        for (i, byte) in b.iter_mut().enumerate() {
            *byte = block[i] ^ prev[i];
        }
        let mut ga = GenericArray::from(b);
        cipher.encrypt_block(&mut ga);
        prev.copy_from_slice(&ga);
        out.extend_from_slice(&ga);
    }
    STD.encode(&out)
}

fn decrypt_aes(password: &[u8], coded: &[u8]) -> Res {
    if coded.is_empty() {
        return Ok(Value::str(""));
    }
    let crypt = STD
        .decode(coded)
        .map_err(|at| FuncError(format!("illegal base64 data at input byte {at}")))?;
    if crypt.len() < 16 {
        return Err(FuncError(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        )));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err(FuncError("crypto/cipher: input not full blocks".into()));
    }
    if body.is_empty() {
        return Err(FuncError("runtime error: index out of range [-1]".into()));
    }
    let cipher = aes_key(password);
    let mut plain = Vec::with_capacity(body.len());
    let mut prev: &[u8] = iv;
    for block in body.chunks(16) {
        let mut ga = GenericArray::clone_from_slice(block);
        cipher.decrypt_block(&mut ga);
        plain.extend(ga.iter().zip(prev).map(|(b, p)| b ^ p));
        prev = block;
    }
    let pad = usize::from(plain[plain.len() - 1]);
    if pad > plain.len() {
        return Err(FuncError(format!(
            "runtime error: slice bounds out of range [:{}]",
            plain.len() as i64 - pad as i64
        )));
    }
    Ok(Value::from_bytes(&plain[..plain.len() - pad]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_round_trips_with_a_fresh_iv() {
        let a = encrypt_aes(b"secret", b"hello world, 16+ bytes");
        let b = encrypt_aes(b"secret", b"hello world, 16+ bytes");
        assert_ne!(a, b, "a random IV each time");
        let back = decrypt_aes(b"secret", a.as_bytes()).unwrap();
        assert_eq!(back.as_str(), Some("hello world, 16+ bytes"));
    }

    #[test]
    fn bcrypt_hashes_verify_and_use_gos_prefix() {
        let h = bcrypt_hash(b"pw");
        assert!(h.starts_with("$2a$10$"), "{h}");
        assert_eq!(h.len(), 60);
        assert!(bcrypt::verify("pw", &h).unwrap());
        assert!(bcrypt_hash(&[b'x'; 73]).contains("password length exceeds 72 bytes"));
    }
}
