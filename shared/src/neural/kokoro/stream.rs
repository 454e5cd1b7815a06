//! Long text to speech, sentence by sentence: the text front end reads the whole text, cuts it
//! into sentences (`phonetics::kokoro::sentences`; a sentence over Kokoro's 510 symbols at its
//! phrases), and each piece is synthesised and handed to the caller before the next starts, so
//! the first sentence can play (or be placed on the timeline) while the rest renders. Each
//! piece comes with the time of every word in it, from the durations the model predicted.
//!
//! The network normalises each layer over the whole utterance it is given (instance
//! normalisation in the decoder), so a piece cannot be split further without changing its
//! sound: the sentence is the unit of streaming, and time to first audio is the time to
//! synthesise the first sentence.

use super::{Kokoro, Options, SAMPLE_RATE, SAMPLES_PER_FRAME, Speech, Style, Vocab};
use crate::neural::ModelError;
use crate::phonetics::{FrontEnd, kokoro as kmap};
use std::ops::Range;

/// When a word is said.
#[derive(Clone, Debug, PartialEq)]
pub struct WordTiming {
    /// Index into the utterance's words.
    pub word: usize,
    /// The word as said.
    pub text: String,
    /// Byte range of the input text it was read from.
    pub span: Range<usize>,
    /// Start and end in seconds from the start of the whole text's audio.
    pub start_s: f64,
    pub end_s: f64,
}

/// One synthesised piece of the text.
pub struct Sentence {
    /// 0, 1, 2… in reading order.
    pub index: usize,
    /// Its Kokoro phonemes.
    pub phonemes: String,
    /// Where its audio starts in the whole text's audio (pieces follow each other directly).
    pub start_s: f64,
    pub words: Vec<WordTiming>,
    /// The audio (24 kHz) and the prosody that made it.
    pub speech: Speech,
}

/// Reads `text` with `front` and synthesises it piece by piece; `style_for(n)` gives the style
/// for a piece of `n` phonemes (a voice's row, or a blend). `each` receives every piece as soon
/// as it is rendered and returns `false` to stop. Returns the number of pieces rendered.
pub fn speak_text(
    model: &Kokoro,
    vocab: &Vocab,
    front: &FrontEnd,
    text: &str,
    style_for: impl Fn(usize) -> Option<Style>,
    opts: &Options,
    mut each: impl FnMut(Sentence) -> bool,
) -> Result<usize, ModelError> {
    let u = front.analyze(text);
    let mut start_s = 0.0;
    let mut count = 0;
    for (index, piece) in kmap::sentences(&u, super::MAX_PHONEMES).into_iter().enumerate() {
        let phonemes: String = piece.symbols.iter().map(|s| s.symbol).collect();
        if phonemes.trim().is_empty() {
            continue;
        }
        let ids = vocab.encode(&phonemes).map_err(|bad| ModelError::Format { path: Default::default(), reason: format!("symbols outside Kokoro's alphabet: {}", bad.iter().collect::<String>()) })?;
        let style = style_for(ids.len()).ok_or_else(|| ModelError::Format { path: Default::default(), reason: "no style for this voice".into() })?;
        let speech = model.synthesize(&ids, &style, opts)?;
        // Token i + 1 is symbol i (token 0 and the last are the boundaries).
        let frame_s = SAMPLES_PER_FRAME as f64 / SAMPLE_RATE as f64;
        let mut frame = speech.durations.first().copied().unwrap_or(0) as usize;
        let mut words: Vec<WordTiming> = Vec::new();
        for (sym, d) in piece.symbols.iter().zip(speech.durations.iter().skip(1)) {
            let (t0, t1) = (start_s + frame as f64 * frame_s, start_s + (frame + *d as usize) as f64 * frame_s);
            if let Some(w) = sym.word {
                match words.last_mut() {
                    Some(last) if last.word == w => last.end_s = t1,
                    _ => words.push(WordTiming { word: w, text: u.words[w].text.clone(), span: u.words[w].span.clone(), start_s: t0, end_s: t1 }),
                }
            }
            frame += *d as usize;
        }
        let seconds = speech.audio.len() as f64 / SAMPLE_RATE as f64;
        count += 1;
        let go_on = each(Sentence { index, phonemes, start_s, words, speech });
        start_s += seconds;
        if !go_on {
            break;
        }
    }
    Ok(count)
}
