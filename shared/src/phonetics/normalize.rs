//! Text normalisation: written English → the words a reader says, each tied to the span of
//! input characters it was read from, plus the phrase breaks the punctuation implies.
//!
//! Handled: cardinals, ordinals (`21st`), decimals, negatives, years (`1984`, `1990s`, `'90s`),
//! dates (`3/5/2024`, `2024-03-05`, `March 5`, `5 March`), times (`3:30 pm`, `10am`), currency
//! (`$5.50`, `£3`, `€2 million`), percentages, fractions (`3/4`), ranges (`5-10`), numbers with
//! units (`5 kg`, `60Hz`, `100°F`), phone-number-like digit groups, common abbreviations (with
//! context rules for `Dr.`, `St.`, `No.`, `ft`), acronyms (spelled or read as a word by a rule
//! and exception lists), URLs and e-mail addresses, symbols (`&`, `+`, `@`, `#1`), hyphenated
//! words, and inline pronunciations (`{HH AH0 L OW1}` ARPAbet, `[[həˈloʊ]]` IPA; directly
//! after a word they set that word's pronunciation).

use super::arpabet::{self, Phoneme};
use super::numbers;
use std::ops::Range;

/// How long a break the punctuation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pause {
    /// No break (end of input without punctuation, quotes).
    None,
    /// Comma.
    Short,
    /// Semicolon, colon, dash, parenthesis.
    Medium,
    /// End of a sentence.
    Long,
    /// Blank line.
    Paragraph,
}

/// The sentence type, for prosody (a question's final rise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SentenceKind {
    Statement,
    Question,
    Exclamation,
}

/// How a normalised word is to be pronounced.
#[derive(Debug, Clone, PartialEq)]
pub enum How {
    /// Look the word up (lexicon, dictionary, homograph rules, G2P).
    Lookup,
    /// Say its letters' names (`FBI`); `plural` adds the `-s` of `CDs`.
    Spell { plural: bool },
    /// The writer's pronunciation (inline override).
    Phonemes(Vec<Phoneme>),
    /// A word written with hyphens that is one word (`hal-le-lu-jah`): looked up joined, its
    /// parts guide the syllable breaks.
    Hyphenated(Vec<String>),
}

/// One word to say.
#[derive(Debug, Clone, PartialEq)]
pub struct NormWord {
    /// The word as said, lower case for words (`"twenty-one"` becomes two words).
    pub text: String,
    /// Byte range of the input it was read from.
    pub span: Range<usize>,
    pub how: How,
    /// Written with a capital inside a sentence ("the Polish team"): a proper noun or
    /// adjective, which some homographs read differently.
    pub proper: bool,
}

/// A break between phrases.
#[derive(Debug, Clone, PartialEq)]
pub struct Break {
    /// The punctuation's byte range (empty at the end of input).
    pub span: Range<usize>,
    pub pause: Pause,
    /// Set when the break ends a sentence.
    pub sentence: Option<SentenceKind>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Word(NormWord),
    Break(Break),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ChunkKind {
    Text,
    Punct,
    Ipa,
    Arpa,
    Paragraph,
}

#[derive(Debug, Clone)]
struct Chunk {
    span: Range<usize>,
    kind: ChunkKind,
    /// An override written directly after a word (no space): it sets that word's sound.
    attached: bool,
}

const LEADING_PUNCT: &str = "\"'“‘([{¿¡«";
const TRAILING_PUNCT: &str = ".,;:!?\"'”’)]…»";

/// Splits the input into text runs, punctuation, overrides and paragraph breaks.
fn chunk(text: &str) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut i = 0;
    let b = text.as_bytes();
    while i < text.len() {
        let c = text[i..].chars().next().unwrap();
        if c.is_whitespace() {
            let start = i;
            let mut newlines = 0;
            while let Some(c) = text[i..].chars().next().filter(|c| c.is_whitespace()) {
                newlines += (c == '\n') as usize;
                i += c.len_utf8();
            }
            if newlines >= 2 {
                out.push(Chunk { span: start..i, kind: ChunkKind::Paragraph, attached: false });
            }
            continue;
        }
        let attached = out.last().is_some_and(|l: &Chunk| l.kind == ChunkKind::Text && l.span.end == i);
        if text[i..].starts_with("[[")
            && let Some(end) = text[i + 2..].find("]]")
        {
            out.push(Chunk { span: i..i + 2 + end + 2, kind: ChunkKind::Ipa, attached });
            i += 2 + end + 2;
            continue;
        }
        if c == '{'
            && let Some(end) = text[i + 1..].find('}')
        {
            out.push(Chunk { span: i..i + 1 + end + 1, kind: ChunkKind::Arpa, attached });
            i += 1 + end + 1;
            continue;
        }
        // A run up to whitespace or an override.
        let start = i;
        while i < text.len() {
            let c = text[i..].chars().next().unwrap();
            if c.is_whitespace() || text[i..].starts_with("[[") || (c == '{' && text[i + 1..].contains('}')) {
                break;
            }
            i += c.len_utf8();
        }
        if i == start {
            // A lone '{' or '[' without its closer.
            i += c.len_utf8();
        }
        split_run(text, start..i, &mut out);
        let _ = b;
    }
    out
}

/// Peels leading and trailing punctuation off a run; a period that belongs to an
/// abbreviation or a dotted acronym stays with the word.
fn split_run(text: &str, span: Range<usize>, out: &mut Vec<Chunk>) {
    let mut s = span.start;
    let mut e = span.end;
    let mut lead = Vec::new();
    while s < e {
        let c = text[s..].chars().next().unwrap();
        // A leading apostrophe before digits is a year ('90s); before letters an elision ('til).
        if LEADING_PUNCT.contains(c) && !(c == '\'' && text[s + 1..e].chars().next().is_some_and(|n| n.is_alphanumeric())) {
            lead.push(Chunk { span: s..s + c.len_utf8(), kind: ChunkKind::Punct, attached: false });
            s += c.len_utf8();
        } else {
            break;
        }
    }
    let mut trail = Vec::new();
    while e > s {
        let c = text[..e].chars().next_back().unwrap();
        let word = &text[s..e];
        if !TRAILING_PUNCT.contains(c) {
            break;
        }
        if c == '.' && keeps_period(word) {
            break;
        }
        // A plural possessive (dogs') keeps its apostrophe.
        if (c == '\'' || c == '’') && word.len() > 2 && word[..word.len() - c.len_utf8()].ends_with('s') && !lead.iter().any(|l: &Chunk| matches!(&text[l.span.clone()], "'" | "‘")) {
            break;
        }
        // "..." is one ellipsis.
        if c == '.' && word.ends_with("...") && e - 3 >= s {
            trail.push(Chunk { span: e - 3..e, kind: ChunkKind::Punct, attached: false });
            e -= 3;
            continue;
        }
        trail.push(Chunk { span: e - c.len_utf8()..e, kind: ChunkKind::Punct, attached: false });
        e -= c.len_utf8();
    }
    out.extend(lead);
    if s < e {
        let w = &text[s..e];
        if w.chars().all(|c| matches!(c, '-' | '–' | '—')) {
            out.push(Chunk { span: s..e, kind: ChunkKind::Punct, attached: false });
        } else {
            out.push(Chunk { span: s..e, kind: ChunkKind::Text, attached: false });
        }
    }
    out.extend(trail.into_iter().rev());
}

fn keeps_period(word: &str) -> bool {
    let stem = word.trim_end_matches('.');
    if stem.is_empty() || word.ends_with("..") {
        return false;
    }
    // Initials: "J. K. Rowling" (whether the period also ends a sentence is decided later).
    if stem.len() == 1 && stem.chars().all(|c| c.is_ascii_uppercase()) && word.len() == 2 {
        return true;
    }
    // Dotted acronyms and abbreviations: U.S., a.m., e.g.
    if stem.contains('.') && stem.split('.').all(|p| !p.is_empty() && p.len() <= 2 && p.chars().all(char::is_alphabetic)) {
        return true;
    }
    abbreviation(&stem.to_lowercase()).is_some()
}

/// Abbreviations that are written with a period. `None` for anything else. Context-dependent
/// ones (`dr`, `st`, `no`, `ft`) return their default; the rules pick another reading.
fn abbreviation(key: &str) -> Option<&'static str> {
    Some(match key {
        "mr" => "mister",
        "mrs" => "missus",
        "ms" => "miz",
        "dr" => "doctor",
        "st" => "saint",
        "jr" => "junior",
        "sr" => "senior",
        "prof" => "professor",
        "gen" => "general",
        "capt" => "captain",
        "lt" => "lieutenant",
        "sgt" => "sergeant",
        "col" => "colonel",
        "gov" => "governor",
        "sen" => "senator",
        "rep" => "representative",
        "rev" => "reverend",
        "hon" => "honorable",
        "pres" => "president",
        "ave" => "avenue",
        "blvd" => "boulevard",
        "rd" => "road",
        "mt" => "mount",
        "ft" => "fort",
        "no" => "number",
        "nos" => "numbers",
        "vs" => "versus",
        "etc" => "et cetera",
        "approx" => "approximately",
        "dept" => "department",
        "est" => "established",
        "inc" => "incorporated",
        "ltd" => "limited",
        "co" => "company",
        "corp" => "corporation",
        "univ" => "university",
        "jan" => "january",
        "feb" => "february",
        "mar" => "march",
        "apr" => "april",
        "jun" => "june",
        "jul" => "july",
        "aug" => "august",
        "sep" | "sept" => "september",
        "oct" => "october",
        "nov" => "november",
        "dec" => "december",
        "mon" => "monday",
        "tue" | "tues" => "tuesday",
        "wed" => "wednesday",
        "thu" | "thurs" => "thursday",
        "fri" => "friday",
        "sat" => "saturday",
        "sun" => "sunday",
        "vol" => "volume",
        "ch" => "chapter",
        "fig" => "figure",
        "pp" => "pages",
        "p" => "page",
        "e.g" => "for example",
        "i.e" => "that is",
        "a.m" => "a m",
        "p.m" => "p m",
        _ => return None,
    })
}

/// Titles never end a sentence with their period.
fn is_title(key: &str) -> bool {
    matches!(key, "mr" | "mrs" | "ms" | "dr" | "prof" | "gen" | "capt" | "lt" | "sgt" | "col" | "gov" | "sen" | "rep" | "rev" | "hon" | "pres" | "mt" | "no" | "nos" | "vs" | "e.g" | "i.e" | "p" | "pp" | "vol" | "ch" | "fig")
}

/// Units after a number: (singular, plural).
fn unit(s: &str) -> Option<(&'static str, &'static str)> {
    Some(match s {
        "km" => ("kilometer", "kilometers"),
        "m" => ("meter", "meters"),
        "cm" => ("centimeter", "centimeters"),
        "mm" => ("millimeter", "millimeters"),
        "kg" => ("kilogram", "kilograms"),
        "g" => ("gram", "grams"),
        "mg" => ("milligram", "milligrams"),
        "lb" | "lbs" => ("pound", "pounds"),
        "oz" => ("ounce", "ounces"),
        "ft" => ("foot", "feet"),
        "mi" => ("mile", "miles"),
        "mph" => ("mile per hour", "miles per hour"),
        "km/h" | "kph" | "kmh" => ("kilometer per hour", "kilometers per hour"),
        "l" | "L" => ("liter", "liters"),
        "ml" | "mL" => ("milliliter", "milliliters"),
        "s" | "sec" | "secs" => ("second", "seconds"),
        "ms" => ("millisecond", "milliseconds"),
        "min" | "mins" => ("minute", "minutes"),
        "h" | "hr" | "hrs" => ("hour", "hours"),
        "Hz" | "hz" => ("hertz", "hertz"),
        "kHz" | "khz" => ("kilohertz", "kilohertz"),
        "MHz" | "mhz" => ("megahertz", "megahertz"),
        "GHz" | "ghz" => ("gigahertz", "gigahertz"),
        "dB" | "db" => ("decibel", "decibels"),
        "V" => ("volt", "volts"),
        "W" => ("watt", "watts"),
        "kW" => ("kilowatt", "kilowatts"),
        "KB" | "kB" => ("kilobyte", "kilobytes"),
        "MB" => ("megabyte", "megabytes"),
        "GB" => ("gigabyte", "gigabytes"),
        "TB" => ("terabyte", "terabytes"),
        "°" => ("degree", "degrees"),
        "°C" => ("degree Celsius", "degrees Celsius"),
        "°F" => ("degree Fahrenheit", "degrees Fahrenheit"),
        "%" => ("percent", "percent"),
        "x" | "×" => ("times", "times"),
        _ => return None,
    })
}

const MONTHS: [&str; 12] =
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

fn month_name(word: &str) -> Option<usize> {
    let w = word.trim_end_matches('.').to_lowercase();
    MONTHS.iter().position(|m| *m == w).or(match w.as_str() {
        "jan" => Some(0),
        "feb" => Some(1),
        "mar" => Some(2),
        "apr" => Some(3),
        "jun" => Some(5),
        "jul" => Some(6),
        "aug" => Some(7),
        "sep" | "sept" => Some(8),
        "oct" => Some(9),
        "nov" => Some(10),
        "dec" => Some(11),
        _ => None,
    })
}

/// Acronyms read as words although a rule would spell them, or spelled although they look
/// pronounceable.
const READ_AS_WORD: &[&str] = &[
    "nasa", "nato", "unesco", "unicef", "aids", "opec", "fifa", "uefa", "ikea", "laser", "radar", "scuba", "gif", "covid", "nasdaq",
    "ascii", "captcha", "swat", "potus", "scotus", "nafta", "zip", "pin", "sim", "ram", "rom", "lan", "gui", "json", "yaml", "midi",
    "awol", "nimby", "cern", "darpa", "fema", "sars", "mers", "wifi", "dos", "pdf", "ok",
];
const ALWAYS_SPELLED: &[&str] = &["us", "usa", "uk", "eu", "un", "it", "ai", "id", "tv", "pc", "aclu", "aarp", "ieee", "ncaa", "naacp", "asap", "faq", "cia", "fbi", "nba", "nfl", "bbc", "cnn", "ceo", "diy", "html", "http", "https", "www", "url", "usb", "sql", "api", "cpu", "gpu", "dna", "rna", "atm", "suv", "mvp", "ufo", "vip", "iou", "cd", "dvd", "pr", "hr", "ad", "bc", "tba", "eta", "aka", "rsvp", "lol", "omg"];

/// Whether an all-capitals word is read as a word: the exception lists, else a
/// pronounceability rule (four letters or more, a vowel, initial and medial consonant
/// clusters English allows).
fn acronym_is_word(lower: &str) -> bool {
    if ALWAYS_SPELLED.contains(&lower) {
        return false;
    }
    if READ_AS_WORD.contains(&lower) {
        return true;
    }
    if lower.len() < 4 {
        return false;
    }
    pronounceable(lower)
}

fn pronounceable(w: &str) -> bool {
    let is_v = |c: char| "aeiouy".contains(c);
    let chars: Vec<char> = w.chars().collect();
    if !chars.iter().any(|&c| "aeiou".contains(c)) {
        return false;
    }
    // Clusters of consonants and of vowels.
    let mut groups: Vec<(bool, String)> = Vec::new();
    for &c in &chars {
        let v = is_v(c);
        match groups.last_mut() {
            Some((gv, s)) if *gv == v => s.push(c),
            _ => groups.push((v, c.to_string())),
        }
    }
    const ONSETS: &[&str] = &[
        "bl", "br", "cl", "cr", "dr", "fl", "fr", "gl", "gr", "pl", "pr", "sc", "sk", "sl", "sm", "sn", "sp", "st", "sw", "tr", "tw", "th", "sh",
        "ch", "wh", "ph", "qu", "str", "spr", "scr", "spl",
    ];
    for (k, (v, s)) in groups.iter().enumerate() {
        if *v {
            if s.len() > 2 {
                return false;
            }
        } else if k == 0 {
            if s.len() > 1 && !ONSETS.contains(&s.as_str()) {
                return false;
            }
        } else if k + 1 == groups.len() {
            if s.len() > 2 {
                return false;
            }
        } else if s.len() > 3 {
            return false;
        }
    }
    // Two-letter vowel-initial words like "ACLU" read better spelled: ask for a consonant
    // between the first two vowels' groups when the word starts with a vowel.
    !(groups[0].0 && groups.len() > 2 && groups[1].1.len() >= 2 && !ONSETS.contains(&groups[1].1.as_str()))
}

fn is_all_caps(w: &str) -> bool {
    w.chars().any(char::is_alphabetic) && w.chars().all(|c| !c.is_alphabetic() || c.is_uppercase())
}

fn starts_upper(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase)
}

/// The normaliser. `known` answers whether a lower-case word is in the pronouncing
/// dictionary (for URL parts, hyphenated words and acronyms).
pub struct Normalizer<'a> {
    text: &'a str,
    chunks: Vec<Chunk>,
    known: &'a dyn Fn(&str) -> bool,
    shouting: bool,
    /// Whether the text chunk being read starts a sentence.
    sentence_initial: bool,
    out: Vec<Item>,
}

/// Normalises `text` into words and breaks. Always ends with a break (the end of input).
pub fn normalize(text: &str, known: &dyn Fn(&str) -> bool) -> Vec<Item> {
    let chunks = chunk(text);
    // Text in capitals throughout is shouting, not acronyms.
    let words: Vec<&str> = chunks.iter().filter(|c| c.kind == ChunkKind::Text).map(|c| &text[c.span.clone()]).filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2).collect();
    let caps = words.iter().filter(|w| is_all_caps(w)).count();
    // (Acronym lists such as "AI, ML and NLP" are not shouting: ask for ordinary words too.)
    let caps_words = words.iter().filter(|w| is_all_caps(w) && w.len() >= 3 && known(&w.to_lowercase()) && !ALWAYS_SPELLED.contains(&w.to_lowercase().as_str())).count();
    let shouting = caps >= 3 && caps * 10 >= words.len() * 6 && caps_words >= 2;
    let mut n = Normalizer { text, chunks, known, shouting, sentence_initial: true, out: Vec::new() };
    n.run();
    n.out
}

impl<'a> Normalizer<'a> {
    fn s(&self, k: usize) -> &'a str {
        &self.text[self.chunks[k].span.clone()]
    }

    fn text_at(&self, k: Option<usize>) -> Option<&'a str> {
        let k = k?;
        (self.chunks.get(k)?.kind == ChunkKind::Text).then(|| self.s(k))
    }

    fn word(&mut self, text: &str, span: Range<usize>, how: How) {
        self.out.push(Item::Word(NormWord { text: text.to_string(), span, how, proper: false }));
    }

    /// Several words (space or hyphen separated) from one span.
    fn words(&mut self, text: &str, span: Range<usize>) {
        for w in text.split([' ', '-']).filter(|w| !w.is_empty()) {
            if w.len() == 1 && w != "a" && w != "i" || w.chars().all(|c| c.is_ascii_uppercase()) && w.len() > 1 {
                self.word(&w.to_lowercase(), span.clone(), How::Spell { plural: false });
            } else {
                self.word(w, span.clone(), How::Lookup);
            }
        }
    }

    fn brk(&mut self, span: Range<usize>, pause: Pause, sentence: Option<SentenceKind>) {
        // Merge with a break just before (", —" or "?!").
        if let Some(Item::Break(b)) = self.out.last_mut() {
            b.span.end = span.end.max(b.span.end);
            if pause > b.pause {
                b.pause = pause;
            }
            if sentence.is_some() && (b.sentence.is_none() || sentence != Some(SentenceKind::Statement)) {
                b.sentence = sentence;
            }
            return;
        }
        if self.out.is_empty() {
            return;
        }
        self.out.push(Item::Break(Break { span, pause, sentence }));
    }

    fn run(&mut self) {
        let mut k = 0;
        while k < self.chunks.len() {
            let span = self.chunks[k].span.clone();
            let s = self.s(k);
            match self.chunks[k].kind {
                ChunkKind::Paragraph => self.brk(span, Pause::Paragraph, Some(SentenceKind::Statement)),
                ChunkKind::Punct => self.punct(k),
                ChunkKind::Ipa | ChunkKind::Arpa => {
                    let inner = if self.chunks[k].kind == ChunkKind::Ipa { &s[2..s.len() - 2] } else { &s[1..s.len() - 1] };
                    let parsed = if self.chunks[k].kind == ChunkKind::Ipa { arpabet::parse_ipa(inner) } else { arpabet::parse_arpabet(inner) };
                    let attached = self.chunks[k].attached;
                    match parsed {
                        Some(ps) if attached => {
                            // Replace the words read from the preceding text run by one word.
                            let prev = self.chunks[k - 1].span.clone();
                            while let Some(Item::Word(w)) = self.out.last() {
                                if w.span.start >= prev.start { self.out.pop(); } else { break; }
                            }
                            let text = self.text[prev.clone()].to_lowercase();
                            self.word(&text, prev.start..span.end, How::Phonemes(ps));
                        }
                        Some(ps) => self.word(inner.trim(), span, How::Phonemes(ps)),
                        // Not a pronunciation: read what is inside.
                        None => self.words(&inner.to_lowercase(), span),
                    }
                }
                ChunkKind::Text => {
                    k = self.text_chunk(k);
                    continue;
                }
            }
            k += 1;
        }
        let end = self.text.len();
        match self.out.last_mut() {
            Some(Item::Break(b)) if b.sentence.is_none() => {
                b.sentence = Some(SentenceKind::Statement);
                b.pause = b.pause.max(Pause::Long);
            }
            Some(Item::Break(_)) => {}
            Some(Item::Word(_)) => {
                // A final period kept by an abbreviation ("etc.") still ends the sentence.
                let pause = if self.text.trim_end().ends_with('.') { Pause::Long } else { Pause::None };
                self.out.push(Item::Break(Break { span: end..end, pause, sentence: Some(SentenceKind::Statement) }))
            }
            None => {}
        }
    }

    fn punct(&mut self, k: usize) {
        let span = self.chunks[k].span.clone();
        let s = self.s(k);
        let next_is_text = self.chunks.get(k + 1).is_some_and(|c| c.kind == ChunkKind::Text);
        match s {
            "." => self.brk(span, Pause::Long, Some(SentenceKind::Statement)),
            "!" | "¡" => self.brk(span, Pause::Long, Some(SentenceKind::Exclamation)),
            "?" | "¿" => self.brk(span, Pause::Long, Some(SentenceKind::Question)),
            "…" | "..." => {
                // Trailing off mid-sentence or at its end.
                let ends = !next_is_text || self.text_at(Some(k + 1)).is_some_and(starts_upper);
                self.brk(span, if ends { Pause::Long } else { Pause::Medium }, ends.then_some(SentenceKind::Statement))
            }
            "," => self.brk(span, Pause::Short, None),
            ";" | ":" | "(" | ")" | "[" | "]" => self.brk(span, Pause::Medium, None),
            _ if s.chars().all(|c| matches!(c, '-' | '–' | '—')) => self.brk(span, Pause::Medium, None),
            _ => {} // quotes and the like: no break
        }
    }

    /// Reads text chunk `k` (and maybe following ones it consumes); returns the next chunk.
    fn text_chunk(&mut self, k: usize) -> usize {
        // Sentence-initial: nothing before but opening quotes and brackets, back to the start,
        // a sentence end or a paragraph.
        self.sentence_initial = {
            let mut j = k;
            loop {
                if j == 0 {
                    break true;
                }
                j -= 1;
                let c = &self.chunks[j];
                let t = &self.text[c.span.clone()];
                match c.kind {
                    ChunkKind::Paragraph => break true,
                    ChunkKind::Punct if matches!(t, "\"" | "“" | "‘" | "'" | "(" | "[" | "«") => continue,
                    ChunkKind::Punct => break matches!(t, "." | "!" | "?" | "…" | "..."),
                    _ => break false,
                }
            }
        };
        let span = self.chunks[k].span.clone();
        let w = self.s(k);
        let prev = self.text_at(k.checked_sub(1));
        let next = self.text_at(Some(k + 1));
        let lower = w.to_lowercase();
        let key = lower.trim_end_matches('.');

        // URLs and e-mail addresses.
        if is_url(w) || is_email(w) {
            self.url(w, span);
            return k + 1;
        }
        // Anything with digits (or a currency sign).
        if w.chars().any(|c| c.is_ascii_digit()) {
            return self.number_chunk(k);
        }
        // An initial: its letter; the period ends the sentence unless a name follows.
        if w.len() == 2 && w.ends_with('.') && w.starts_with(|c: char| c.is_ascii_uppercase()) {
            self.word(&lower[..1], span.start..span.start + 1, How::Spell { plural: false });
            let name_follows = next.is_some_and(|n| starts_upper(n) && !starter(n));
            if !name_follows {
                let end = span.end;
                self.brk(end - 1..end, Pause::Long, Some(SentenceKind::Statement));
            }
            return k + 1;
        }
        // Abbreviations written with a period (and a few without).
        if w.ends_with('.') || matches!(key, "mr" | "mrs" | "ms" | "dr" | "st" | "jr" | "sr" | "vs") {
            if let Some(exp) = self.abbreviation_in_context(key, prev, next, w) {
                self.words(exp, span.clone());
                // The period of a non-title abbreviation also ends a sentence when the next
                // word starts one.
                let not_abbreviated = exp == key;
                let title_like = (is_title(key) && !not_abbreviated && !(key == "dr" && exp == "drive")) || (key == "st" && exp == "saint") || (key == "ft" && exp == "fort");
                if w.ends_with('.') && !title_like && (next.is_some_and(starts_upper) || (not_abbreviated && next.is_some())) && !next.is_some_and(|n| month_name(n).is_none() && n.chars().next().is_some_and(|c| c.is_ascii_digit())) {
                    let end = span.end;
                    self.brk(end - 1..end, Pause::Long, Some(SentenceKind::Statement));
                }
                return k + 1;
            }
            // Dotted acronym: U.S., N.A.S.A. → spelled.
            if key.contains('.') && key.split('.').all(|p| p.len() == 1) {
                let letters: String = key.chars().filter(|c| c.is_alphabetic()).collect();
                self.word(&letters, span.clone(), How::Spell { plural: false });
                if next.is_some_and(starts_upper) && !matches!(letters.as_str(), "us" | "uk") {
                    let end = span.end;
                    self.brk(end - 1..end, Pause::Long, Some(SentenceKind::Statement));
                }
                return k + 1;
            }
        }
        // A letter as a label: "plan A", "vitamin A", "grade A".
        if w == "A"
            && prev.is_some_and(|p| {
                matches!(p.to_lowercase().as_str(), "plan" | "vitamin" | "grade" | "type" | "class" | "exit" | "section" | "row" | "gate" | "terminal" | "part" | "option" | "group" | "side" | "platform" | "block" | "level" | "size")
            })
        {
            self.word("a", span, How::Spell { plural: false });
            return k + 1;
        }
        // Roman numerals after a name or a counted noun: "Henry VIII", "World War II".
        if let Some(v) = roman(w).filter(|_| w.len() >= 2 || matches!(w, "V" | "X")) {
            let p = prev.map(|p| p.trim_end_matches([',', '.']).to_lowercase());
            let counted = p.as_deref().is_some_and(|p| {
                matches!(p, "chapter" | "part" | "volume" | "vol" | "act" | "book" | "phase" | "war" | "bowl" | "title" | "article" | "section" | "episode" | "level" | "stage" | "grade" | "mark" | "type" | "class" | "psalm" | "canto" | "appendix")
            });
            // Regnal names only: "Buy CD" or "Plan B" are not numbers.
            let named = v <= 40
                && prev.is_some_and(|p| {
                    matches!(p, "Henry" | "Louis" | "Elizabeth" | "John" | "Paul" | "Pius" | "George" | "Edward" | "Richard" | "Charles" | "William" | "James" | "Benedict" | "Gregory" | "Leo" | "Napoleon" | "Ramesses" | "Ptolemy" | "Philip" | "Frederick" | "Alexander" | "Nicholas" | "Peter" | "Catherine" | "Mary" | "Victoria" | "Constantine" | "Innocent" | "Clement" | "Urban" | "Boniface" | "Alfonso" | "Ferdinand" | "Gustav" | "Otto" | "Rocky" | "Jr" | "Sr")
                });
            if counted {
                self.words(&numbers::cardinal(&v.to_string()), span);
                return k + 1;
            }
            if named {
                self.words(&format!("the {}", numbers::ordinal(&v.to_string())), span);
                return k + 1;
            }
        }
        if w == "x" && prev.is_some_and(|p| p.chars().all(|c| c.is_ascii_digit() || c == '.')) && next.is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit())) {
            self.word("times", span, How::Lookup);
            return k + 1;
        }
        // Symbols.
        match w {
            "&" => { self.word("and", span, How::Lookup); return k + 1; }
            "+" => { self.word("plus", span, How::Lookup); return k + 1; }
            "=" => { self.word("equals", span, How::Lookup); return k + 1; }
            "@" => { self.word("at", span, How::Lookup); return k + 1; }
            "%" => { self.word("percent", span, How::Lookup); return k + 1; }
            "/" => { self.word("slash", span, How::Lookup); return k + 1; }
            "×" | "*" if prev.is_some() && next.is_some() => { self.word("times", span, How::Lookup); return k + 1; }
            "~" => { self.word("about", span, How::Lookup); return k + 1; }
            "#" => { self.word("number", span, How::Lookup); return k + 1; }
            _ => {}
        }
        // Words joined by '/', '&' or '+'.
        if w.len() > 1 && w.contains(['/', '&', '+']) && w.chars().all(|c| c.is_alphabetic() || matches!(c, '/' | '&' | '+' | '\'' )) {
            let lw = w.to_lowercase();
            match lw.as_str() {
                "and/or" => self.words("and or", span),
                "he/she" => self.words("he or she", span),
                "w/" => self.words("with", span),
                "w/o" => self.words("without", span),
                _ => {
                    for (i, part) in w.split(['/', '&', '+']).enumerate() {
                        if i > 0 {
                            let sep = w.split(['/', '&', '+']).take(i).map(|p| p.len() + 1).sum::<usize>() - 1;
                            let word = match &w[sep..sep + 1] { "&" => "and", "+" => "plus", _ => "slash" };
                            self.word(word, span.start + sep..span.start + sep + 1, How::Lookup);
                        }
                        let off = span.start + w.split(['/', '&', '+']).take(i).map(|p| p.len() + 1).sum::<usize>();
                        if !part.is_empty() {
                            self.plain_word(part, off..off + part.len());
                        }
                    }
                }
            }
            return k + 1;
        }
        // Hyphenated words.
        if w.contains('-') && w.chars().any(char::is_alphabetic) {
            let parts: Vec<&str> = w.split('-').filter(|p| !p.is_empty()).collect();
            let joined: String = parts.concat().to_lowercase();
            let all_alpha = parts.iter().all(|p| p.chars().all(|c| c.is_alphabetic() || c == '\''));
            if all_alpha && parts.len() > 1 {
                let parts_known = parts.iter().all(|p| (self.known)(&p.to_lowercase()));
                if (self.known)(&joined) || !parts_known {
                    let hint = parts.iter().map(|p| p.to_lowercase()).collect();
                    self.word(&joined, span, How::Hyphenated(hint));
                    return k + 1;
                }
            }
            let mut off = span.start;
            for part in w.split('-') {
                if !part.is_empty() {
                    self.plain_word(part, off..off + part.len());
                }
                off += part.len() + 1;
            }
            return k + 1;
        }
        self.plain_word(w, span);
        k + 1
    }

    fn abbreviation_in_context(&self, key: &str, prev: Option<&str>, next: Option<&str>, written: &str) -> Option<&'static str> {
        let exp = abbreviation(key)?;
        let next_name = next.is_some_and(|n| starts_upper(n) && month_name(n).is_none() && !starter(n));
        let prev_name = prev.is_some_and(|p| starts_upper(p) || p.chars().next().is_some_and(|c| c.is_ascii_digit()));
        let next_digit = next.is_some_and(|n| n.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '#'));
        Some(match key {
            // "Dr. Smith" but "Mulholland Dr."
            "dr" => if prev_name && !next_name { "drive" } else { "doctor" },
            // "St. Louis" but "Main St." and "5th St."
            "st" => if prev_name { "street" } else if next_name { "saint" } else { "street" },
            // "No. 5" but "No." elsewhere is the word.
            "no" | "nos" => if next_digit { exp } else if key == "no" { "no" } else { "nos" },
            // "Ft. Worth" but "6 ft."
            "ft" => if prev.is_some_and(|p| p.chars().all(|c| c.is_ascii_digit() || c == '.')) { "feet" } else { exp },
            // Month and day abbreviations need their period (or a following number) to count.
            "mar" | "jun" | "sun" | "sat" | "wed" | "jan" | "may" | "dec" | "sep" | "oct" | "nov" | "aug" | "apr" | "feb" | "jul" | "mon" | "fri" | "thu" | "tue" | "sept" | "thurs" | "tues" | "co" | "est" | "rev" | "gen" | "col" | "pres" | "sen" | "rep" | "ch" | "p" | "pp" | "vol" | "fig" | "inc" | "ltd" | "corp" | "univ" | "hon" | "gov" | "mt" | "ave" | "blvd" | "rd" | "etc" | "approx" | "dept" | "capt" | "lt" | "sgt" | "prof" | "vs" | "jr" | "sr" | "mr" | "mrs" | "ms"
                if !written.ends_with('.') && !matches!(key, "mr" | "mrs" | "ms" | "vs" | "jr" | "sr") => return None,
            _ => exp,
        })
    }

    /// A word of letters (and apostrophes), perhaps an acronym or with digits inside.
    fn plain_word(&mut self, w: &str, span: Range<usize>) {
        let lower = w.to_lowercase().replace('’', "'");
        let letters: String = w.chars().filter(|c| c.is_alphabetic()).collect();
        if letters.is_empty() {
            // Stray symbols: nothing to say.
            return;
        }
        if w.chars().any(|c| c.is_ascii_digit()) {
            self.alnum(w, span);
            return;
        }
        // Acronyms: all capitals (a trailing lower-case plural s allowed: CDs, APIs; and the
        // possessive: HTML's).
        let w = match w.strip_suffix("'s").or_else(|| w.strip_suffix("’s")) {
            Some(st) if st.len() >= 2 && st.chars().all(|c| c.is_ascii_uppercase()) && !acronym_is_word(&st.to_lowercase()) => {
                self.word(&st.to_lowercase(), span, How::Spell { plural: true });
                return;
            }
            _ => w,
        };
        let (stem, plural) = match w.strip_suffix('s') {
            Some(st) if st.len() >= 2 && is_all_caps(st) && st.chars().all(|c| c.is_ascii_uppercase()) => (st, true),
            _ => (w, false),
        };
        let caps = stem.chars().count() >= 2 && stem.chars().all(|c| c.is_ascii_uppercase());
        if caps && (!self.shouting || ALWAYS_SPELLED.contains(&stem.to_lowercase().as_str()) && stem.len() > 2) {
            let sl = stem.to_lowercase();
            if acronym_is_word(&sl) {
                let text = if plural { format!("{sl}s") } else { sl };
                let text = if text == "ok" { "okay".to_string() } else { text };
                self.word(&text, span, How::Lookup);
            } else {
                self.word(&sl, span, How::Spell { plural });
            }
            return;
        }
        // Single letters other than the words "a" and "I" are names of letters when capital
        // and alone ("plan B", "vitamin C").
        if letters.len() == 1 && w.len() == 1 && !matches!(w, "a" | "A" | "I") {
            self.word(&lower, span, How::Spell { plural: false });
            return;
        }
        let clean: String = lower.chars().filter(|c| c.is_alphabetic() || *c == '\'').collect();
        self.word(clean.trim_matches('\''), span, How::Lookup);
        let capitalised = w.chars().next().is_some_and(char::is_uppercase) && w.chars().skip(1).all(|c| !c.is_uppercase());
        if capitalised && !self.sentence_initial
            && let Some(Item::Word(last)) = self.out.last_mut()
        {
            last.proper = true;
        }
    }

    /// Letters and digits mixed: "MP3", "3D", "4x4", "B2B".
    fn alnum(&mut self, w: &str, span: Range<usize>) {
        let mut runs: Vec<(usize, usize, bool)> = Vec::new(); // (start, end, is_digit)
        for (i, c) in w.char_indices() {
            if !c.is_alphanumeric() {
                continue;
            }
            let d = c.is_ascii_digit();
            match runs.last_mut() {
                Some((_, e, rd)) if *rd == d && *e == i => *e = i + c.len_utf8(),
                _ => runs.push((i, i + c.len_utf8(), d)),
            }
        }
        // "4x4": x between numbers is "by".
        for (j, &(s, e, d)) in runs.iter().enumerate() {
            let part = &w[s..e];
            let sp = span.start + s..span.start + e;
            if d {
                self.words(&numbers::cardinal(part), sp);
            } else if part == "x" && j > 0 && j + 1 < runs.len() && runs[j - 1].2 && runs[j + 1].2 {
                self.word("by", sp, How::Lookup);
            } else if part.len() <= 3 || part.chars().all(|c| c.is_ascii_uppercase()) && !acronym_is_word(&part.to_lowercase()) {
                self.word(&part.to_lowercase(), sp, How::Spell { plural: false });
            } else {
                self.word(&part.to_lowercase(), sp, How::Lookup);
            }
        }
    }

    fn url(&mut self, w: &str, span: Range<usize>) {
        let mut body = w;
        let mut off = span.start;
        for scheme in ["https://", "http://", "mailto:"] {
            if let Some(rest) = w.strip_prefix(scheme) {
                body = rest;
                off += scheme.len();
            }
        }
        let body = body.trim_end_matches('/');
        let mut i = 0;
        let bytes = body.as_bytes();
        while i < body.len() {
            let c = bytes[i] as char;
            if c.is_ascii_alphanumeric() {
                let start = i;
                let digits = c.is_ascii_digit();
                while i < body.len() && (bytes[i] as char).is_ascii_alphanumeric() && (bytes[i] as char).is_ascii_digit() == digits {
                    i += 1;
                }
                let part = &body[start..i];
                let sp = off + start..off + i;
                if digits {
                    let words = if part.len() <= 2 { numbers::cardinal(part) } else { numbers::digit_by_digit(part) };
                    self.words(&words, sp);
                } else {
                    let l = part.to_lowercase();
                    let known = (self.known)(&l);
                    if l == "www" || (!known && (l.len() <= 3 || !pronounceable(&l))) || ALWAYS_SPELLED.contains(&l.as_str()) && l.len() > 2 {
                        self.word(&l, sp, How::Spell { plural: false });
                    } else {
                        self.word(&l, sp, How::Lookup);
                    }
                }
                continue;
            }
            let word = match c {
                '.' => "dot",
                '/' => "slash",
                '@' => "at",
                ':' => "colon",
                '-' => "dash",
                '_' => "underscore",
                '?' => "question mark",
                '=' => "equals",
                '&' => "and",
                '#' => "hash",
                '~' => "tilde",
                '+' => "plus",
                _ => "",
            };
            let clen = body[i..].chars().next().unwrap().len_utf8();
            self.words(word, off + i..off + i + clen);
            i += clen;
        }
    }

    /// A chunk with digits; may consume following chunks (units, "am", "million", years).
    fn number_chunk(&mut self, k: usize) -> usize {
        let span = self.chunks[k].span.clone();
        let w = self.s(k);
        let prev = self.text_at(k.checked_sub(1));
        let next = self.text_at(Some(k + 1));
        let next_lower = next.map(|n| n.to_lowercase());
        let (s0, _) = (span.start, span.end);

        // Currency prefix.
        let mut body = w;
        let mut off = 0;
        let mut sign = "";
        if let Some(rest) = body.strip_prefix(['-', '−']) {
            sign = "minus";
            off += body.len() - rest.len();
            body = rest;
        } else if let Some(rest) = body.strip_prefix('+') {
            sign = "plus";
            off += 1;
            body = rest;
        }
        let currency = ["$", "£", "€", "¥"].into_iter().find(|c| body.starts_with(c));
        if let Some(c) = currency {
            body = &body[c.len()..];
            off += c.len();
        }
        if let Some(rest) = body.strip_prefix('#') {
            self.word("number", s0 + off..s0 + off + 1, How::Lookup);
            off += 1;
            body = rest;
        }
        // Leading digits (with commas) and an optional decimal part.
        let num_len = body.char_indices().find(|&(i, c)| !(c.is_ascii_digit() || (c == ',' && body[i + 1..].starts_with(|d: char| d.is_ascii_digit()) && i > 0) || (c == '.' && body[i + 1..].starts_with(|d: char| d.is_ascii_digit())))).map(|(i, _)| i).unwrap_or(body.len());
        let num = &body[..num_len];
        let rest = &body[num_len..];
        let num_span = s0 + off..s0 + off + num_len;
        let rest_span = s0 + off + num_len..span.end;

        if num.is_empty() {
            // Something like "'90s" or "v2": letters first.
            if let Some(d) = body.strip_prefix(['\'', '’']).filter(|d| d.len() == 3 && d.ends_with('s') && d[..2].chars().all(|c| c.is_ascii_digit())) {
                self.words(&numbers::plural(&numbers::cardinal(&d[..2])), span);
                return k + 1;
            }
            if body.contains('-') {
                for (o, part) in pieces(w, &['-']) {
                    let ps = span.start + o..span.start + o + part.len();
                    if part.chars().any(|c| c.is_ascii_digit()) {
                        self.alnum(part, ps);
                    } else if !part.is_empty() {
                        self.plain_word(part, ps);
                    }
                }
                return k + 1;
            }
            self.alnum(w, span);
            return k + 1;
        }
        let (int, frac) = match num.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (num, None),
        };
        if num.matches('.').count() > 1 {
            // Version numbers and IP addresses: "1.2.3" → "one point two point three".
            let parts: Vec<String> = num.split('.').map(numbers::cardinal).collect();
            self.words(&parts.join(" point "), span);
            return k + 1;
        }
        let int_plain = int.replace(',', "");
        let value: Option<u64> = int_plain.parse().ok();
        let is_one = frac.is_none() && value == Some(1);
        if !sign.is_empty() {
            self.word(sign, s0..s0 + 1, How::Lookup);
        }

        // Times: 3:30, 10:05:20, with am/pm after.
        if rest.starts_with(':') && frac.is_none() {
            let mut parts = vec![int];
            let mut r = rest;
            while let Some(t) = r.strip_prefix(':') {
                let l = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
                parts.push(&t[..l]);
                r = &t[l..];
            }
            let mut said = numbers::cardinal(parts[0]);
            let meridiem = ampm(r).or_else(|| next_lower.as_deref().and_then(ampm));
            if let Some(m) = parts.get(1) {
                let mv: u32 = m.parse().unwrap_or(0);
                if mv == 0 && parts.len() == 2 {
                    if meridiem.is_none() {
                        said.push_str(" o'clock");
                    }
                } else if mv < 10 {
                    said.push_str(&format!(" oh {}", numbers::cardinal(m)));
                } else {
                    said.push_str(&format!(" {}", numbers::cardinal(m)));
                }
            }
            if let Some(sec) = parts.get(2) {
                said.push_str(&format!(" and {} seconds", numbers::cardinal(sec)));
            }
            self.words(&said, span.start + off..span.start + off + w.len() - off - r.len());
            let mut consumed = k + 1;
            if let Some(m) = meridiem {
                if ampm(r).is_some() {
                    self.word(m, rest_span.end - r.len()..rest_span.end, How::Spell { plural: false });
                } else {
                    let nspan = self.chunks[k + 1].span.clone();
                    self.word(m, nspan, How::Spell { plural: false });
                    consumed = k + 2;
                    self.abbreviation_period_end(k + 1);
                }
            }
            return consumed;
        }
        // Dates: 3/5/2024, 2024-03-05; fractions 3/4; ranges 5-10; phone numbers.
        if (rest.starts_with('/') || rest.starts_with('-') || rest.starts_with('–')) && frac.is_none() {
            let sep = &rest[..rest.chars().next().unwrap().len_utf8()];
            let groups: Vec<&str> = body.split(sep).collect();
            let all_digits = groups.iter().all(|g| !g.is_empty() && g.chars().all(|c| c.is_ascii_digit()));
            if all_digits {
                let g: Vec<u32> = groups.iter().map(|x| x.parse().unwrap_or(u32::MAX)).collect();
                // ISO date.
                if sep == "-" && groups.len() == 3 && groups[0].len() == 4 && (1..=12).contains(&g[1]) && (1..=31).contains(&g[2]) {
                    self.date(g[1], groups[2], groups[0], span);
                    return k + 1;
                }
                // US date m/d/y.
                if sep == "/" && groups.len() == 3 && (1..=12).contains(&g[0]) && (1..=31).contains(&g[1]) && (groups[2].len() == 4 || groups[2].len() == 2) {
                    let y = if groups[2].len() == 2 { format!("20{}", groups[2]) } else { groups[2].to_string() };
                    self.date(g[0], groups[1], &y, span);
                    return k + 1;
                }
                if sep == "/" && groups.len() == 2 && (1..=12).contains(&g[0]) && (13..=31).contains(&g[1]) {
                    let said = format!("{} {}", MONTHS[g[0] as usize - 1], numbers::ordinal(groups[1]));
                    self.words(&said, span);
                    return k + 1;
                }
                if sep == "/" && groups.len() == 2 {
                    if groups == ["24", "7"] {
                        self.words("twenty-four seven", span);
                    } else if groups[0] == groups[1] {
                        let n = numbers::cardinal(groups[0]);
                        self.words(&format!("{n} {n}"), span);
                    } else if let Some(f) = numbers::fraction(groups[0], groups[1]) {
                        self.words(&f, span);
                    } else {
                        let said = format!("{} over {}", numbers::cardinal(groups[0]), numbers::cardinal(groups[1]));
                        self.words(&said, span);
                    }
                    return k + 1;
                }
                // Phone numbers: 555-1234, 800-555-1234.
                if sep == "-" && groups.len() >= 2 && groups.last().unwrap().len() == 4 && groups[..groups.len() - 1].iter().all(|g| g.len() == 3) {
                    for (o, grp) in pieces(body, &['-']) {
                        self.words(&numbers::digit_by_digit(grp), s0 + off + o..s0 + off + o + grp.len());
                    }
                    return k + 1;
                }
                // Ranges: 5-10, 1990-1995.
                if groups.len() == 2 {
                    let read = |g: &str| if g.len() == 4 && (1000..2100).contains(&g.parse::<u32>().unwrap_or(0)) { numbers::year(g) } else { numbers::cardinal(g) };
                    let at = s0 + off + groups[0].len();
                    self.words(&read(groups[0]), s0 + off..at);
                    self.word("to", at..at + sep.len(), How::Lookup);
                    self.words(&read(groups[1]), at + sep.len()..span.end);
                    return k + 1;
                }
                let sep_char = sep.chars().next().unwrap_or('-');
                for (o, grp) in pieces(body, &[sep_char]) {
                    self.words(&numbers::digit_by_digit(grp), s0 + off + o..s0 + off + o + grp.len());
                }
                return k + 1;
            }
            // "COVID-19", "5-year-old": read the parts.
            for (o, part) in pieces(w, &['-', '–']) {
                let ps = span.start + o..span.start + o + part.len();
                if part.chars().any(|c| c.is_ascii_digit()) {
                    self.alnum_or_number(part, ps);
                } else if !part.is_empty() {
                    self.plain_word(part, ps);
                }
            }
            return k + 1;
        }

        if rest.contains('-') && !rest.starts_with('-') {
            for (o, part) in pieces(w, &['-']) {
                if !part.is_empty() {
                    let ps = span.start + o..span.start + o + part.len();
                    match part.find(|c: char| !c.is_ascii_digit()) {
                        Some(i) if i > 0 && matches!(&part[i..], "st" | "nd" | "rd" | "th") => self.words(&numbers::ordinal(&part[..i]), ps),
                        _ if part.chars().any(|c| c.is_ascii_digit()) => self.alnum_or_number(part, ps),
                        _ => self.plain_word(part, ps),
                    }
                }
            }
            return k + 1;
        }
        let suffix = rest;
        let suffix_l = suffix.to_lowercase();
        // Ordinals: 1st, 22nd.
        if frac.is_none() && matches!(suffix_l.as_str(), "st" | "nd" | "rd" | "th") {
            let mut said = numbers::ordinal(int);
            // "5 March" → "the fifth of March".
            if next.and_then(month_name).is_some() && prev.and_then(month_name).is_none() {
                said = format!("the {said} of");
            }
            self.words(&said, num_span.start..span.end);
            return k + 1;
        }
        // Decades: 1990s, 80s.
        if frac.is_none() && (suffix == "s" || suffix == "'s") && int_plain.len() >= 2 {
            let base = if int_plain.len() == 4 { numbers::year(&int_plain) } else { numbers::cardinal(&int_plain) };
            self.words(&numbers::plural(&base), span);
            return k + 1;
        }
        // am/pm glued on: 10am.
        if let Some(m) = ampm(suffix).filter(|_| frac.is_none() && value.is_some_and(|v| (1..=12).contains(&v))) {
            self.words(&numbers::cardinal(int), num_span);
            self.word(m, rest_span, How::Spell { plural: false });
            return k + 1;
        }
        // Currency scales glued on: $5m, $2bn, $3k.
        let scale_glued = match suffix_l.as_str() {
            "k" => Some("thousand"),
            // Without a currency sign only before a counted noun: "2.5m people" (not "5m long").
            "m" | "mn" | "mil" if currency.is_some() || next_lower.as_deref().is_some_and(counted_noun) => Some("million"),
            "b" | "bn" if currency.is_some() || next_lower.as_deref().is_some_and(counted_noun) => Some("billion"),
            "t" | "tn" if currency.is_some() => Some("trillion"),
            _ => None,
        };
        let amount = match frac {
            Some(f) => numbers::decimal(int, f),
            None => numbers::cardinal(int),
        };
        if let Some(c) = currency {
            let (unit1, units, sub1, subs) = match c {
                "$" => ("dollar", "dollars", "cent", "cents"),
                "£" => ("pound", "pounds", "penny", "pence"),
                "€" => ("euro", "euros", "cent", "cents"),
                _ => ("yen", "yen", "sen", "sen"),
            };
            let next_scale = next_lower.as_deref().filter(|n| matches!(n.trim_end_matches(['.', ',']), "thousand" | "million" | "billion" | "trillion"));
            let cur_span = s0 + off - c.len()..s0 + off;
            if let Some(sc) = scale_glued {
                self.words(&format!("{amount} {sc}"), num_span.start..span.end);
                self.word(units, cur_span, How::Lookup);
                return k + 1;
            }
            if let Some(sc) = next_scale {
                self.words(&amount, num_span);
                let nspan = self.chunks[k + 1].span.clone();
                self.word(sc, nspan, How::Lookup);
                self.word(units, cur_span, How::Lookup);
                return k + 2;
            }
            let cents = frac.filter(|f| f.len() == 2).map(|f| f.parse::<u32>().unwrap_or(0));
            match cents {
                Some(c) if frac.is_some() => {
                    let whole = value.unwrap_or(0);
                    if whole > 0 || c == 0 {
                        self.words(&numbers::cardinal(int), num_span.start..num_span.start + int.len());
                        self.word(if whole == 1 { unit1 } else { units }, cur_span.clone(), How::Lookup);
                    }
                    if c > 0 {
                        if whole > 0 {
                            self.word("and", num_span.start + int.len()..num_span.start + int.len() + 1, How::Lookup);
                        }
                        let f = frac.unwrap();
                        self.words(&numbers::cardinal(f), num_span.end - f.len()..num_span.end);
                        self.word(if c == 1 { sub1 } else { subs }, cur_span, How::Lookup);
                    }
                }
                _ => {
                    self.words(&amount, num_span);
                    self.word(if is_one { unit1 } else { units }, cur_span, How::Lookup);
                }
            }
            if !suffix.is_empty() {
                self.plain_word(suffix, rest_span);
            }
            return k + 1;
        }
        if let Some(sc) = scale_glued {
            self.words(&format!("{amount} {sc}"), span);
            return k + 1;
        }
        // Units glued on (5kg, 60Hz, 100°F, 50%) or as the next chunk (5 kg).
        if let Some((one, many)) = unit(suffix).or_else(|| unit(&suffix_l)) {
            self.words(&amount, num_span);
            self.words(if is_one { one } else { many }, rest_span);
            return k + 1;
        }
        if suffix.is_empty()
            && let Some(n) = next
        {
            let n_trim = n.trim_end_matches('.');
            let unit_ok = unit(n_trim).filter(|_| n_trim != "x" && (n_trim.len() > 1 || matches!(n_trim, "m" | "g" | "s" | "h" | "l" | "L" | "V" | "W" | "°")));
            // Single letters only count as units after a number when lower-case and not "a"/"I".
            if let Some((one, many)) = unit_ok.filter(|_| !matches!(n_trim, "in" | "a" | "I" | "am" | "pm")) {
                self.words(&amount, num_span);
                let nspan = self.chunks[k + 1].span.clone();
                self.words(if is_one { one } else { many }, nspan);
                return k + 2;
            }
        }
        if !suffix.is_empty() {
            // Unknown letters after the number: read both ("3D", "4G").
            self.alnum_or_number(&w[off..], s0 + off..span.end);
            return k + 1;
        }
        // "3 pm", "10 a.m."
        if suffix.is_empty()
            && frac.is_none()
            && value.is_some_and(|v| (1..=12).contains(&v))
            && let Some(m) = next_lower.as_deref().and_then(ampm)
        {
            self.words(&numbers::cardinal(int), num_span);
            let nspan = self.chunks[k + 1].span.clone();
            self.word(m, nspan, How::Spell { plural: false });
            self.abbreviation_period_end(k + 1);
            return k + 2;
        }
        // Plain numbers: day of month, years, digit strings, cardinals.
        let said = if frac.is_some() {
            amount
        } else if let Some(v) = value.filter(|v| (1..=31).contains(v)).filter(|_| prev.and_then(month_name).is_some() && !int.contains(',')) {
            let _ = v;
            numbers::ordinal(int)
        } else if let Some(v) = value.filter(|v| (1..=31).contains(v)).filter(|_| next.and_then(month_name).is_some() && !int.contains(',')) {
            let _ = v;
            format!("the {} of", numbers::ordinal(int))
        } else if int.len() == 4
            && !int.contains(',')
            && value.is_some_and(|v| (1000..2100).contains(&v))
            && !next.is_some_and(|n| unit(n).is_some() || counted_noun(&n.to_lowercase()))
        {
            numbers::year(int)
        } else if int.len() > 1 && int.starts_with('0')
            || (int.len() == 3 && k > 0 && self.s(k - 1) == "(" && self.chunks.get(k + 1).is_some_and(|c| &self.text[c.span.clone()] == ")"))
        {
            // Leading zeros, and area codes: "(555) 123-4567".
            numbers::digit_by_digit(int)
        } else {
            numbers::cardinal(int)
        };
        self.words(&said, num_span);
        k + 1
    }

    fn alnum_or_number(&mut self, part: &str, span: Range<usize>) {
        if part.chars().all(|c| c.is_ascii_digit()) {
            self.words(&numbers::cardinal(part), span);
        } else {
            self.alnum(part, span);
        }
    }

    /// "March fifth, twenty twenty-four".
    fn date(&mut self, month: u32, day: &str, year: &str, span: Range<usize>) {
        let said = format!("{} {} {}", MONTHS[month as usize - 1], numbers::ordinal(day), numbers::year(year));
        self.words(&said, span);
    }

    /// After "3 p.m." the period may also end the sentence.
    fn abbreviation_period_end(&mut self, k: usize) {
        let w = self.s(k);
        let next = self.text_at(Some(k + 1));
        if w.ends_with('.') && next.is_some_and(starts_upper) {
            let end = self.chunks[k].span.end;
            self.brk(end - 1..end, Pause::Long, Some(SentenceKind::Statement));
        }
    }
}

/// Nouns that make a four-digit number a quantity rather than a year ("1999 dollars").
fn counted_noun(w: &str) -> bool {
    matches!(
        w.trim_end_matches(['.', ',', ';', ':', '!', '?']),
        "dollars" | "euros" | "pounds" | "cents" | "yen" | "people" | "persons" | "times" | "miles" | "meters" | "metres" | "feet" | "units"
            | "items" | "words" | "pages" | "points" | "votes" | "students" | "employees" | "copies" | "calories" | "steps" | "rows"
            | "cars" | "homes" | "jobs" | "tons" | "kilometers" | "acres" | "customers" | "users" | "members" | "soldiers" | "troops"
    )
}

/// The value of a Roman numeral in capitals (`VIII` → 8), canonical forms only, 1–3999.
fn roman(w: &str) -> Option<u32> {
    if w.is_empty() || !w.chars().all(|c| "IVXLCDM".contains(c)) {
        return None;
    }
    let val = |c| match c {
        'I' => 1,
        'V' => 5,
        'X' => 10,
        'L' => 50,
        'C' => 100,
        'D' => 500,
        _ => 1000,
    };
    let cs: Vec<u32> = w.chars().map(val).collect();
    let mut total = 0;
    for (i, &v) in cs.iter().enumerate() {
        if cs.get(i + 1).is_some_and(|&n| n > v) { total -= v as i64 } else { total += v as i64 }
    }
    let total = u32::try_from(total).ok().filter(|t| (1..4000).contains(t))?;
    // Only the canonical spelling counts (rejects "IIII", "VX", "MIX"-like words stay words).
    let mut canon = String::new();
    let mut n = total;
    for (v, sym) in [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")] {
        while n >= v {
            canon.push_str(sym);
            n -= v;
        }
    }
    (canon == w).then_some(total)
}

/// The pieces of `s` between separators, each with its byte offset in `s`.
fn pieces<'s>(s: &'s str, seps: &[char]) -> Vec<(usize, &'s str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if seps.contains(&c) {
            out.push((start, &s[start..i]));
            start = i + c.len_utf8();
        }
    }
    out.push((start, &s[start..]));
    out
}

/// Capitalised words that usually start a sentence rather than continue a name.
fn starter(n: &str) -> bool {
    matches!(
        n.to_lowercase().as_str(),
        "the" | "then" | "he" | "she" | "it" | "we" | "they" | "i" | "but" | "and" | "so" | "a" | "an" | "this" | "that" | "there" | "it's"
            | "you" | "my" | "our" | "his" | "her" | "their" | "in" | "on" | "at" | "after" | "before" | "when" | "if"
    )
}

fn ampm(s: &str) -> Option<&'static str> {
    match s.to_lowercase().trim_end_matches('.') {
        "am" | "a.m" => Some("am"),
        "pm" | "p.m" => Some("pm"),
        _ => None,
    }
}

fn is_url(w: &str) -> bool {
    let l = w.to_lowercase();
    if l.starts_with("http://") || l.starts_with("https://") || l.starts_with("www.") {
        return true;
    }
    // bare domains: example.com, example.org/path
    let host = l.split('/').next().unwrap_or("");
    let tld = host.rsplit('.').next().unwrap_or("");
    host.contains('.')
        && !host.contains('@')
        && host.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && host.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && matches!(tld, "com" | "org" | "net" | "io" | "edu" | "gov" | "co" | "uk" | "de" | "ai" | "dev" | "info" | "app")
}

fn is_email(w: &str) -> bool {
    match w.split_once('@') {
        Some((user, host)) => !user.is_empty() && host.contains('.') && !host.ends_with('.') && !host.contains('@'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(text: &str) -> String {
        normalize(text, &|w| matches!(w, "example" | "com" | "john" | "doe" | "well" | "known"))
            .iter()
            .map(|i| match i {
                Item::Word(w) => match &w.how {
                    How::Spell { .. } => w.text.to_uppercase(),
                    _ => w.text.clone(),
                },
                Item::Break(b) => match (b.pause, b.sentence) {
                    (_, Some(SentenceKind::Question)) => "?".into(),
                    (_, Some(SentenceKind::Exclamation)) => "!".into(),
                    (Pause::Short, _) => ",".into(),
                    (Pause::Medium, _) => ";".into(),
                    _ => "|".into(),
                },
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn reads_numbers_and_abbreviations() {
        assert_eq!(said("Dr. Smith lives on Elm Dr."), "doctor smith lives on elm drive |");
        assert_eq!(said("It costs $5.50, ok?"), "it costs five dollars and fifty cents , ok ?");
        assert_eq!(said("In 1984 at 3:30 pm"), "in nineteen eighty four at three thirty PM |");
        assert_eq!(said("the FBI and NASA"), "the FBI and nasa |");
        assert_eq!(said("visit www.example.com"), "visit WWW dot example dot com |");
        assert_eq!(said("john.doe@example.com"), "john dot doe at example dot com |");
        assert_eq!(said("well-known"), "well known |");
    }
}
