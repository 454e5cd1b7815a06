//! ARPAbet, the phoneme alphabet of CMUdict and g2p-en: the 39 US English phonemes, with a
//! stress level on every vowel. Everything the front end produces is ARPAbet first; the maps
//! to Kokoro's and the Singer's inventories start from it.

use std::fmt;

/// Lexical stress of a vowel, as CMUdict's digits: 0 unstressed, 1 primary, 2 secondary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stress {
    Unstressed,
    Primary,
    Secondary,
}

impl Stress {
    pub fn digit(self) -> char {
        match self {
            Stress::Unstressed => '0',
            Stress::Primary => '1',
            Stress::Secondary => '2',
        }
    }
}

macro_rules! arpa {
    ($($name:ident $vowel:literal),* $(,)?) => {
        /// One ARPAbet phoneme, without stress.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Arpa { $($name),* }

        impl Arpa {
            /// Every phoneme, in alphabetical order.
            pub const ALL: [Arpa; 39] = [$(Arpa::$name),*];

            /// The ARPAbet spelling (`AA`, `CH`, …).
            pub fn name(self) -> &'static str {
                match self { $(Arpa::$name => stringify!($name)),* }
            }

            /// A vowel (the syllable nucleus; carries stress).
            pub fn is_vowel(self) -> bool {
                match self { $(Arpa::$name => $vowel),* }
            }

            /// Parses the bare symbol (`"AA"`, case-insensitive).
            pub fn parse(s: &str) -> Option<Arpa> {
                let u = s.to_ascii_uppercase();
                match u.as_str() { $(stringify!($name) => Some(Arpa::$name),)* _ => None }
            }
        }
    };
}

arpa! {
    AA true, AE true, AH true, AO true, AW true, AY true, B false, CH false, D false, DH false,
    EH true, ER true, EY true, F false, G false, HH false, IH true, IY true, JH false, K false,
    L false, M false, N false, NG false, OW true, OY true, P false, R false, S false, SH false,
    T false, TH false, UH true, UW true, V false, W false, Y false, Z false, ZH false,
}

/// A phoneme with its stress (vowels only; consonants have `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Phoneme {
    pub arpa: Arpa,
    pub stress: Option<Stress>,
}

impl Phoneme {
    pub const fn consonant(arpa: Arpa) -> Self {
        Phoneme { arpa, stress: None }
    }

    pub const fn vowel(arpa: Arpa, stress: Stress) -> Self {
        Phoneme { arpa, stress: Some(stress) }
    }

    pub fn is_vowel(&self) -> bool {
        self.arpa.is_vowel()
    }

    /// Parses `AH0`, `K`, `uw1`; a vowel without a digit gets `default_stress`.
    pub fn parse(s: &str, default_stress: Stress) -> Option<Phoneme> {
        let (base, digit) = match s.as_bytes().last() {
            Some(b @ b'0'..=b'2') => (&s[..s.len() - 1], Some(*b)),
            _ => (s, None),
        };
        let arpa = Arpa::parse(base)?;
        if !arpa.is_vowel() {
            return digit.is_none().then_some(Phoneme::consonant(arpa));
        }
        let stress = match digit {
            Some(b'1') => Stress::Primary,
            Some(b'2') => Stress::Secondary,
            Some(_) => Stress::Unstressed,
            None => default_stress,
        };
        Some(Phoneme::vowel(arpa, stress))
    }
}

impl fmt::Display for Phoneme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stress {
            Some(s) => write!(f, "{}{}", self.arpa.name(), s.digit()),
            None => f.write_str(self.arpa.name()),
        }
    }
}

/// Parses a space-separated ARPAbet string (`"HH AH0 L OW1"`). Vowels without a digit are
/// unstressed, unless the string has a single vowel and no digit anywhere: then it is
/// primary (so `{K AE T}` means `K AE1 T`). `None` if any symbol is unknown.
pub fn parse_arpabet(s: &str) -> Option<Vec<Phoneme>> {
    let syms: Vec<&str> = s.split_whitespace().collect();
    let mut out = syms.iter().map(|t| Phoneme::parse(t, Stress::Unstressed)).collect::<Option<Vec<_>>>()?;
    let has_digit = syms.iter().any(|t| t.ends_with(['0', '1', '2']));
    ensure_stress(&mut out, has_digit);
    Some(out)
}

/// A word said on its own has a primary stress: when no stress was given at all, the single
/// vowel (or, with several, the first) gets it.
pub(crate) fn ensure_stress(ps: &mut [Phoneme], explicit: bool) {
    if explicit || ps.iter().any(|p| p.stress == Some(Stress::Primary)) {
        return;
    }
    if let Some(v) = ps.iter_mut().find(|p| p.is_vowel()) {
        v.stress = Some(Stress::Primary);
    }
}

/// Formats phonemes as `HH AH0 L OW1`.
pub fn to_string(ps: &[Phoneme]) -> String {
    ps.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" ")
}

/// IPA (and misaki's one-letter diphthongs) → ARPAbet, longest match first; `ˈ`/`ˌ` stress the
/// next vowel, length marks, syllable dots and ties are ignored. `None` on a symbol outside
/// English phonology.
pub fn parse_ipa(s: &str) -> Option<Vec<Phoneme>> {
    use Arpa::*;
    // (IPA, phonemes; a vowel entry's stress comes from the marks).
    const TABLE: &[(&str, &[Arpa])] = &[
        ("t͡ʃ", &[CH]), ("d͡ʒ", &[JH]), ("tʃ", &[CH]), ("dʒ", &[JH]), ("ʧ", &[CH]), ("ʤ", &[JH]),
        ("eɪ", &[EY]), ("aɪ", &[AY]), ("ɔɪ", &[OY]), ("aʊ", &[AW]), ("oʊ", &[OW]), ("əʊ", &[OW]),
        ("ɜɹ", &[ER]), ("ɜr", &[ER]), ("ɝ", &[ER]), ("ɚ", &[ER]), ("ɜ", &[ER]),
        ("A", &[EY]), ("I", &[AY]), ("Y", &[OY]), ("W", &[AW]), ("O", &[OW]),
        ("i", &[IY]), ("ɪ", &[IH]), ("ᵻ", &[IH]), ("e", &[EY]), ("ɛ", &[EH]), ("æ", &[AE]), ("a", &[AA]),
        ("ɑ", &[AA]), ("ɒ", &[AA]), ("ɔ", &[AO]), ("o", &[OW]), ("ʊ", &[UH]), ("u", &[UW]),
        ("ʌ", &[AH]), ("ə", &[AH]), ("ᵊ", &[AH]), ("ɐ", &[AH]),
        ("p", &[P]), ("b", &[B]), ("t", &[T]), ("d", &[D]), ("k", &[K]), ("ɡ", &[G]), ("g", &[G]),
        ("ɾ", &[T]), ("ʔ", &[T]), ("T", &[T]), ("f", &[F]), ("v", &[V]), ("θ", &[TH]), ("ð", &[DH]),
        ("s", &[S]), ("z", &[Z]), ("ʃ", &[SH]), ("ʒ", &[ZH]), ("h", &[HH]), ("m", &[M]), ("n", &[N]),
        ("ŋ", &[NG]), ("l", &[L]), ("ɫ", &[L]), ("ɹ", &[R]), ("r", &[R]), ("w", &[W]), ("j", &[Y]),
        ("x", &[K]),
    ];
    let mut out = Vec::new();
    let mut pending: Option<Stress> = None;
    let mut explicit = false;
    let mut rest = s.trim();
    while let Some(c) = rest.chars().next() {
        match c {
            'ˈ' | '\'' => {
                pending = Some(Stress::Primary);
                explicit = true;
                rest = &rest[c.len_utf8()..];
                continue;
            }
            'ˌ' | ',' => {
                pending = Some(Stress::Secondary);
                explicit = true;
                rest = &rest[c.len_utf8()..];
                continue;
            }
            'ː' | '.' | '\u{361}' | '\u{329}' | '\u{30D}' | ' ' | '-' => {
                rest = &rest[c.len_utf8()..];
                continue;
            }
            _ => {}
        }
        let (ipa, arpas) = TABLE.iter().find(|(ipa, _)| rest.starts_with(ipa))?;
        rest = &rest[ipa.len()..];
        for &a in *arpas {
            if a.is_vowel() {
                out.push(Phoneme::vowel(a, pending.take().unwrap_or(Stress::Unstressed)));
            } else {
                out.push(Phoneme::consonant(a));
            }
        }
    }
    ensure_stress(&mut out, explicit);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arpabet() {
        assert_eq!(to_string(&parse_arpabet("hh ah0 l ow1").unwrap()), "HH AH0 L OW1");
        assert_eq!(to_string(&parse_arpabet("K AE T").unwrap()), "K AE1 T");
        assert!(parse_arpabet("K X T").is_none());
        assert!(parse_arpabet("K1").is_none());
    }

    #[test]
    fn parses_ipa() {
        assert_eq!(to_string(&parse_ipa("həˈloʊ").unwrap()), "HH AH0 L OW1");
        assert_eq!(to_string(&parse_ipa("tʃɜːtʃ").unwrap()), "CH ER1 CH");
        assert_eq!(to_string(&parse_ipa("ˈwɔɾɚ").unwrap()), "W AO1 T ER0");
        assert!(parse_ipa("ʘ").is_none());
    }
}
