//! Finds Kokoro's tensors in the folded safetensors file.
//!
//! Float initializers keep their ONNX names (state-dict names such as
//! `decoder.decoder.encode.conv1.bias`, or graph names such as `/decoder/decoder/encode/Mul_output_0`
//! for weight-normalised kernels the exporter computed). The file's `__metadata__.fold.consumers`
//! maps every tensor to the node that uses it (`"ConvInteger /decoder/decoder/encode/conv1/Conv_quant"`),
//! and node names follow the PyTorch module paths, so a layer's weight is looked up by the node
//! that consumes it.

use super::super::{ModelError, load_tensors};
use candle_core::{DType, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A convolution kernel as the integers `W_q − zero point` (`[out, in, k]`) and its scale.
pub(crate) struct IntKernel {
    pub w: Vec<i32>,
    pub dims: [usize; 3],
    pub scale: f32,
}

pub(crate) struct Weights {
    path: PathBuf,
    tensors: HashMap<String, Tensor>,
    /// Consumer ("Op node/name") → tensors it uses.
    by_consumer: HashMap<String, Vec<String>>,
    /// Per-tensor scales of the int8 weights (`fold.weight_scales`; absent in older folds).
    scales: HashMap<String, f32>,
    /// Whether convolutions that can run in 8-bit integers should ([`Weights::kernel_int`]).
    pub int8: bool,
}

impl Weights {
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let tensors = load_tensors(path)?;
        let format = |reason: String| ModelError::Format { path: path.to_owned(), reason };
        let header = read_header(path).map_err(|e| format(format!("cannot read the header: {e}")))?;
        let fold = header
            .get("__metadata__")
            .and_then(|m| m.get("fold"))
            .and_then(|f| f.as_str())
            .ok_or_else(|| format("no __metadata__.fold (not a `cargo xtask models` fold of the Kokoro ONNX)".into()))?;
        let fold: serde_json::Value = serde_json::from_str(fold).map_err(|e| format(format!("__metadata__.fold: {e}")))?;
        let consumers = fold
            .get("consumers")
            .and_then(|c| c.as_object())
            .ok_or_else(|| format("__metadata__.fold has no consumers map".into()))?;
        let mut by_consumer: HashMap<String, Vec<String>> = HashMap::new();
        for (tensor, node) in consumers {
            if let Some(node) = node.as_str() {
                by_consumer.entry(node.to_owned()).or_default().push(tensor.clone());
            }
        }
        let scales = fold
            .get("weight_scales")
            .and_then(|s| s.as_object())
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_f64()? as f32))).collect())
            .unwrap_or_default();
        Ok(Self { path: path.to_owned(), tensors, by_consumer, scales, int8: false })
    }

    fn format(&self, reason: String) -> ModelError {
        ModelError::Format { path: self.path.clone(), reason }
    }

    /// Tensor `name` as f32, checking its shape when one is given.
    pub fn named(&self, name: &str, shape: Option<&[usize]>) -> Result<Tensor, ModelError> {
        let t = self.tensors.get(name).ok_or_else(|| self.format(format!("tensor {name} is missing")))?;
        if let Some(shape) = shape
            && t.dims() != shape
        {
            return Err(self.format(format!("tensor {name} has shape {:?}, expected {shape:?}", t.dims())));
        }
        Ok(t.to_dtype(DType::F32)?)
    }

    /// The one tensor used by `consumer` whose shape satisfies `pick`.
    pub fn used_by(&self, consumer: &str, pick: impl Fn(&[usize]) -> bool) -> Result<Tensor, ModelError> {
        self.named(self.name_used_by(consumer, pick)?, None)
    }

    fn name_used_by(&self, consumer: &str, pick: impl Fn(&[usize]) -> bool) -> Result<&str, ModelError> {
        let names = self.by_consumer.get(consumer).map(Vec::as_slice).unwrap_or(&[]);
        let found: Vec<&String> = names.iter().filter(|n| self.tensors.get(*n).is_some_and(|t| pick(t.dims()))).collect();
        match found.as_slice() {
            [one] => Ok(one.as_str()),
            [] => Err(self.format(format!("no tensor of the expected shape is used by {consumer}"))),
            _ => Err(self.format(format!("{} tensors of the expected shape are used by {consumer}", found.len()))),
        }
    }

    /// The 3-d kernel used by a Conv/ConvInteger/ConvTranspose node.
    pub fn kernel(&self, consumer: &str) -> Result<Tensor, ModelError> {
        self.used_by(consumer, |d| d.len() == 3)
    }

    /// The kernel of a ConvInteger node as the integers `W_q − zero_point` and its scale, when
    /// 8-bit arithmetic was asked for ([`Weights::int8`]), this CPU has the integer kernel and
    /// the file records the weight's scale. `None` means: convolve in float.
    pub fn kernel_int(&self, consumer: &str) -> Result<Option<IntKernel>, ModelError> {
        if !self.int8 || !crate::neural::qconv::vnni_available() {
            return Ok(None);
        }
        let name = self.name_used_by(consumer, |d| d.len() == 3)?;
        let Some(&scale) = self.scales.get(name) else { return Ok(None) };
        let w = self.named(name, None)?;
        let dims = w.dims3()?;
        let values: Vec<f32> = w.flatten_all()?.to_vec1()?;
        let mut ints = Vec::with_capacity(values.len());
        for v in values {
            let q = v / scale;
            let r = crate::neural::qconv::round_half_even(q);
            // The fold wrote (W_q − zp) · scale in f32: dividing gives the integer back to well
            // within a thousandth; anything else is not this fold's weight.
            if (q - r).abs() > 1e-3 || r.abs() > 255.0 {
                return Err(self.format(format!("{name} is not an 8-bit kernel times its recorded scale {scale}")));
            }
            ints.push(r as i32);
        }
        Ok(Some(IntKernel { w: ints, dims: [dims.0, dims.1, dims.2], scale }))
    }
}

fn read_header(path: &Path) -> std::io::Result<serde_json::Value> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut n = [0u8; 8];
    f.read_exact(&mut n)?;
    let n = u64::from_le_bytes(n);
    if n > 100 << 20 {
        return Err(std::io::Error::other("header larger than 100 MB"));
    }
    let mut buf = vec![0u8; n as usize];
    f.read_exact(&mut buf)?;
    serde_json::from_slice(&buf).map_err(std::io::Error::other)
}
