//! The bytes a VoiRS plugin saves through the CLAP state extension: an 8-byte little-endian
//! length, then that many bytes of JSON `{"version", "params", "fields"}`, where each entry of
//! `fields` is itself a JSON text (the plugin's persisted non-parameter data, e.g. `schema`).
//! These helpers let tests and tools read and edit saved states the way a preset file would be
//! edited by a user or produced by an older build.

use crate::error::{Context, Error, Result};
use serde_json::Value;

/// Splits saved state into its JSON document. Fails when the length prefix does not match.
pub fn parse(bytes: &[u8]) -> Result<Value> {
    if bytes.len() < 8 {
        crate::bail!("state of {} bytes is shorter than its length prefix", bytes.len());
    }
    let len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let body = &bytes[8..];
    if body.len() != len {
        crate::bail!("state says {len} bytes of JSON but has {}", body.len());
    }
    serde_json::from_slice(body).context(|| "state is not JSON".to_owned())
}

/// Serialises a JSON document with the length prefix the plugin expects.
pub fn encode(doc: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(doc).expect("a JSON value always serialises");
    let mut out = (body.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// Wraps arbitrary bytes (valid JSON or not) with a correct length prefix.
pub fn with_prefix(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// A persisted field's value, decoded from its JSON text.
pub fn field(doc: &Value, name: &str) -> Option<Value> {
    let text = doc.get("fields")?.get(name)?.as_str()?;
    serde_json::from_str(text).ok()
}

/// Sets a persisted field to `value` (stored as JSON text, as the plugin stores it).
pub fn set_field(doc: &mut Value, name: &str, value: &Value) -> Result<()> {
    let fields = doc
        .get_mut("fields")
        .and_then(Value::as_object_mut)
        .context(|| "state has no fields object".to_owned())?;
    fields.insert(name.to_owned(), Value::String(value.to_string()));
    Ok(())
}

pub fn remove_field(doc: &mut Value, name: &str) -> Option<Value> {
    doc.get_mut("fields")?.as_object_mut()?.remove(name)
}

/// A parameter's saved plain value.
pub fn param(doc: &Value, id: &str) -> Option<Value> {
    doc.get("params")?.get(id).cloned()
}

pub fn set_param(doc: &mut Value, id: &str, value: Value) -> Result<()> {
    let params = doc
        .get_mut("params")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| Error::new("state has no params object"))?;
    params.insert(id.to_owned(), value);
    Ok(())
}
