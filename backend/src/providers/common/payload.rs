//! The hash that says whether a record changed: SHA-256 over the record's JSON with its
//! keys sorted (serde_json's maps are ordered by key), so the same data always gives the
//! same hash whatever order the provider sent its fields in.

use serde_json::Value;
use sha2::{Digest, Sha256};

pub fn hash(v: &Value) -> String {
    let canonical = serde_json::to_vec(&sorted(v)).unwrap_or_default();
    let digest = Sha256::digest(&canonical);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_hash_but_values_do() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
        let b: Value = serde_json::from_str(r#"{"a": {"x": "s", "y": [1, 2]}, "b": 1}"#).unwrap();
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(
            hash(&a),
            hash(&json!({"b": 2, "a": {"y": [1, 2], "x": "s"}}))
        );
        assert_eq!(hash(&a).len(), 64);
    }
}
