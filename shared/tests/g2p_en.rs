//! Parity of the g2p-en port with the reference forward pass of the same weights (NumPy,
//! float64, itself checked against the package's own float32 `G2p.predict`; see
//! `fixtures/g2p_en.py`): every word of the fixture's list (real words, names, rare words,
//! pseudo-words) and every odd input (capitals, apostrophes, accents, long words) must get the
//! identical phoneme sequence. Needs `cargo xtask models`; says so and skips without it, unless
//! VOIRS_REQUIRE_MODELS=1 (CI), where a missing model fails.

mod common;

use common::model_file;
use std::time::Instant;
use voirs_shared::phonetics::g2p::{self, G2pEn};

fn fixture() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/g2p_en_words.json")).unwrap()
}

fn pairs<'a>(fixture: &'a serde_json::Value, key: &str) -> Vec<(&'a str, &'a str)> {
    fixture[key].as_object().unwrap().iter().map(|(w, p)| (w.as_str(), p.as_str().unwrap())).collect()
}

#[test]
fn g2p_en_gives_the_reference_phonemes_for_every_word() {
    let Some(weights) = model_file(g2p::FILE) else { return };
    let fixture = fixture();
    let model = G2pEn::load(&weights).unwrap();
    let near_ties = fixture["near_ties"].as_object().unwrap();
    let words = pairs(&fixture, "words");
    let others = pairs(&fixture, "other_inputs");
    assert!(words.len() >= 1200, "the fixture has {} words", words.len());

    let start = Instant::now();
    let got: Vec<String> = words.iter().chain(&others).map(|(w, _)| model.predict(w).join(" ")).collect();
    let elapsed = start.elapsed();

    let mut mismatches = Vec::new();
    let mut tie_mismatches = Vec::new();
    for ((word, want), got) in words.iter().chain(&others).zip(&got) {
        if got != want {
            let line = format!("{word:?}: port [{got}] vs reference [{want}]");
            if near_ties.contains_key(*word) { tie_mismatches.push(line) } else { mismatches.push(line) }
        }
    }
    let total = got.len();
    eprintln!(
        "g2p-en parity: {}/{total} identical ({} words + {} other inputs); {} flagged near-ties ({} of them differ)",
        total - mismatches.len() - tie_mismatches.len(),
        words.len(),
        others.len(),
        near_ties.len(),
        tie_mismatches.len()
    );
    for line in &tie_mismatches {
        eprintln!("  near-tie differs: {line}");
    }
    let letters: usize = words.iter().chain(&others).map(|(w, _)| w.chars().count()).sum();
    eprintln!(
        "g2p-en: {:.1} µs per word on average ({:.1} letters per input)",
        elapsed.as_secs_f64() * 1e6 / total as f64,
        letters as f64 / total as f64
    );
    assert!(mismatches.is_empty(), "{} of {total} differ:\n{}", mismatches.len(), mismatches.join("\n"));
}

/// The port's first decoder logits against the reference's, for the five words the fixture
/// keeps them for: close enough that a parity failure is a near-tie, not a wrong network.
#[test]
fn g2p_en_first_decoder_logits_match_the_reference() {
    let Some(weights) = model_file(g2p::FILE) else { return };
    let fixture = fixture();
    let model = G2pEn::load(&weights).unwrap();
    let mut worst = 0.0f64;
    for (word, steps) in fixture["logits"]["words"].as_object().unwrap() {
        let want: Vec<Vec<f64>> = steps.as_array().unwrap().iter().map(|s| s.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()).collect();
        let got = model.logits(word, want.len());
        assert_eq!(got.len(), want.len(), "{word:?}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.len(), g2p::PHONEMES.len());
            for (a, b) in g.iter().zip(w) {
                worst = worst.max((*a as f64 - b).abs());
            }
        }
    }
    eprintln!("g2p-en first 3 decoder steps: max |Δlogit| = {worst:.2e}");
    assert!(worst < 1e-3, "logits differ by {worst}");
}

#[test]
fn g2p_en_sanity() {
    let Some(weights) = model_file(g2p::FILE) else { return };
    let model = G2pEn::load(&weights).unwrap();
    assert_eq!(model.predict("cat"), ["K", "AE1", "T"]);
    assert_eq!(model.predict("knight"), ["N", "AY1", "T"]);
    assert_eq!(model.predict("activationist"), ["AE2", "K", "T", "IH0", "V", "EY1", "SH", "AH0", "N", "IH0", "S", "T"]);
    // Deterministic, independent of what ran before, and the same from a second load.
    let again = G2pEn::load(&weights).unwrap();
    for w in ["cat", "zbigniew", "floccinaucinihilipilification", ""] {
        let first = model.predict(w);
        assert_eq!(model.predict(w), first, "{w:?}");
        assert_eq!(again.predict(w), first, "{w:?}");
        assert!(first.len() <= g2p::MAX_STEPS);
        assert!(first.iter().all(|p| g2p::PHONEMES[4..].contains(p)), "{w:?}: {first:?}");
    }
    // predict does not lower-case: capitals are <unk>, as in the package.
    assert_ne!(model.predict("Cat"), model.predict("cat"));
}
