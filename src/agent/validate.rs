//! Consul's input limits on what is registered (hashicorp/consul `agent/structs`:
//! `ValidateServiceMetadata`, `validateMetaPair`, `metaKeyFormat`), with its words. Go checks
//! lengths in bytes although the messages say characters; so do we. Go walks a map in random
//! order, so with several bad pairs Consul names any one of them; we name the first by key.

use crate::consul::api::Map;

/// `metaMaxKeyPairs`.
pub const META_MAX_PAIRS: usize = 64;
/// `metaKeyMaxLength`.
pub const META_KEY_MAX: usize = 128;
/// `metaValueMaxLength`.
pub const META_VALUE_MAX: usize = 512;
/// `metaKeyReservedPrefix`.
const RESERVED_PREFIX: &str = "consul-";
/// The one `consul-` key a mesh gateway may carry (`structs.MetaWANFederationKey`).
const WAN_FEDERATION_KEY: &str = "consul-wan-federation";

/// `structs.ValidateServiceMetadata(kind, meta, false)`: the error text, which the agent's
/// endpoint answers 400 as `Invalid Service Meta: {text}`.
pub fn service_meta(kind: &str, meta: &Map) -> Result<(), String> {
    let allowed: &[&str] = if kind == "mesh-gateway" {
        &[WAN_FEDERATION_KEY]
    } else {
        &[]
    };
    metadata(meta, allowed)
}

/// `structs.ValidateNodeMetadata(meta, false)`: Consul checks a node's metadata when the agent
/// starts (`node_meta`, `-node-meta`) and answers `node_meta invalid: {text}`. (The catalog's
/// register endpoint takes a node's metadata as it comes, as Consul's does.)
pub fn node_meta(meta: &Map) -> Result<(), String> {
    metadata(meta, &[])
}

fn metadata(meta: &Map, allowed_consul_keys: &[&str]) -> Result<(), String> {
    if meta.len() > META_MAX_PAIRS {
        // Consul's words, "Node" included, for services too.
        return Err(format!(
            "Node metadata cannot contain more than {META_MAX_PAIRS} key/value pairs"
        ));
    }
    for (key, value) in meta {
        meta_pair(key, value, allowed_consul_keys)
            .map_err(|e| format!("Couldn't load metadata pair ('{key}', '{value}'): {e}"))?;
    }
    Ok(())
}

fn meta_pair(key: &str, value: &str, allowed_consul_keys: &[&str]) -> Result<(), String> {
    if key.is_empty() {
        return Err("Key cannot be blank".into());
    }
    // `^[a-zA-Z0-9_-]+$`
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("Key contains invalid characters".into());
    }
    if key.len() > META_KEY_MAX {
        return Err(format!(
            "Key is too long (limit: {META_KEY_MAX} characters)"
        ));
    }
    if key.starts_with(RESERVED_PREFIX) && !allowed_consul_keys.contains(&key) {
        return Err(format!(
            "Key prefix '{RESERVED_PREFIX}' is reserved for internal use"
        ));
    }
    if value.len() > META_VALUE_MAX {
        return Err(format!(
            "Value is too long (limit: {META_VALUE_MAX} characters)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(key: &str, value: &str) -> Result<(), String> {
        service_meta("", &Map::from([(key.to_string(), value.to_string())]))
    }

    #[test]
    fn consuls_meta_rules_and_words() {
        assert_eq!(one("version", &"v".repeat(512)), Ok(()));
        assert_eq!(
            one("v", &"x".repeat(513)),
            Err(format!(
                "Couldn't load metadata pair ('v', '{}'): Value is too long (limit: 512 characters)",
                "x".repeat(513)
            ))
        );
        assert_eq!(
            one("a!", "1"),
            Err("Couldn't load metadata pair ('a!', '1'): Key contains invalid characters".into())
        );
        assert_eq!(
            one("", "1"),
            Err("Couldn't load metadata pair ('', '1'): Key cannot be blank".into())
        );
        assert_eq!(
            one(&"k".repeat(129), "1"),
            Err(format!(
                "Couldn't load metadata pair ('{}', '1'): Key is too long (limit: 128 characters)",
                "k".repeat(129)
            ))
        );
        assert_eq!(
            one("consul-x", "1"),
            Err("Couldn't load metadata pair ('consul-x', '1'): Key prefix 'consul-' is reserved for internal use".into())
        );
        let wan = Map::from([("consul-wan-federation".to_string(), "1".to_string())]);
        assert_eq!(service_meta("mesh-gateway", &wan), Ok(()));
        assert!(service_meta("", &wan).is_err());
        let many: Map = (0..65).map(|i| (format!("k{i}"), "v".into())).collect();
        assert_eq!(
            service_meta("", &many),
            Err("Node metadata cannot contain more than 64 key/value pairs".into())
        );
        let enough: Map = (0..64).map(|i| (format!("k{i}"), "v".into())).collect();
        assert_eq!(service_meta("", &enough), Ok(()));
    }
}
