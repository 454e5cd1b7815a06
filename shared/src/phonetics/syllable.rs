//! Syllabification of an English word's phonemes by the maximal-onset principle: every
//! consonant between two vowels joins the following syllable as long as the consonants it
//! would start with form a legal English word onset (`S T R` in "astray", not `N T` in
//! "winter"). A writer's hyphens (`hal-le-lu-jah`) override the rule when they give one part
//! per vowel.

use super::arpabet::{Arpa, Phoneme, Stress};
use std::ops::Range;

/// One syllable as index ranges into its word's phoneme list: onset `start..nucleus`, nucleus
/// `nucleus` (one ARPAbet vowel; diphthongs are single symbols), coda `nucleus + 1..end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syllable {
    pub start: usize,
    pub nucleus: usize,
    pub end: usize,
    /// The nucleus's stress (`Unstressed` for a vowelless word such as "hmm").
    pub stress: Stress,
}

impl Syllable {
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
    pub fn onset<'a>(&self, word: &'a [Phoneme]) -> &'a [Phoneme] {
        &word[self.start..self.nucleus]
    }
    pub fn nucleus<'a>(&self, word: &'a [Phoneme]) -> &'a Phoneme {
        &word[self.nucleus]
    }
    pub fn coda<'a>(&self, word: &'a [Phoneme]) -> &'a [Phoneme] {
        &word[self.nucleus + 1..self.end]
    }
}

/// Whether `c` can begin an English word (and so a syllable).
pub fn is_legal_onset(c: &[Arpa]) -> bool {
    use Arpa::*;
    match c {
        [] => true,
        [NG] => false,
        [x] => !x.is_vowel(),
        [a, b] => matches!(
            (a, b),
            (P | B | T | D | K | G | F | TH | SH, R)
                | (P | B | K | G | F | S, L)
                | (S, P | T | K | M | N | W | F)
                | (P | B | F | V | K | G | M | HH, Y)
                | (T | D | K | G | TH, W)
        ),
        [S, b, c] => matches!((b, c), (P, R | L | Y) | (T, R) | (K, R | W | L | Y)),
        _ => false,
    }
}

/// Splits `phonemes` into syllables by maximal onset. Consonants before the first vowel are
/// its onset and after the last its coda, whatever they are. A vowelless word is one syllable
/// whose nucleus is its first sonorant (M, N, NG, L, R) or else its last phoneme.
pub fn syllabify(phonemes: &[Phoneme]) -> Vec<Syllable> {
    let vowels: Vec<usize> = phonemes.iter().enumerate().filter(|(_, p)| p.is_vowel()).map(|(i, _)| i).collect();
    if vowels.is_empty() {
        return vowelless(phonemes);
    }
    // Onset length of each vowel after the first, chosen from the consonants between.
    let mut starts = vec![0];
    for w in vowels.windows(2) {
        let cluster: Vec<Arpa> = phonemes[w[0] + 1..w[1]].iter().map(|p| p.arpa).collect();
        let onset = (0..=cluster.len()).rev().find(|&k| is_legal_onset(&cluster[cluster.len() - k..])).unwrap_or(0);
        starts.push(w[1] - onset);
    }
    build(phonemes, &vowels, &starts)
}

/// Syllabifies with the writer's hyphenation: `parts` are the letters of each hyphen-separated
/// part (`["hal", "le", "lu", "jah"]`). Used when the parts are as many as the vowels: each
/// boundary gives the following part as many onset consonants as its spelling starts with
/// consonant sounds (digraphs such as `th`, `ch`, `ck` count once). Otherwise the rule applies.
pub fn syllabify_with_hyphens(phonemes: &[Phoneme], parts: &[&str]) -> Vec<Syllable> {
    let vowels: Vec<usize> = phonemes.iter().enumerate().filter(|(_, p)| p.is_vowel()).map(|(i, _)| i).collect();
    if parts.len() < 2 || vowels.len() != parts.len() {
        return syllabify(phonemes);
    }
    let mut starts = vec![0];
    for (k, w) in vowels.windows(2).enumerate() {
        let between = w[1] - w[0] - 1;
        let onset = leading_consonant_sounds(parts[k + 1]).min(between);
        starts.push(w[1] - onset);
    }
    build(phonemes, &vowels, &starts)
}

/// Consonant sounds a spelling starts with, before its first vowel letter (`y` after a
/// consonant counts as a vowel).
fn leading_consonant_sounds(part: &str) -> usize {
    let mut s: Vec<char> = part.to_lowercase().chars().filter(|c| c.is_alphabetic()).collect();
    // A syllabic "-le" ("kle" in "twin-kle") is the nucleus: only what precedes it is onset.
    if s.len() >= 3 && s.ends_with(&['l', 'e']) && !s[..s.len() - 2].iter().any(|c| "aeiouy".contains(*c)) {
        s.truncate(s.len() - 2);
        return s.len().min(2);
    }
    let mut i = 0;
    let mut n = 0;
    while i < s.len() {
        let c = s[i];
        if "aeiou".contains(c) || (c == 'y' && i > 0) {
            break;
        }
        let pair: String = s[i..(i + 2).min(s.len())].iter().collect();
        i += if matches!(pair.as_str(), "th" | "sh" | "ch" | "ph" | "wh" | "ck" | "ng" | "gh" | "qu") { 2 } else { 1 };
        n += if pair == "qu" { 2 } else { 1 };
    }
    n
}

fn build(phonemes: &[Phoneme], vowels: &[usize], starts: &[usize]) -> Vec<Syllable> {
    (0..vowels.len())
        .map(|k| Syllable {
            start: starts[k],
            nucleus: vowels[k],
            end: starts.get(k + 1).copied().unwrap_or(phonemes.len()),
            stress: phonemes[vowels[k]].stress.unwrap_or(Stress::Unstressed),
        })
        .collect()
}

fn vowelless(phonemes: &[Phoneme]) -> Vec<Syllable> {
    if phonemes.is_empty() {
        return Vec::new();
    }
    let nucleus = phonemes
        .iter()
        .position(|p| matches!(p.arpa, Arpa::M | Arpa::N | Arpa::NG | Arpa::L | Arpa::R))
        .unwrap_or(phonemes.len() - 1);
    vec![Syllable { start: 0, nucleus, end: phonemes.len(), stress: Stress::Unstressed }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phonetics::arpabet::parse_arpabet;

    fn split(s: &str) -> String {
        let p = parse_arpabet(s).unwrap();
        syllabify(&p)
            .iter()
            .map(|sy| p[sy.range()].iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join(" . ")
    }

    #[test]
    fn maximal_onset() {
        assert_eq!(split("AH0 S T R EY1"), "AH0 . S T R EY1");
        assert_eq!(split("W IH1 N T ER0"), "W IH1 N . T ER0");
        assert_eq!(split("HH M"), "HH M");
    }

    #[test]
    fn counts_digraphs_once() {
        assert_eq!(leading_consonant_sounds("thing"), 1);
        assert_eq!(leading_consonant_sounds("str"), 3);
        assert_eq!(leading_consonant_sounds("ya"), 1);
        assert_eq!(leading_consonant_sounds("a"), 0);
        assert_eq!(leading_consonant_sounds("kle"), 1);
    }
}
