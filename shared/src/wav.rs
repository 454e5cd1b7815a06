//! WAV files for tools and tests: planar f32 in, planar f32 out (32-bit float or 16/24-bit PCM
//! on read). Never used on the audio thread.

use std::path::Path;

/// Planar audio: `channels[c][i]`, all channels the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub sample_rate: u32,
    pub channels: Vec<Vec<f32>>,
}

#[derive(Debug)]
pub enum WavError {
    Io(std::path::PathBuf, hound::Error),
    Empty(std::path::PathBuf),
}

impl std::fmt::Display for WavError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WavError::Io(p, e) => write!(f, "could not read or write WAV file {}: {e}", p.display()),
            WavError::Empty(p) => write!(f, "WAV file {} has no channels", p.display()),
        }
    }
}

impl std::error::Error for WavError {}

impl Audio {
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, |c| c.len())
    }
}

pub fn read(path: &Path) -> Result<Audio, WavError> {
    let err = |e| WavError::Io(path.to_owned(), e);
    let mut reader = hound::WavReader::open(path).map_err(err)?;
    let spec = reader.spec();
    let n = spec.channels as usize;
    if n == 0 {
        return Err(WavError::Empty(path.to_owned()));
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect::<Result<_, _>>().map_err(err)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(err)?
        }
    };
    let mut channels: Vec<Vec<f32>> = (0..n).map(|_| Vec::with_capacity(interleaved.len() / n)).collect();
    for frame in interleaved.chunks_exact(n) {
        for (c, s) in frame.iter().enumerate() {
            channels[c].push(*s);
        }
    }
    Ok(Audio { sample_rate: spec.sample_rate, channels })
}

/// Writes 32-bit float WAV.
pub fn write(path: &Path, audio: &Audio) -> Result<(), WavError> {
    let err = |e| WavError::Io(path.to_owned(), e);
    let spec = hound::WavSpec {
        channels: audio.channels.len() as u16,
        sample_rate: audio.sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(err)?;
    for i in 0..audio.frames() {
        for c in &audio.channels {
            w.write_sample(c[i]).map_err(err)?;
        }
    }
    w.finalize().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_round_trip_is_bit_exact() {
        let dir = std::env::temp_dir().join(format!("voirs-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("rt.wav");
        let a = Audio {
            sample_rate: 44_100,
            channels: vec![(0..999).map(|i| (i as f32).sin()).collect(), vec![0.25; 999]],
        };
        write(&p, &a).unwrap();
        assert_eq!(read(&p).unwrap(), a);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_file_is_a_readable_error() {
        let e = read(Path::new("/nonexistent/x.wav")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/x.wav"), "{e}");
    }
}
