//! ARPAbet → Kokoro's phoneme vocabulary, in the US English conventions of `misaki` (the
//! tokenizer Kokoro was trained with): one letter per diphthong (`A` eɪ, `I` aɪ, `O` oʊ, `W`
//! aʊ, `Y` ɔɪ), `ʤ`/`ʧ` for the affricates, `ɜɹ`/`əɹ` for stressed/unstressed r-coloured
//! vowels, `ʌ`/`ə` for stressed/unstressed AH, the stress mark (`ˈ`, `ˌ`) right before its
//! vowel, the US flap as `T` (misaki writes `ɾ` and Kokoro v1.0 reads it as `T`), `ᵻ` for the
//! reduced vowel of `-ed`/`-es` and `ɐ` for the article "a", function words unstressed inside a
//! phrase. Words are separated by a space; phrase breaks become the punctuation Kokoro knows.

use super::arpabet::{Arpa, Phoneme, Stress};
use super::normalize::{Pause, SentenceKind};
use super::Utterance;
use super::lexicon::Source;

/// Every symbol [`map`] can produce. All are in Kokoro v1.0's `vocab.json`.
pub const SYMBOLS: &[&str] = &[
    "ɑ", "æ", "ʌ", "ə", "ɔ", "W", "I", "ɛ", "ɜ", "ɹ", "A", "ɪ", "i", "O", "Y", "ʊ", "u", "b", "ʧ", "d", "ð", "f", "ɡ", "h", "ʤ", "k", "l", "m",
    "n", "ŋ", "p", "s", "ʃ", "t", "T", "θ", "v", "w", "j", "z", "ʒ", "ᵻ", "ɐ", "ˈ", "ˌ", " ", ",", ".", "!", "?", ";", ":", "—", "…",
];

/// One output symbol and what it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KokoroSymbol {
    pub symbol: &'static str,
    /// The word, syllable (index within the word) and phoneme (index within the word) this
    /// symbol realises; `None` for spaces and punctuation.
    pub word: Option<usize>,
    pub syllable: Option<usize>,
    pub phoneme: Option<usize>,
}

/// A phoneme string for Kokoro and its links back to the words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KokoroPhonemes {
    pub text: String,
    pub symbols: Vec<KokoroSymbol>,
}

/// The Kokoro symbols of one ARPAbet phoneme (without its stress mark). `flap` asks for the
/// flapped /t/.
pub fn symbols_of(p: &Phoneme, flap: bool) -> &'static [&'static str] {
    use Arpa::*;
    let stressed = matches!(p.stress, Some(Stress::Primary | Stress::Secondary));
    match p.arpa {
        AA => &["ɑ"],
        AE => &["æ"],
        AH => if stressed { &["ʌ"] } else { &["ə"] },
        AO => &["ɔ"],
        AW => &["W"],
        AY => &["I"],
        EH => &["ɛ"],
        ER => if stressed { &["ɜ", "ɹ"] } else { &["ə", "ɹ"] },
        EY => &["A"],
        IH => &["ɪ"],
        IY => &["i"],
        OW => &["O"],
        OY => &["Y"],
        UH => &["ʊ"],
        UW => &["u"],
        B => &["b"],
        CH => &["ʧ"],
        D => &["d"],
        DH => &["ð"],
        F => &["f"],
        G => &["ɡ"],
        HH => &["h"],
        JH => &["ʤ"],
        K => &["k"],
        L => &["l"],
        M => &["m"],
        N => &["n"],
        NG => &["ŋ"],
        P => &["p"],
        R => &["ɹ"],
        S => &["s"],
        SH => &["ʃ"],
        T => if flap { &["T"] } else { &["t"] },
        TH => &["θ"],
        V => &["v"],
        W => &["w"],
        Y => &["j"],
        Z => &["z"],
        ZH => &["ʒ"],
    }
}

/// US flapping inside a word: /t/ after a vowel or r and before an unstressed vowel
/// ("water", "city", "butter"), as misaki marks it.
fn flapped(ps: &[Phoneme], i: usize) -> bool {
    ps[i].arpa == Arpa::T
        && i > 0
        && (ps[i - 1].is_vowel() || ps[i - 1].arpa == Arpa::R)
        && ps.get(i + 1).is_some_and(|n| n.is_vowel() && n.stress == Some(Stress::Unstressed))
}

/// The unstressed vowel of an `-ed` after t/d or an `-es` after a sibilant, at the end of a
/// word: `W AO1 N T IH0 D`, `HH AW1 S AH0 Z`.
fn ending_vowel(ps: &[Phoneme], k: usize) -> bool {
    use Arpa::*;
    let n = ps.len();
    k >= 1
        && k + 2 == n
        && matches!(ps[k].arpa, IH | AH)
        && ps[k].stress == Some(Stress::Unstressed)
        && match ps[k + 1].arpa {
            D => matches!(ps[k - 1].arpa, T | D),
            Z => matches!(ps[k - 1].arpa, S | Z | SH | ZH | CH | JH),
            _ => false,
        }
}

/// CMUdict's unstressed IH that misaki writes as ə: not before NG ("-ing"), not in the word's
/// last syllable ("basic"), not word-initial ("inspire"), and not in letter names or the
/// writer's own phonemes. (On 3,000 misaki lexicon words outside any tuning, this raised
/// whole-word agreement from 63.0 % to 66.5 %.)
fn reduced_ih(w: &super::Word, k: usize) -> bool {
    let p = &w.phonemes[k];
    p.arpa == Arpa::IH
        && p.stress == Some(Stress::Unstressed)
        && k > 0
        && !matches!(w.source, Source::Spelled | Source::Override)
        && !w.phonemes.get(k + 1).is_some_and(|n| n.arpa == Arpa::NG)
        && w.phonemes[k + 1..].iter().any(|q| q.is_vowel())
}

/// The punctuation symbol for a phrase break.
fn break_symbol(punct: &str, pause: Pause, kind: SentenceKind, ends: bool) -> Option<&'static str> {
    if ends && pause != Pause::None {
        return Some(match kind {
            SentenceKind::Question => "?",
            SentenceKind::Exclamation => "!",
            SentenceKind::Statement => if punct.contains('…') || punct.contains("...") { "…" } else { "." },
        });
    }
    match pause {
        Pause::None => None,
        Pause::Short => Some(","),
        Pause::Medium => Some(if punct.contains(';') {
            ";"
        } else if punct.contains(':') {
            ":"
        } else if punct.contains(['-', '–', '—']) {
            "—"
        } else if punct.contains('…') || punct.contains("...") {
            "…"
        } else {
            ","
        }),
        Pause::Long | Pause::Paragraph => Some("."),
    }
}

/// Function words misaki leaves unstressed inside a phrase (their vowels stay full: "of" is
/// ʌv), and those it gives only secondary stress; at the end of a phrase they keep theirs.
const UNSTRESSED: &[&str] = &[
    "a", "an", "the", "of", "to", "in", "for", "is", "it", "and", "at", "he", "we", "you", "my", "was", "are", "be", "have", "has", "his",
    "her", "with", "from", "by", "as", "that", "this", "or", "can", "will", "your", "their", "they", "she", "were", "been", "am", "if",
    "than", "there",
];
const SECONDARY: &[&str] = &["on", "but", "not", "so", "what", "when", "who", "how", "me", "him", "them", "us", "our"];

/// Maps a whole utterance.
pub fn map(u: &Utterance) -> KokoroPhonemes {
    map_phrases(u, 0..u.phrases.len())
}

/// The utterance in pieces of at most `max_symbols` symbols (Kokoro takes 510 tokens at a
/// time), cut at sentence ends where possible, else between phrases; a single phrase longer
/// than the limit stays whole. Links keep the utterance's word indices.
pub fn chunks(u: &Utterance, max_symbols: usize) -> Vec<KokoroPhonemes> {
    let len = |r: std::ops::Range<usize>| map_phrases(u, r).symbols.len();
    let units = sentence_units(u, max_symbols);
    let mut out = Vec::new();
    let mut cur: Option<std::ops::Range<usize>> = None;
    for unit in units {
        cur = match cur {
            Some(c) if len(c.start..unit.end) <= max_symbols => Some(c.start..unit.end),
            Some(c) => {
                out.push(map_phrases(u, c));
                Some(unit)
            }
            None => Some(unit),
        };
    }
    if let Some(c) = cur {
        out.push(map_phrases(u, c));
    }
    out
}

/// Phrase ranges of the sentences, or of the phrases of a sentence too long on its own.
fn sentence_units(u: &Utterance, max_symbols: usize) -> Vec<std::ops::Range<usize>> {
    let len = |r: std::ops::Range<usize>| map_phrases(u, r).symbols.len();
    let mut units = Vec::new();
    let mut start = 0;
    for (i, ph) in u.phrases.iter().enumerate() {
        if ph.ends_sentence || i + 1 == u.phrases.len() {
            if len(start..i + 1) <= max_symbols {
                units.push(start..i + 1);
            } else {
                units.extend((start..=i).map(|p| p..p + 1));
            }
            start = i + 1;
        }
    }
    units
}

/// The utterance one sentence at a time (a sentence over `max_symbols` symbols in its
/// phrases), for synthesis that streams: the first sentence can be heard before the rest is
/// rendered. Links keep the utterance's word indices.
pub fn sentences(u: &Utterance, max_symbols: usize) -> Vec<KokoroPhonemes> {
    sentence_units(u, max_symbols).into_iter().map(|r| map_phrases(u, r)).collect()
}

/// Maps the phrases `range` of an utterance.
pub fn map_phrases(u: &Utterance, range: std::ops::Range<usize>) -> KokoroPhonemes {
    let mut symbols = Vec::new();
    let last = range.end;
    for (pi, ph) in u.phrases.iter().enumerate().take(range.end).skip(range.start) {
        for wi in ph.words.clone() {
            if wi > ph.words.start {
                symbols.push(KokoroSymbol { symbol: " ", word: None, syllable: None, phoneme: None });
            }
            let w = &u.words[wi];
            let phrase_final = wi + 1 == ph.words.end;
            let function_word = !phrase_final && !matches!(w.source, Source::Override | Source::Spelled);
            let weak = function_word && UNSTRESSED.contains(&w.text.as_str());
            let demoted = function_word && SECONDARY.contains(&w.text.as_str());
            for (k, p) in w.phonemes.iter().enumerate() {
                let syl = w.syllables.iter().position(|s| s.range().contains(&k));
                let link = |symbol| KokoroSymbol { symbol, word: Some(wi), syllable: syl, phoneme: Some(k) };
                match p.stress {
                    _ if weak => {}
                    Some(Stress::Primary) if !demoted => symbols.push(link("ˈ")),
                    Some(Stress::Primary | Stress::Secondary) => symbols.push(link("ˌ")),
                    _ => {}
                }
                // misaki's reduced vowels: ᵻ in the -ed/-es endings ("added" ˈædᵻd, "houses"
                // hˈWsᵻz), ɐ in the article "a"/"an".
                if ending_vowel(&w.phonemes, k) {
                    symbols.push(link("ᵻ"));
                    continue;
                }
                if k == 0 && p.is_vowel() && matches!(w.text.as_str(), "a" | "an") && !phrase_final && !matches!(w.source, Source::Spelled | Source::Override) {
                    symbols.push(link("ɐ"));
                    continue;
                }
                // "to": tə before a consonant, tʊ before a vowel (misaki's rule), tu at a phrase end.
                if w.text == "to" && p.arpa == Arpa::UW && !phrase_final && w.source == Source::Dictionary {
                    let vowel_next = u.words[wi + 1].phonemes.first().is_some_and(|q| q.is_vowel());
                    symbols.push(link(if vowel_next { "ʊ" } else { "ə" }));
                    continue;
                }
                if reduced_ih(w, k) {
                    symbols.push(link("ə"));
                    continue;
                }
                for s in symbols_of(p, flapped(&w.phonemes, k)) {
                    symbols.push(link(s));
                }
            }
        }
        let punct = &u.text[ph.punctuation.clone()];
        if let Some(s) = break_symbol(punct, ph.pause, ph.sentence, ph.ends_sentence) {
            symbols.push(KokoroSymbol { symbol: s, word: None, syllable: None, phoneme: None });
        }
        if pi + 1 < last && !ph.words.is_empty() {
            symbols.push(KokoroSymbol { symbol: " ", word: None, syllable: None, phoneme: None });
        }
    }
    while symbols.last().is_some_and(|s| s.symbol == " ") {
        symbols.pop();
    }
    KokoroPhonemes { text: symbols.iter().map(|s| s.symbol).collect(), symbols }
}

/// Token ids for Kokoro from its `vocab.json` (`{"vocab": {symbol: id}}`); `None` names the
/// first symbol the vocabulary lacks.
pub fn token_ids(p: &KokoroPhonemes, vocab: &std::collections::HashMap<String, i64>) -> Result<Vec<i64>, String> {
    p.symbols.iter().map(|s| vocab.get(s.symbol).copied().ok_or_else(|| s.symbol.to_string())).collect()
}
