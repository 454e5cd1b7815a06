//! Pronunciation of normalised words: a user lexicon, homograph rules, CMUdict (with its
//! stress digits, via the `cmudict-fast` crate and the dictionary file shipped beside this
//! module), simple morphology on dictionary stems (`-s`, `-'s`, `-ed`, `-ing`), and a
//! grapheme-to-phoneme model for everything else.
//!
//! The model is a [`G2p`] trait object the caller supplies: with the `neural` feature that is
//! normally g2p-en ([`super::g2p::G2pEn`] implements the trait); without it, or until the
//! model file is loaded, [`RuleG2p`] — English letter-to-sound rules — stands in, so the front
//! end always answers.

use super::arpabet::{self, Arpa, Phoneme, Stress};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Grapheme-to-phoneme conversion for words no dictionary knows. `word` is lower case,
/// letters a–z (and maybe apostrophes).
pub trait G2p: Send + Sync {
    fn predict(&self, word: &str) -> Vec<Phoneme>;
}

/// Where a word's pronunciation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// An inline `{…}` or `[[…]]` in the text.
    Override,
    /// The caller's lexicon.
    User,
    /// A homograph rule chose among the dictionary's readings.
    Homograph,
    /// CMUdict as it stands.
    Dictionary,
    /// A dictionary stem plus an inflection (`-s`, `-ed`, `-ing`).
    Morphology,
    /// Letter names (acronyms, single letters).
    Spelled,
    /// The grapheme-to-phoneme model.
    G2p,
}

/// The CMU Pronouncing Dictionary (BSD-2-Clause; see `data/LICENSE-CMUDICT`), 135,010
/// entries, parsed once per process (~0.3 s) on first use.
pub fn cmudict() -> &'static cmudict_fast::Cmudict {
    static DICT: OnceLock<cmudict_fast::Cmudict> = OnceLock::new();
    DICT.get_or_init(|| include_str!("data/cmudict.dict").parse().expect("the shipped cmudict.dict parses"))
}

/// Every pronunciation CMUdict lists for `word` (lower case), in its order.
pub fn dictionary(word: &str) -> Vec<Vec<Phoneme>> {
    cmudict()
        .get(word)
        .map(|rules| rules.iter().map(|r| r.pronunciation().iter().map(|s| Phoneme::parse(&s.to_string(), Stress::Unstressed).expect("CMUdict symbols are ARPAbet")).collect()).collect())
        .unwrap_or_default()
}

/// A caller's word → pronunciation list; consulted before everything but inline overrides.
#[derive(Debug, Clone, Default)]
pub struct UserLexicon {
    words: HashMap<String, Vec<Phoneme>>,
}

impl UserLexicon {
    /// Adds `word` (any case) with an ARPAbet pronunciation (`"T AH0 M AA1 T OW2"`). Returns
    /// false, adding nothing, if the ARPAbet does not parse.
    pub fn insert(&mut self, word: &str, arpabet: &str) -> bool {
        match arpabet::parse_arpabet(arpabet) {
            Some(p) if !p.is_empty() => {
                self.words.insert(word.to_lowercase(), p);
                true
            }
            _ => false,
        }
    }

    pub fn get(&self, word: &str) -> Option<&[Phoneme]> {
        self.words.get(word).map(Vec::as_slice)
    }

    /// Reads `word ARPABET` lines (`#` comments, blank lines skipped); returns the lines that
    /// did not parse.
    pub fn load_str(&mut self, text: &str) -> Vec<String> {
        let mut bad = Vec::new();
        for line in text.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty()) {
            let ok = line.split_once(char::is_whitespace).is_some_and(|(w, p)| self.insert(w, p));
            if !ok {
                bad.push(line.to_string());
            }
        }
        bad
    }
}

fn p(s: &str) -> Vec<Phoneme> {
    arpabet::parse_arpabet(s).expect("built-in ARPAbet")
}

/// The phonemes of a letter's name.
pub fn letter_name(c: char) -> Vec<Phoneme> {
    p(match c.to_ascii_lowercase() {
        'a' => "EY1",
        'b' => "B IY1",
        'c' => "S IY1",
        'd' => "D IY1",
        'e' => "IY1",
        'f' => "EH1 F",
        'g' => "JH IY1",
        'h' => "EY1 CH",
        'i' => "AY1",
        'j' => "JH EY1",
        'k' => "K EY1",
        'l' => "EH1 L",
        'm' => "EH1 M",
        'n' => "EH1 N",
        'o' => "OW1",
        'p' => "P IY1",
        'q' => "K Y UW1",
        'r' => "AA1 R",
        's' => "EH1 S",
        't' => "T IY1",
        'u' => "Y UW1",
        'v' => "V IY1",
        'w' => "D AH1 B AH0 L Y UW0",
        'x' => "EH1 K S",
        'y' => "W AY1",
        'z' => "Z IY1",
        _ => return Vec::new(),
    })
}

/// Letters spelled out as one word: the last letter keeps the primary stress, the others
/// get secondary (as CMUdict writes `FBI`: EH2 F B IY2 AY1); `plural` adds `-s`.
pub fn spell(letters: &str, plural: bool) -> Vec<Phoneme> {
    let names: Vec<Vec<Phoneme>> = letters.chars().filter(|c| c.is_ascii_alphabetic()).map(letter_name).collect();
    let n = names.len();
    let mut out = Vec::new();
    for (i, mut name) in names.into_iter().enumerate() {
        if i + 1 < n {
            for ph in name.iter_mut().filter(|ph| ph.stress == Some(Stress::Primary)) {
                ph.stress = Some(Stress::Secondary);
            }
        }
        out.extend(name);
    }
    if plural { add_s(&out) } else { out }
}

/// The `-s` ending: /ɪz/ after sibilants, /s/ after other voiceless sounds, /z/ elsewhere.
pub fn add_s(stem: &[Phoneme]) -> Vec<Phoneme> {
    use Arpa::*;
    let mut out = stem.to_vec();
    match stem.last().map(|p| p.arpa) {
        Some(S | Z | SH | ZH | CH | JH) => out.extend([Phoneme::vowel(IH, Stress::Unstressed), Phoneme::consonant(Z)]),
        Some(P | T | K | F | TH) => out.push(Phoneme::consonant(S)),
        _ => out.push(Phoneme::consonant(Z)),
    }
    out
}

/// The `-ed` ending: /ɪd/ after t and d, /t/ after other voiceless sounds, /d/ elsewhere.
pub fn add_ed(stem: &[Phoneme]) -> Vec<Phoneme> {
    use Arpa::*;
    let mut out = stem.to_vec();
    match stem.last().map(|p| p.arpa) {
        Some(T | D) => out.extend([Phoneme::vowel(IH, Stress::Unstressed), Phoneme::consonant(D)]),
        Some(P | K | F | TH | S | SH | CH) => out.push(Phoneme::consonant(T)),
        _ => out.push(Phoneme::consonant(D)),
    }
    out
}

fn add_ing(stem: &[Phoneme]) -> Vec<Phoneme> {
    let mut out = stem.to_vec();
    out.extend([Phoneme::vowel(Arpa::IH, Stress::Unstressed), Phoneme::consonant(Arpa::NG)]);
    out
}

/// A dictionary stem plus an inflection, when the word itself is not in the dictionary.
pub fn morphology(word: &str) -> Option<Vec<Phoneme>> {
    let first = |w: &str| dictionary(w).into_iter().next();
    if let Some(stem) = word.strip_suffix("'s").or_else(|| word.strip_suffix("s'")) {
        return first(stem).map(|p| add_s(&p));
    }
    if let Some(stem) = word.strip_suffix('s').filter(|s| s.len() >= 2 && !s.ends_with('s')) {
        if let Some(p) = first(stem) {
            return Some(add_s(&p));
        }
        if let Some(p) = word.strip_suffix("ies").and_then(|s| first(&format!("{s}y"))) {
            return Some(add_s(&p));
        }
        if let Some(p) = word.strip_suffix("es").and_then(first) {
            return Some(add_s(&p));
        }
    }
    if let Some(stem) = word.strip_suffix("ed").filter(|s| s.len() >= 2) {
        // (A doubled final consonant is the spelling's: "hopped", "running".)
        let undoubled = stem.as_bytes().ends_with(&[stem.as_bytes()[stem.len() - 1]; 2]).then(|| stem[..stem.len() - 1].to_string());
        for cand in [Some(stem.to_string()), Some(format!("{stem}e")), undoubled].into_iter().flatten() {
            if (cand.len() >= 2) && let Some(p) = first(&cand) {
                return Some(add_ed(&p));
            }
        }
        if let Some(p) = stem.strip_suffix('i').and_then(|s| first(&format!("{s}y"))) {
            return Some(add_ed(&p));
        }
    }
    if let Some(stem) = word.strip_suffix("ing").filter(|s| s.len() >= 2) {
        // (A doubled final consonant is the spelling's: "hopped", "running".)
        let undoubled = stem.as_bytes().ends_with(&[stem.as_bytes()[stem.len() - 1]; 2]).then(|| stem[..stem.len() - 1].to_string());
        for cand in [Some(stem.to_string()), Some(format!("{stem}e")), undoubled].into_iter().flatten() {
            if cand.len() >= 2 && let Some(p) = first(&cand) {
                return Some(add_ing(&p));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Homographs

const VERB_CUES: &[&str] = &[
    "to", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "do", "does", "did", "don't", "doesn't", "didn't",
    "won't", "wouldn't", "can't", "cannot", "couldn't", "shouldn't", "let's", "please", "i", "you", "we", "they", "i'll", "you'll",
    "we'll", "they'll", "i'd", "you'd", "we'd", "they'd", "never", "always", "often", "not", "and",
];
const NOUN_CUES: &[&str] = &[
    "a", "an", "the", "this", "that", "these", "those", "my", "your", "his", "her", "its", "our", "their", "no", "every", "each", "some",
    "any", "another", "whose", "what", "new", "old", "world", "personal", "own", "good", "great", "best", "first", "last", "next", "one",
    "of", "for", "in", "on", "with", "proper", "fair", "daily", "common", "make", "public", "school", "track",
];
const OBJECT_CUES: &[&str] = &[
    "the", "a", "an", "it", "them", "him", "her", "his", "their", "our", "your", "my", "this", "these", "those", "me", "us", "that",
];

/// Context a homograph rule sees: the words before and after it in the same phrase.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    pub prev2: Option<&'a str>,
    pub prev: Option<&'a str>,
    pub next: Option<&'a str>,
    pub next2: Option<&'a str>,
    /// Every word of the phrase.
    pub phrase: &'a [&'a str],
    /// The word is capitalised inside its sentence (a name: "Polish", "Reading").
    pub proper: bool,
}

impl Context<'_> {
    fn prev_in(&self, l: &[&str]) -> bool {
        self.prev.is_some_and(|w| l.contains(&w))
    }
    fn prev2_in(&self, l: &[&str]) -> bool {
        self.prev2.is_some_and(|w| l.contains(&w))
    }
    fn next_in(&self, l: &[&str]) -> bool {
        self.next.is_some_and(|w| l.contains(&w))
    }
    fn verb(&self) -> bool {
        self.prev_in(VERB_CUES) && !self.prev_in(NOUN_CUES)
    }
    fn noun(&self) -> bool {
        self.prev_in(NOUN_CUES)
    }
}

/// Words whose noun and verb differ by stress (`REcord`/`reCORD`): the verb reading is the
/// dictionary variant whose primary stress is not on the first vowel.
const STRESS_SHIFT: &[&str] = &[
    "record", "present", "object", "permit", "produce", "project", "subject", "conduct", "contract", "increase", "decrease", "conflict",
    "convict", "rebel", "progress", "export", "import", "insult", "suspect", "contest", "desert", "extract", "torment", "upset", "survey",
    "digest", "escort", "exploit", "incline", "insert", "protest", "reject", "segment", "transfer", "console", "convert", "defect",
    "refund", "combat", "compound", "conscript", "contrast", "discount", "entrance", "perfume", "recall", "relay", "annex", "proceeds",
];
/// `-ate` words: verb with a full /eɪt/, noun/adjective reduced.
const ATE_WORDS: &[&str] = &[
    "separate", "estimate", "moderate", "graduate", "alternate", "associate", "advocate", "duplicate", "delegate", "approximate",
    "appropriate", "articulate", "deliberate", "elaborate", "intimate", "degenerate", "subordinate", "aggregate", "coordinate",
];

fn first_vowel_primary(ps: &[Phoneme]) -> bool {
    ps.iter().find(|p| p.is_vowel()).is_some_and(|p| p.stress == Some(Stress::Primary))
}

/// Chooses a reading for a homograph from its context; `None` if `word` is not one.
pub fn homograph(word: &str, c: &Context) -> Option<Vec<Phoneme>> {
    if c.proper {
        let name = match word {
            "polish" => Some("P OW1 L IH0 SH"),
            "reading" => Some("R EH1 D IH0 NG"),
            "job" => Some("JH OW1 B"),
            "nice" => Some("N IY1 S"),
            "herb" => Some("HH ER1 B"),
            "mobile" => Some("M OW0 B IY1 L"),
            "lima" => Some("L IY1 M AH0"),
            _ => None,
        };
        if let Some(s) = name {
            return Some(p(s));
        }
    }
    let v = c.verb();
    let n = c.noun();
    let s = match word {
        "read" => {
            let past_prev = c.prev_in(&["have", "has", "had", "having", "i've", "we've", "you've", "they've", "was", "were", "been", "being", "is", "are", "be", "he", "she", "it", "already", "just", "widely", "well", "never"]);
            let past_next = [c.next, c.next2].iter().flatten().any(|w| matches!(*w, "already" | "once"))
                || c.phrase.iter().any(|w| matches!(*w, "yesterday" | "ago" | "last" | "earlier"));
            if (past_prev && !c.prev_in(&["to"])) || past_next { "R EH1 D" } else { "R IY1 D" }
        }
        "lead" => {
            let metal = c.next_in(&["poisoning", "pipe", "pipes", "paint", "pencil", "pencils", "weight", "weights", "shot", "acetate", "balloon", "free", "content", "levels", "exposure"])
                || (c.prev_in(&["of", "with", "unleaded"]) && !c.next_in(&["to", "the", "us", "them"]));
            if metal && !v { "L EH1 D" } else { "L IY1 D" }
        }
        "live" => {
            let adj_next = c.next_in(&["music", "show", "shows", "concert", "concerts", "performance", "performances", "broadcast", "audience", "recording", "recordings", "version", "album", "event", "events", "stream", "streams", "coverage", "wire", "bait", "animals", "ammunition", "tv", "television", "feed", "footage", "action", "band", "sound", "oak", "chat", "update", "updates", "video", "radio", "on", "from", "webcast", "session", "sessions", "demo"]);
            let adj_end = c.next.is_none() && c.prev_in(&["go", "goes", "going", "went", "gone", "is", "are", "was", "were", "be", "been", "it's", "we're", "they're", "still", "now"]);
            let adj_prev = c.prev_in(&["a", "the", "their", "our", "his", "her", "its"]);
            if (adj_next && !v && !c.prev_in(&["where", "who", "that", "people", "which"])) || adj_end || adj_prev { "L AY1 V" } else { "L IH1 V" }
        }
        "lives" => {
            if n || c.prev_in(&["save", "saved", "saves", "saving", "lost", "lose", "risk", "risked", "nine", "two", "three", "many", "whose", "changed", "change", "ruined", "private", "everyday", "daily", "love", "livelihoods"]) { "L AY1 V Z" } else { "L IH1 V Z" }
        }
        "wind" => {
            if (v || c.next_in(&["up", "down", "the", "it", "your", "my", "his", "her", "them", "back"])) && !n { "W AY1 N D" } else { "W IH1 N D" }
        }
        "winds" => if c.next_in(&["up", "down", "back", "through", "around"]) && !n && c.prev_in(&["he", "she", "it", "road", "river", "path", "trail"]) { "W AY1 N D Z" } else { "W IH1 N D Z" },
        "wound" => {
            if c.next_in(&["up", "down", "around", "round", "the", "it", "its", "his", "her", "their", "through", "tight", "tightly"]) && !n { "W AW1 N D" } else { "W UW1 N D" }
        }
        "tear" => {
            let wear = c.prev == Some("and") && c.prev2 == Some("wear");
            if wear || ((v || c.next_in(&["up", "down", "apart", "off", "it", "open", "into", "through", "out", "away", "them", "the", "his", "her", "my", "your", "our", "their"])) && !n) { "T EH1 R" } else { "T IH1 R" }
        }
        "tears" => if c.next_in(&["up", "down", "apart", "off", "open", "into", "through", "away"]) && !n { "T EH1 R Z" } else { "T IH1 R Z" },
        "close" => {
            let near = c.next_in(&["to", "by", "call", "calls", "friend", "friends", "together", "enough", "relative", "relatives", "attention", "contact", "range", "second", "race", "behind", "up"]) || c.prev_in(&["very", "so", "too", "quite", "pretty", "come", "came", "stay", "stayed", "get", "got", "as", "how", "really", "fairly", "a", "at", "up", "that's", "is", "was", "are", "were"]) && !c.next_in(&["of"]);
            let verb = v || c.next_in(OBJECT_CUES) || c.next_in(&["down", "out", "off", "in"]) || (n && c.next_in(&["of"])) || (c.prev.is_none() && c.next_in(OBJECT_CUES));
            if near && !(v && c.next_in(OBJECT_CUES)) { "K L OW1 S" } else if verb { "K L OW1 Z" } else { "K L OW1 S" }
        }
        "use" => {
            if n || c.prev_in(&["much", "no", "any", "its", "fair", "drug", "land", "water", "energy", "everyday", "intended", "practical", "commercial", "what's", "wider", "widespread", "heavy"]) || (c.prev.is_none() && c.next_in(&["of"])) { "Y UW1 S" } else { "Y UW1 Z" }
        }
        "used" => {
            // "used to" is /juːst/ ("I used to swim", "got used to it"); the passive "was used
            // to make" keeps /juːzd/ unless an object follows ("was used to it").
            let passive = c.prev_in(&["was", "were", "is", "are", "be", "been", "being"]);
            let object = c.next2.is_some_and(|w| matches!(w, "it" | "this" | "that" | "the" | "them" | "him" | "her" | "being" | "working" | "living"));
            if c.next == Some("to") && (!passive || object) { "Y UW1 S T" } else { "Y UW1 Z D" }
        }
        "house" => if v && !c.prev_in(&["i", "you", "we", "they", "and"]) { "HH AW1 Z" } else { "HH AW1 S" },
        "excuse" | "abuse" => {
            let stem = if word == "excuse" { "IH0 K S K Y UW1" } else { "AH0 B Y UW1" };
            return Some(p(&format!("{stem} {}", if (v || c.next_in(OBJECT_CUES)) && !n { "Z" } else { "S" })));
        }
        "refuse" => if n && !c.prev_in(&["i", "you", "we", "they"]) { "R EH1 F Y UW2 Z" } else { "R IH0 F Y UW1 Z" },
        "bass" => {
            if c.next_in(&["fishing", "fish", "boat", "boats", "lake"]) || c.prev_in(&["caught", "catch", "striped", "largemouth", "smallmouth", "sea", "black"]) || c.prev2_in(&["caught", "catch", "catching"]) { "B AE1 S" } else { "B EY1 S" }
        }
        "bow" => {
            if c.next_in(&["down", "to", "before", "out", "low", "deeply"]) || c.prev_in(&["take", "took", "taking", "takes", "deep", "slight", "final"]) || c.prev2_in(&["take", "took", "taking", "takes"]) || v { "B AW1" } else { "B OW1" }
        }
        "row" => {
            if c.next_in(&["with", "about", "over", "between", "erupted", "broke"]) && c.prev_in(&["a", "the", "big", "blazing", "huge", "bitter", "public", "diplomatic"]) { "R AW1" } else { "R OW1" }
        }
        "resume" => if n || c.prev_in(&["updated", "send", "sent", "submit", "submitted"]) { "R EH1 Z AH0 M EY2" } else { "R IH0 Z UW1 M" },
        "minute" => if c.next_in(&["details", "detail", "amounts", "amount", "quantities", "particles", "changes", "differences"]) && !c.prev_in(&["a", "one", "every", "each", "last", "per"]) { "M AY0 N UW1 T" } else { "M IH1 N AH0 T" },
        "content" => {
            let adjective = c.prev_in(&["am", "is", "are", "was", "were", "be", "been", "feel", "felt", "seem", "seemed", "quite", "very", "perfectly", "remain", "remained", "to", "not", "so", "more", "less"]);
            if adjective && !c.next_in(&["of", "is", "was", "creator", "creators", "type"]) { "K AH0 N T EH1 N T" } else { "K AA1 N T EH0 N T" }
        }
        "dove" => {
            if c.prev_in(&["he", "she", "it", "they", "we", "i", "who", "then", "and", "you", "diver", "bird"]) || c.next_in(&["into", "in", "off", "under", "for", "down", "through", "deep", "headfirst", "after"]) { "D OW1 V" } else { "D AH1 V" }
        }
        "sow" => if n && !c.prev_in(&["to"]) { "S AW1" } else { "S OW1" },
        "perfect" => if v && !n { "P ER0 F EH1 K T" } else { "P ER1 F IH2 K T" },
        "does" => "D AH1 Z",
        "the" => "DH AH0",
        "a" => "AH0",
        _ => {
            if STRESS_SHIFT.contains(&word) {
                let variants = dictionary(word);
                if variants.is_empty() {
                    return None;
                }
                let next_object = c.next_in(OBJECT_CUES) && !n;
                let verb = (v || next_object || (word == "object" && c.next == Some("to"))) && !n;
                let pick = variants.iter().find(|ps| first_vowel_primary(ps) != verb).unwrap_or(&variants[0]);
                return Some(pick.clone());
            }
            if ATE_WORDS.contains(&word) {
                let variants = dictionary(word);
                let last_ey = |ps: &Vec<Phoneme>| ps.iter().rev().find(|p| p.is_vowel()).is_some_and(|p| p.arpa == Arpa::EY);
                let verb = (v || c.next_in(OBJECT_CUES)) && !n;
                return variants.iter().find(|ps| last_ey(ps) == verb).or(variants.first()).cloned();
            }
            return None;
        }
    };
    Some(p(s))
}

/// Whether the front end treats `word` as a homograph (its reading depends on context).
pub fn is_homograph(word: &str) -> bool {
    homograph(word, &Context::default()).is_some() && !matches!(word, "does" | "the" | "a")
        || matches!(word, "polish" | "reading" | "job" | "nice" | "herb" | "mobile" | "lima")
}

// ---------------------------------------------------------------------------------------------
// Letter-to-sound rules

/// English letter-to-sound rules: the fallback when no neural model is available. Greedy
/// longest-match graphemes with a few context rules (soft c/g, magic e, final y, -tion,
/// -ture), primary stress on the first vowel (second after a common unstressed prefix),
/// unstressed a/o/u reduced to schwa. Roughly right on regular spellings, wrong on many
/// irregular ones: it keeps the front end working, it is not a substitute for g2p-en.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleG2p;

impl G2p for RuleG2p {
    fn predict(&self, word: &str) -> Vec<Phoneme> {
        letter_to_sound(word)
    }
}

fn letter_to_sound(word: &str) -> Vec<Phoneme> {
    use Arpa::*;
    let w: Vec<char> = word.to_lowercase().chars().filter(|c| c.is_ascii_lowercase()).collect();
    let n = w.len();
    let is_v = |c: char| "aeiou".contains(c);
    let at = |i: usize| w.get(i).copied().unwrap_or('#');
    let rest = |i: usize| -> String { w[i.min(n)..].iter().collect() };
    // Vowel letter, whether long (magic e or open syllable before a vowel), → phoneme.
    let mut out: Vec<(Arpa, bool)> = Vec::new(); // (phoneme, is a full/long vowel)
    let mut i = 0;
    while i < n {
        let c = w[i];
        let r = rest(i);
        let mut push = |a: Arpa, long: bool| out.push((a, long));
        let rules: &[(&str, &[Arpa], bool)] = &[
            ("tion", &[SH, AH, N], false), ("sion", &[ZH, AH, N], false), ("ture", &[CH, ER], false), ("tch", &[CH], false),
            ("igh", &[AY], true), ("ous", &[AH, S], false), ("dge", &[JH], false), ("ck", &[K], false), ("ch", &[CH], false),
            ("sh", &[SH], false), ("th", &[TH], false), ("ph", &[F], false), ("wh", &[W], false), ("ng", &[NG], false),
            ("qu", &[K, W], false), ("ee", &[IY], true), ("ea", &[IY], true), ("oo", &[UW], true), ("ou", &[AW], true),
            ("ow", &[OW], true), ("oi", &[OY], true), ("oy", &[OY], true), ("ai", &[EY], true), ("ay", &[EY], true),
            ("au", &[AO], true), ("aw", &[AO], true), ("ie", &[IY], true), ("ei", &[EY], true), ("oa", &[OW], true),
            ("ue", &[UW], true), ("ew", &[UW], true), ("ar", &[AA, R], true), ("or", &[AO, R], true), ("er", &[ER], false),
            ("ir", &[ER], true), ("ur", &[ER], true),
        ];
        if let Some((g, arpas, long)) = rules.iter().find(|(g, _, _)| r.starts_with(g)) {
            // "ar"/"or"/"er" before a vowel are a vowel + r onset instead.
            let rhotic = g.len() == 2 && g.ends_with('r');
            if !(rhotic && is_v(at(i + 2))) {
                for a in arpas.iter() {
                    push(*a, *long);
                }
                i += g.len();
                continue;
            }
        }
        if i == 0 && (r.starts_with("kn") || r.starts_with("wr") || r.starts_with("gn") || r.starts_with("ps")) {
            i += 1;
            continue;
        }
        if i + 1 < n && w[i + 1] == c && !is_v(c) {
            i += 1; // double consonant
            continue;
        }
        if is_v(c) {
            // Final e is silent in a word with another vowel; "le" after a consonant is syllabic.
            if c == 'e' && i + 1 == n && w[..i].iter().any(|&x| is_v(x) || x == 'y') {
                i += 1;
                continue;
            }
            let magic = !is_v(at(i + 1)) && at(i + 1) != '#' && at(i + 2) == 'e' && (i + 3 == n || matches!(at(i + 3), 's' | 'd' | 'r' | 'l' | 'n'));
            let long = magic;
            let a = match (c, long) {
                ('a', true) => EY,
                ('e', true) => IY,
                ('i', true) => AY,
                ('o', true) => OW,
                ('u', true) => UW,
                ('a', false) => AE,
                ('e', false) => EH,
                ('i', false) => IH,
                ('o', false) => AA,
                _ => AH,
            };
            let a = if i + 1 == n && c == 'o' { OW } else if i + 1 == n && c == 'a' { AH } else { a };
            push(a, long || (i + 1 == n && c == 'o'));
            i += 1;
            continue;
        }
        match c {
            'c' => push(if matches!(at(i + 1), 'e' | 'i' | 'y') { S } else { K }, false),
            'g' => push(if matches!(at(i + 1), 'e' | 'i' | 'y') && i + 2 < n { JH } else { G }, false),
            'x' => {
                if i == 0 {
                    push(Z, false)
                } else {
                    push(K, false);
                    push(S, false)
                }
            }
            'y' => {
                if i == 0 {
                    push(Y, false)
                } else if i + 1 == n {
                    let vowels_before = w[..i].iter().filter(|&&x| is_v(x)).count();
                    if vowels_before == 0 { push(AY, true) } else { push(IY, false) }
                } else if !is_v(at(i + 1)) {
                    push(IH, false)
                } else {
                    push(Y, false)
                }
            }
            'j' => push(JH, false),
            's' => push(if i > 0 && is_v(at(i - 1)) && is_v(at(i + 1)) || (i + 1 == n && i > 0 && !matches!(at(i - 1), 'p' | 't' | 'k' | 'f')) && n > 3 { Z } else { S }, false),
            'b' => push(B, false),
            'd' => push(D, false),
            'f' => push(F, false),
            'h' => push(HH, false),
            'k' => push(K, false),
            'l' => push(L, false),
            'm' => push(M, false),
            'n' => push(N, false),
            'p' => push(P, false),
            'q' => push(K, false),
            'r' => push(R, false),
            't' => push(T, false),
            'v' => push(V, false),
            'w' => push(W, false),
            'z' => push(Z, false),
            _ => {}
        }
        i += 1;
    }
    // Stress: the first vowel, or the second after an unstressed prefix.
    let prefixed = ["a", "be", "de", "re", "pre", "un", "con", "com", "dis", "ex", "in", "mis", "ob", "per", "pro", "sub", "sus", "trans"]
        .iter()
        .any(|p| word.starts_with(p) && word.len() > p.len() + 3 && !word[p.len()..].starts_with(|c: char| "aeiou".contains(c)));
    let vowel_idx: Vec<usize> = out.iter().enumerate().filter(|(_, (a, _))| a.is_vowel()).map(|(i, _)| i).collect();
    let primary = if prefixed && vowel_idx.len() > 1 { vowel_idx[1] } else { vowel_idx.first().copied().unwrap_or(usize::MAX) };
    out.iter()
        .enumerate()
        .map(|(i, &(a, long))| {
            if !a.is_vowel() {
                Phoneme::consonant(a)
            } else if i == primary {
                Phoneme::vowel(a, Stress::Primary)
            } else if long || a == ER {
                Phoneme::vowel(a, if a == ER { Stress::Unstressed } else { Stress::Secondary })
            } else {
                // Unstressed short vowels reduce.
                let reduced = match a {
                    AE | AA | AH => AH,
                    EH | IH => IH,
                    other => other,
                };
                Phoneme::vowel(reduced, Stress::Unstressed)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ps: &[Phoneme]) -> String {
        arpabet::to_string(ps)
    }

    #[test]
    fn dictionary_and_morphology() {
        assert_eq!(s(&dictionary("cat")[0]), "K AE1 T");
        assert!(dictionary("zxqv").is_empty());
        assert_eq!(s(&add_s(&p("K AE1 T"))), "K AE1 T S");
        assert_eq!(s(&add_s(&p("B AH1 S"))), "B AH1 S IH0 Z");
        assert_eq!(s(&add_ed(&p("W AO1 N T"))), "W AO1 N T IH0 D");
        assert_eq!(s(&spell("fbi", false)), "EH2 F B IY2 AY1");
    }

    #[test]
    fn letter_to_sound_rules_read_regular_spellings() {
        assert_eq!(s(&letter_to_sound("cat")), "K AE1 T");
        assert_eq!(s(&letter_to_sound("make")), "M EY1 K");
        assert_eq!(s(&letter_to_sound("ship")), "SH IH1 P");
        assert_eq!(s(&letter_to_sound("night")), "N AY1 T");
    }
}
