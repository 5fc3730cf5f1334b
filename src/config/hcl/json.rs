//! JSON config documents into the same tree as HCL, keeping object keys (and repeated keys) in
//! order.

use std::fmt;

use super::lexer::Pos;
use super::parser::key_at;
use super::{Key, Node, Tree};
use crate::config::{ConfigError, Result};

/// serde_json into the tree, keeping object keys in order (and repeated keys, which serde_json
/// hands over one by one). JSON has no positions here; errors name the key path instead.
///
/// HCL1 reads JSON with its own parser, which we do not copy where it misbehaves: it turns an
/// object whose values are all objects into one block per value, so consul-template reads
/// `{"consul": {"retry": {…}, "ssl": {…}}}` as two `consul` blocks and keeps only `ssl`, and
/// `"template": [{"wait": {…}, "exec": {…}}]` as two templates; it drops booleans from mixed
/// arrays, panics on surrogate-pair escapes and ignores text after the document. Here a JSON
/// object is one block, always.
struct JsonNode(Node);

impl<'de> serde::Deserialize<'de> for JsonNode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> serde::de::Visitor<'de> for JsonVisitor {
    type Value = JsonNode;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<JsonNode, E> {
        Ok(JsonNode(Tree::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<JsonNode, E> {
        Ok(JsonNode(Tree::Int(v)))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<JsonNode, E> {
        i64::try_from(v)
            .map(|i| JsonNode(Tree::Int(i)))
            .map_err(|_| E::custom(format!("number out of range: {v}")))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<JsonNode, E> {
        Ok(JsonNode(Tree::Float(v)))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<JsonNode, E> {
        Ok(JsonNode(Tree::Str(v.to_string())))
    }

    /// HCL1's JSON reader turns `null` into an empty string.
    fn visit_unit<E>(self) -> std::result::Result<JsonNode, E> {
        Ok(JsonNode(Tree::Str(String::new())))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<JsonNode, A::Error> {
        let mut items = Vec::new();
        while let Some(JsonNode(n)) = seq.next_element()? {
            items.push(n);
        }
        Ok(JsonNode(Tree::List(items)))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<JsonNode, A::Error> {
        let mut entries = Vec::new();
        while let Some((name, JsonNode(v))) = map.next_entry::<String, JsonNode>()? {
            entries.push((key_at(name, Pos { line: 0, col: 0 }), v));
        }
        Ok(JsonNode(Tree::Object(entries)))
    }
}

pub(super) fn json_entries(file: &str, text: &str) -> Result<Vec<(Key, Node)>> {
    match serde_json::from_str::<JsonNode>(text) {
        Ok(JsonNode(Tree::Object(entries))) => Ok(entries),
        Ok(_) => Err(ConfigError(format!(
            "{file}: a JSON config must be an object"
        ))),
        Err(e) => {
            let msg = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let msg = msg.strip_suffix(&suffix).unwrap_or(&msg);
            Err(ConfigError(format!(
                "{file}:{}:{}: {msg}",
                e.line(),
                e.column()
            )))
        }
    }
}
