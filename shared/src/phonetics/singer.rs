//! ARPAbet → the Singer's phoneme inventory: each phoneme with its IPA symbol, class, voicing,
//! a typical duration, and for vowels the formant targets the vowel synthesiser can glide
//! between. Lyrics come out syllable by syllable (onset, nucleus, coda), the unit the Singer
//! places on notes: the nucleus carries the note, the onset goes before the beat, the coda
//! at its end.
//!
//! Durations are typical values at a normal speaking rate (after Klatt's 1979 inherent segment
//! durations): consonants keep about these lengths in singing, vowels stretch to the note.
//! Formants are adult male F1/F2 (Hillenbrand et al. 1995; /e/ and /o/ for the starts of eɪ and
//! oʊ, a mid-central schwa for unstressed AH); a diphthong has a start and an end target.

use super::arpabet::{Arpa, Phoneme, Stress};
use super::Utterance;

/// Phoneme classes, for how the Singer shapes each sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Vowel,
    Diphthong,
    Nasal,
    Liquid,
    Glide,
    Fricative,
    Plosive,
    Affricate,
}

/// One phoneme of the Singer's inventory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SingerPhoneme {
    pub arpa: Arpa,
    /// IPA.
    pub symbol: &'static str,
    pub class: Class,
    pub voiced: bool,
    /// Typical duration in milliseconds.
    pub duration_ms: f32,
    /// (F1, F2) in Hz at the start of a vowel or diphthong.
    pub formants: Option<(f32, f32)>,
    /// (F1, F2) in Hz at the end of a diphthong.
    pub formants_end: Option<(f32, f32)>,
}

const F_I: (f32, f32) = (342.0, 2322.0);
const F_IH: (f32, f32) = (427.0, 2034.0);
const F_E: (f32, f32) = (476.0, 2089.0);
const F_EH: (f32, f32) = (580.0, 1799.0);
const F_AE: (f32, f32) = (588.0, 1952.0);
const F_AA: (f32, f32) = (768.0, 1333.0);
const F_AO: (f32, f32) = (652.0, 997.0);
const F_O: (f32, f32) = (497.0, 910.0);
const F_UH: (f32, f32) = (469.0, 1122.0);
const F_U: (f32, f32) = (378.0, 997.0);
const F_AH: (f32, f32) = (623.0, 1200.0);
const F_SCHWA: (f32, f32) = (500.0, 1500.0);
const F_ER: (f32, f32) = (474.0, 1379.0);

/// The inventory entry of an ARPAbet phoneme; unstressed AH is the schwa.
pub fn phoneme(p: &Phoneme) -> SingerPhoneme {
    use Arpa::*;
    use Class::*;
    let v = |symbol, dur, f| SingerPhoneme { arpa: p.arpa, symbol, class: Vowel, voiced: true, duration_ms: dur, formants: Some(f), formants_end: None };
    let d = |symbol, dur, f, g| SingerPhoneme { arpa: p.arpa, symbol, class: Diphthong, voiced: true, duration_ms: dur, formants: Some(f), formants_end: Some(g) };
    let c = |symbol, class, voiced, dur| SingerPhoneme { arpa: p.arpa, symbol, class, voiced, duration_ms: dur, formants: None, formants_end: None };
    match p.arpa {
        AA => v("ɑ", 240.0, F_AA),
        AE => v("æ", 230.0, F_AE),
        AH if p.stress == Some(Stress::Unstressed) => v("ə", 120.0, F_SCHWA),
        AH => v("ʌ", 140.0, F_AH),
        AO => v("ɔ", 240.0, F_AO),
        EH => v("ɛ", 150.0, F_EH),
        ER => v("ɝ", 180.0, F_ER),
        IH => v("ɪ", 135.0, F_IH),
        IY => v("i", 155.0, F_I),
        UH => v("ʊ", 160.0, F_UH),
        UW => v("u", 210.0, F_U),
        AW => d("aʊ", 260.0, F_AA, F_UH),
        AY => d("aɪ", 250.0, F_AA, F_IH),
        EY => d("eɪ", 190.0, F_E, F_IH),
        OW => d("oʊ", 220.0, F_O, F_UH),
        OY => d("ɔɪ", 280.0, F_AO, F_IH),
        M => c("m", Nasal, true, 70.0),
        N => c("n", Nasal, true, 60.0),
        NG => c("ŋ", Nasal, true, 95.0),
        L => c("l", Liquid, true, 80.0),
        R => c("ɹ", Liquid, true, 80.0),
        W => c("w", Glide, true, 80.0),
        Y => c("j", Glide, true, 80.0),
        F => c("f", Fricative, false, 100.0),
        V => c("v", Fricative, true, 60.0),
        TH => c("θ", Fricative, false, 90.0),
        DH => c("ð", Fricative, true, 50.0),
        S => c("s", Fricative, false, 105.0),
        Z => c("z", Fricative, true, 75.0),
        SH => c("ʃ", Fricative, false, 105.0),
        ZH => c("ʒ", Fricative, true, 70.0),
        HH => c("h", Fricative, false, 80.0),
        P => c("p", Plosive, false, 85.0),
        B => c("b", Plosive, true, 85.0),
        T => c("t", Plosive, false, 75.0),
        D => c("d", Plosive, true, 75.0),
        K => c("k", Plosive, false, 80.0),
        G => c("ɡ", Plosive, true, 80.0),
        CH => c("tʃ", Affricate, false, 70.0),
        JH => c("dʒ", Affricate, true, 70.0),
    }
}

/// A phoneme's place in its syllable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Onset,
    Nucleus,
    Coda,
}

/// One sung phoneme with its links.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SungPhoneme {
    pub phoneme: SingerPhoneme,
    pub stress: Option<Stress>,
    pub role: Role,
    /// Index within the word's phonemes.
    pub index: usize,
}

/// One syllable, the unit placed on a note.
#[derive(Debug, Clone, PartialEq)]
pub struct SungSyllable {
    pub word: usize,
    /// Index within the word's syllables.
    pub syllable: usize,
    pub stress: Stress,
    pub phonemes: Vec<SungPhoneme>,
}

impl SungSyllable {
    pub fn onset(&self) -> impl Iterator<Item = &SungPhoneme> {
        self.phonemes.iter().filter(|p| p.role == Role::Onset)
    }
    pub fn nucleus(&self) -> &SungPhoneme {
        self.phonemes.iter().find(|p| p.role == Role::Nucleus).expect("every syllable has a nucleus")
    }
    pub fn coda(&self) -> impl Iterator<Item = &SungPhoneme> {
        self.phonemes.iter().filter(|p| p.role == Role::Coda)
    }
}

/// The utterance's syllables in order, with the Singer's phonemes.
pub fn map(u: &Utterance) -> Vec<SungSyllable> {
    let mut out = Vec::new();
    for (wi, w) in u.words.iter().enumerate() {
        for (si, s) in w.syllables.iter().enumerate() {
            let phonemes = s
                .range()
                .map(|k| SungPhoneme {
                    phoneme: phoneme(&w.phonemes[k]),
                    stress: w.phonemes[k].stress,
                    role: if k < s.nucleus { Role::Onset } else if k == s.nucleus { Role::Nucleus } else { Role::Coda },
                    index: k,
                })
                .collect();
            out.push(SungSyllable { word: wi, syllable: si, stress: s.stress, phonemes });
        }
    }
    out
}
