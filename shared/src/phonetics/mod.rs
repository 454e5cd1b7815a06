//! English text front end: written text (or lyrics) → words → syllables → phonemes, for the
//! Speech Track (Kokoro phonemes with word timings) and the Singer (syllables on notes).
//!
//! ```text
//! text ─► normalize (numbers, dates, abbreviations, acronyms, URLs, punctuation → phrases)
//!      ─► pronounce (inline override › user lexicon › homograph rules › CMUdict › stem + -s/-ed/-ing
//!                    › G2p: g2p-en in candle with `neural`, else letter-to-sound rules)
//!      ─► syllabify (maximal onset, writer's hyphens)
//!      ─► kokoro::map (misaki-style US phonemes) · singer::map (phoneme classes, durations)
//! ```
//! Every word keeps the byte span of the input it was read from; every syllable and phoneme
//! belongs to one word, so each output symbol leads back to the exact input characters.
//!
//! Without the `neural` feature (or before the g2p-en file is loaded) words no dictionary
//! knows go through [`lexicon::RuleG2p`]; a caller with the model passes it to
//! [`FrontEnd::with_g2p`].

pub mod arpabet;
#[cfg(feature = "neural")]
pub mod g2p;
pub mod kokoro;
pub mod lexicon;
pub mod normalize;
pub mod numbers;
pub mod singer;
pub mod syllable;

use arpabet::{Arpa, Phoneme, Stress};
use lexicon::{Context, G2p, RuleG2p, Source, UserLexicon};
use normalize::{How, Item, Pause, SentenceKind};
use std::ops::Range;
use std::sync::Arc;
pub use syllable::Syllable;

/// One spoken word.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    /// The word as said (`"twenty"` for part of "21", `"doctor"` for "Dr.").
    pub text: String,
    /// Byte range of the input it was read from (several words can share one, as the words
    /// of a number do).
    pub span: Range<usize>,
    pub phonemes: Vec<Phoneme>,
    pub syllables: Vec<Syllable>,
    pub source: Source,
    /// Index of its phrase in [`Utterance::phrases`].
    pub phrase: usize,
}

/// Words between two breaks.
#[derive(Debug, Clone, PartialEq)]
pub struct Phrase {
    /// Indices into [`Utterance::words`].
    pub words: Range<usize>,
    /// The break after the phrase.
    pub pause: Pause,
    /// The type of the sentence the phrase belongs to.
    pub sentence: SentenceKind,
    /// Whether the phrase ends its sentence.
    pub ends_sentence: bool,
    /// The punctuation that ended it (empty range at the end of input).
    pub punctuation: Range<usize>,
}

/// The front end's reading of a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    pub text: String,
    pub words: Vec<Word>,
    pub phrases: Vec<Phrase>,
}

impl Utterance {
    /// The input characters a word was read from.
    pub fn source_text(&self, word: usize) -> &str {
        &self.text[self.words[word].span.clone()]
    }

    /// A word's span in characters (Unicode scalar values) rather than bytes, for callers
    /// that index text by character.
    pub fn char_span(&self, word: usize) -> Range<usize> {
        let span = &self.words[word].span;
        let start = self.text[..span.start].chars().count();
        start..start + self.text[span.clone()].chars().count()
    }
}

/// The English front end. Cheap to clone; shareable between threads.
#[derive(Clone)]
pub struct FrontEnd {
    g2p: Arc<dyn G2p>,
    user: UserLexicon,
}

impl Default for FrontEnd {
    fn default() -> Self {
        Self::new()
    }
}

impl FrontEnd {
    /// CMUdict and the letter-to-sound rules.
    pub fn new() -> Self {
        Self::with_g2p(Arc::new(RuleG2p))
    }

    /// CMUdict and `g2p` for words it does not know (g2p-en with the `neural` feature).
    pub fn with_g2p(g2p: Arc<dyn G2p>) -> Self {
        FrontEnd { g2p, user: UserLexicon::default() }
    }

    pub fn user_lexicon(&mut self) -> &mut UserLexicon {
        &mut self.user
    }

    /// Whether a lower-case word has a pronunciation without the G2P model.
    pub fn knows(&self, word: &str) -> bool {
        self.user.get(word).is_some() || lexicon::cmudict().get(word).is_some()
    }

    /// Reads `text`.
    pub fn analyze(&self, text: &str) -> Utterance {
        let items = normalize::normalize(text, &|w| self.knows(w));
        // Phrases first: the homograph rules look at neighbours within a phrase.
        let mut words: Vec<normalize::NormWord> = Vec::new();
        let mut phrases = Vec::new();
        let mut start = 0;
        for item in items {
            match item {
                Item::Word(w) => words.push(w),
                Item::Break(b) => {
                    phrases.push(Phrase {
                        words: start..words.len(),
                        pause: b.pause,
                        sentence: b.sentence.unwrap_or(SentenceKind::Statement),
                        ends_sentence: b.sentence.is_some(),
                        punctuation: b.span,
                    });
                    start = words.len();
                }
            }
        }
        // A sentence's type holds for all its phrases.
        let mut kind = SentenceKind::Statement;
        for ph in phrases.iter_mut().rev() {
            if ph.ends_sentence {
                kind = ph.sentence;
            }
            ph.sentence = kind;
        }
        let mut out = Vec::with_capacity(words.len());
        for (pi, ph) in phrases.iter().enumerate() {
            let texts: Vec<&str> = words[ph.words.clone()].iter().map(|w| w.text.as_str()).collect();
            for (j, w) in words[ph.words.clone()].iter().enumerate() {
                let ctx = Context {
                    prev2: j.checked_sub(2).map(|k| texts[k]),
                    prev: j.checked_sub(1).map(|k| texts[k]),
                    next: texts.get(j + 1).copied(),
                    next2: texts.get(j + 2).copied(),
                    phrase: &texts,
                    proper: w.proper,
                };
                let (phonemes, source) = self.pronounce(w, &ctx);
                let syllables = match &w.how {
                    How::Hyphenated(parts) => {
                        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
                        syllable::syllabify_with_hyphens(&phonemes, &parts)
                    }
                    _ => syllable::syllabify(&phonemes),
                };
                out.push(Word { text: w.text.clone(), span: w.span.clone(), phonemes, syllables, source, phrase: pi });
            }
        }
        // "the" before a vowel sound is /ði/.
        for k in 0..out.len().saturating_sub(1) {
            if out[k].text == "the" && out[k].source == Source::Homograph && out[k + 1].phrase == out[k].phrase && out[k + 1].phonemes.first().is_some_and(|p| p.is_vowel()) {
                out[k].phonemes = vec![Phoneme::consonant(Arpa::DH), Phoneme::vowel(Arpa::IY, Stress::Unstressed)];
                out[k].syllables = syllable::syllabify(&out[k].phonemes);
            }
        }
        Utterance { text: text.to_string(), words: out, phrases }
    }

    /// A word's phonemes and where they came from.
    pub fn pronounce(&self, w: &normalize::NormWord, ctx: &Context) -> (Vec<Phoneme>, Source) {
        match &w.how {
            How::Phonemes(p) => return (p.clone(), Source::Override),
            How::Spell { plural } => return (lexicon::spell(&w.text, *plural), Source::Spelled),
            How::Lookup | How::Hyphenated(_) => {}
        }
        let word = w.text.as_str();
        if let Some(p) = self.user.get(word) {
            return (p.to_vec(), Source::User);
        }
        if let Some(p) = lexicon::homograph(word, ctx) {
            return (p, Source::Homograph);
        }
        if let Some(p) = lexicon::dictionary(word).into_iter().next() {
            return (p, Source::Dictionary);
        }
        if let Some(p) = lexicon::morphology(word) {
            return (p, Source::Morphology);
        }
        let letters = fold_ascii(word);
        if letters.is_empty() {
            return (Vec::new(), Source::G2p);
        }
        if letters != word && let Some(p) = lexicon::dictionary(&letters).into_iter().next() {
            return (p, Source::Dictionary);
        }
        let mut p = self.g2p.predict(&letters);
        arpabet::ensure_stress(&mut p, false);
        (p, Source::G2p)
    }
}

/// Lower-case a–z with common accents folded (`café` → `cafe`) and other characters dropped
/// (apostrophes stay).
fn fold_ascii(word: &str) -> String {
    word.chars()
        .filter_map(|c| {
            let c = c.to_lowercase().next().unwrap_or(c);
            Some(match c {
                'a'..='z' | '\'' => c,
                'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
                'ç' => 'c',
                'è' | 'é' | 'ê' | 'ë' => 'e',
                'ì' | 'í' | 'î' | 'ï' => 'i',
                'ñ' => 'n',
                'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
                'ù' | 'ú' | 'û' | 'ü' => 'u',
                'ý' | 'ÿ' => 'y',
                _ => return None,
            })
        })
        .collect()
}

#[cfg(feature = "neural")]
impl G2p for g2p::G2pEn {
    fn predict(&self, word: &str) -> Vec<Phoneme> {
        let word: String = word.chars().filter(|c| c.is_ascii_lowercase()).collect();
        g2p::G2pEn::predict(self, &word).iter().filter_map(|s| Phoneme::parse(s, Stress::Unstressed)).collect()
    }
}
