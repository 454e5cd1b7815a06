//! The front end with g2p-en (candle) for words CMUdict lacks, and how the two fallbacks
//! compare on words CMUdict does know (measured against the dictionary, every variant
//! accepted). Needs `cargo xtask models`; says so and skips without it, unless
//! VOIRS_REQUIRE_MODELS=1.

mod common;

use common::model_file;
use std::sync::Arc;
use voirs_shared::phonetics::arpabet::{Phoneme, to_string};
use voirs_shared::phonetics::g2p::{self, G2pEn};
use voirs_shared::phonetics::lexicon::{self, G2p, RuleG2p, Source};
use voirs_shared::phonetics::FrontEnd;

#[test]
fn unknown_words_go_through_g2p_en() {
    let Some(weights) = model_file(g2p::FILE) else { return };
    let model = Arc::new(G2pEn::load(&weights).unwrap());
    let front = FrontEnd::with_g2p(model.clone());
    let u = front.analyze("Glorptastic voirs met the flurbish Kokoro team.");
    for (k, word) in [(0, "glorptastic"), (4, "flurbish")] {
        assert!(lexicon::dictionary(word).is_empty(), "{word} is in CMUdict");
        assert_eq!(u.words[k].text, word);
        assert_eq!(u.words[k].source, Source::G2p, "{word}");
        let got: Vec<String> = u.words[k].phonemes.iter().map(Phoneme::to_string).collect();
        // The bare `UW` of the model's list is read as unstressed.
        let want: Vec<String> = G2pEn::predict(&model, word).iter().map(|s| if *s == "UW" { "UW0".to_string() } else { s.to_string() }).collect();
        assert_eq!(got, want, "{word}");
    }
    // Dictionary words and dictionary stems with an ending do not touch the model.
    assert_eq!(u.words[1].source, Source::Morphology);
    assert_eq!(u.words[3].source, Source::Homograph);
    assert_eq!(u.words[6].source, Source::Dictionary);
}

/// Word accuracy of the two fallbacks on the fixture's words that CMUdict has: g2p-en is
/// the one to ship; the rules only keep the front end answering without the model.
#[test]
fn g2p_en_beats_the_letter_to_sound_rules_on_dictionary_words() {
    let Some(weights) = model_file(g2p::FILE) else { return };
    let model = G2pEn::load(&weights).unwrap();
    let fixture: serde_json::Value = serde_json::from_str(include_str!("fixtures/g2p_en_words.json")).unwrap();
    let words: Vec<&str> = fixture["words"].as_object().unwrap().keys().map(String::as_str).filter(|w| w.len() > 1 && !lexicon::dictionary(w).is_empty()).collect();
    assert!(words.len() >= 500, "{} dictionary words", words.len());
    let strip = |ps: &[Phoneme]| ps.iter().map(|p| p.arpa.name()).collect::<Vec<_>>().join(" ");
    let (mut neural_exact, mut rules_exact, mut neural_seg, mut rules_seg) = (0, 0, 0, 0);
    for w in &words {
        let refs = lexicon::dictionary(w);
        let n = G2p::predict(&model, w);
        let r = RuleG2p.predict(w);
        neural_exact += refs.iter().any(|x| to_string(x) == to_string(&n)) as usize;
        rules_exact += refs.iter().any(|x| to_string(x) == to_string(&r)) as usize;
        neural_seg += refs.iter().any(|x| strip(x) == strip(&n)) as usize;
        rules_seg += refs.iter().any(|x| strip(x) == strip(&r)) as usize;
    }
    let pct = |k: usize| 100.0 * k as f64 / words.len() as f64;
    eprintln!(
        "{} CMUdict words: g2p-en {:.1} % exact ({:.1} % ignoring stress); letter-to-sound rules {:.1} % ({:.1} %)",
        words.len(),
        pct(neural_exact),
        pct(neural_seg),
        pct(rules_exact),
        pct(rules_seg)
    );
    assert!(neural_exact > rules_exact);
    assert!(pct(neural_seg) > 60.0);
}
