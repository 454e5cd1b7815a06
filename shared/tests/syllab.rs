//! Syllabification against a table (`fixtures/syllables.tsv`: `word<TAB>syllables`, syllables
//! separated by ` . `): maximal onset with legal English onsets on CMUdict pronunciations, and
//! written hyphens (`hal-le-lu-jah`) deciding the breaks where they give one part per vowel.
//! `VOIRS_SYLLABLES_DUMP=path` writes the current splits in the same format.

use voirs_shared::phonetics::arpabet::{Arpa, Stress, parse_arpabet, to_string};
use voirs_shared::phonetics::syllable::{is_legal_onset, syllabify, syllabify_with_hyphens};
use voirs_shared::phonetics::FrontEnd;

fn split(front: &FrontEnd, word: &str) -> String {
    let u = front.analyze(word);
    assert_eq!(u.words.len(), 1, "{word:?} reads as {} words", u.words.len());
    let w = &u.words[0];
    w.syllables.iter().map(|s| to_string(&w.phonemes[s.range()])).collect::<Vec<_>>().join(" . ")
}

#[test]
fn syllables_split_as_the_table_says() {
    let front = FrontEnd::new();
    let rows: Vec<(&str, &str)> = include_str!("fixtures/syllables.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_once('\t').unwrap_or((l, "")))
        .collect();
    assert!(rows.len() >= 80, "{} rows", rows.len());
    let mut dump = String::new();
    let mut failures = Vec::new();
    for (word, want) in &rows {
        let got = split(&front, word);
        dump.push_str(&format!("{word}\t{got}\n"));
        if got != *want {
            failures.push(format!("{word}: want [{want}] got [{got}]"));
        }
    }
    if let Ok(path) = std::env::var("VOIRS_SYLLABLES_DUMP") {
        std::fs::write(path, dump).unwrap();
    }
    let hyphenated = rows.iter().filter(|(w, _)| w.contains('-')).count();
    eprintln!("syllable table: {}/{} split as expected ({hyphenated} with written hyphens)", rows.len() - failures.len(), rows.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_dictionary_syllable_has_a_legal_onset_and_one_vowel() {
    // Over a spread of CMUdict: each syllable has exactly one vowel, its nucleus; every
    // onset after the first syllable is a legal English onset; and the syllables partition
    // the word.
    let front = FrontEnd::new();
    let text = "the quick brown fox jumps over the lazy dog while seventeen extraordinary \
                instruments constructively misconstrue abstractions in Mississippi splendidly";
    let u = front.analyze(text);
    let mut syllables = 0;
    for w in &u.words {
        for (k, s) in w.syllables.iter().enumerate() {
            let vowels: Vec<usize> = s.range().filter(|&i| w.phonemes[i].is_vowel()).collect();
            assert_eq!(vowels, [s.nucleus], "{}", w.text);
            if k > 0 {
                let onset: Vec<Arpa> = s.onset(&w.phonemes).iter().map(|p| p.arpa).collect();
                assert!(is_legal_onset(&onset), "{}: {onset:?}", w.text);
            }
            assert_eq!(Some(s.stress), w.phonemes[s.nucleus].stress);
            syllables += 1;
        }
    }
    assert!(syllables > 40);
}

#[test]
fn hyphens_that_do_not_match_the_vowels_fall_back_to_the_rule() {
    let p = parse_arpabet("HH AE2 L AH0 L UW1 Y AH0").unwrap();
    assert_eq!(syllabify_with_hyphens(&p, &["hal", "lelujah"]), syllabify(&p));
    let extra = parse_arpabet("EH1 K S T R AH0").unwrap();
    let by_hyphen = syllabify_with_hyphens(&extra, &["ex", "tra"]);
    assert_eq!(by_hyphen[1].onset(&extra).len(), 2, "ex-tra puts T R in the second syllable");
    assert_eq!(syllabify(&extra)[1].onset(&extra).len(), 3, "maximal onset puts S T R there");
    assert_eq!(by_hyphen[0].stress, Stress::Primary);
}

#[test]
fn legal_onsets() {
    use Arpa::*;
    for ok in [&[S, T, R][..], &[P, L], &[K, W], &[TH, R], &[S, K, W], &[B, Y], &[]] {
        assert!(is_legal_onset(ok), "{ok:?}");
    }
    for bad in [&[N, T][..], &[NG], &[T, L], &[S, R], &[D, L], &[S, T, L], &[K, S]] {
        assert!(!is_legal_onset(bad), "{bad:?}");
    }
}
