//! Neural models in candle, loaded from the safetensors files `cargo xtask models` installs.
//! Inference allocates (candle does per op), so it runs on the inference pool
//! (`rt::pool`), never on the audio thread.

pub mod convert;
pub mod crepe;
pub mod kokoro;
pub mod qconv;
pub mod speaker;
pub mod vad;

/// Why a model could not be loaded or run, in words a user can act on.
#[derive(Debug)]
pub enum ModelError {
    Missing { path: std::path::PathBuf },
    Format { path: std::path::PathBuf, reason: String },
    Run(candle_core::Error),
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelError::Missing { path } => {
                write!(f, "model file {} is missing; run `cargo xtask models` to fetch the models", path.display())
            }
            ModelError::Format { path, reason } => write!(f, "model file {} is not usable: {reason}", path.display()),
            ModelError::Run(e) => write!(f, "model inference failed: {e}"),
        }
    }
}

impl std::error::Error for ModelError {}

impl From<candle_core::Error> for ModelError {
    fn from(e: candle_core::Error) -> Self {
        ModelError::Run(e)
    }
}

/// Loads every tensor of a safetensors file onto the CPU.
pub(crate) fn load_tensors(path: &std::path::Path) -> Result<std::collections::HashMap<String, candle_core::Tensor>, ModelError> {
    if !path.exists() {
        return Err(ModelError::Missing { path: path.to_owned() });
    }
    candle_core::safetensors::load(path, &candle_core::Device::Cpu)
        .map_err(|e| ModelError::Format { path: path.to_owned(), reason: e.to_string() })
}

/// Removes tensor `name` from a loaded file as f32, checking its shape when one is given: a
/// missing or misshapen tensor is a `Format` error naming the file and the tensor.
pub(crate) fn take(
    t: &mut std::collections::HashMap<String, candle_core::Tensor>,
    path: &std::path::Path,
    name: &str,
    shape: Option<&[usize]>,
) -> Result<candle_core::Tensor, ModelError> {
    let format = |reason: String| ModelError::Format { path: path.to_owned(), reason };
    let x = t.remove(name).ok_or_else(|| format(format!("tensor {name} is missing")))?;
    if let Some(shape) = shape
        && x.dims() != shape
    {
        return Err(format(format!("tensor {name} has shape {:?}, expected {shape:?}", x.dims())));
    }
    Ok(x.to_dtype(candle_core::DType::F32)?)
}
