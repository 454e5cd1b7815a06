//! `cargo xtask phonemize "text"`: what the English front end makes of a text — its words
//! (with the input characters each was read from and where its pronunciation came from),
//! syllables, ARPAbet, the Kokoro phoneme string and the Singer's syllables.

use std::sync::Arc;
use voirs_shared::phonetics::{FrontEnd, arpabet, g2p, kokoro, singer};

pub fn phonemize(args: &[String]) -> Result<(), String> {
    if args.is_empty() {
        return Err("usage: cargo xtask phonemize \"text\" [more text...]".into());
    }
    let text = args.join(" ");
    let weights = voirs_shared::assets::models_dir().join(g2p::FILE);
    let front = match g2p::G2pEn::load(&weights) {
        Ok(model) => FrontEnd::with_g2p(Arc::new(model)),
        Err(e) => {
            eprintln!("note: {e}; unknown words use the letter-to-sound rules");
            FrontEnd::new()
        }
    };
    let u = front.analyze(&text);
    println!("words:");
    for (pi, ph) in u.phrases.iter().enumerate() {
        for wi in ph.words.clone() {
            let w = &u.words[wi];
            let syllables: Vec<String> = w
                .syllables
                .iter()
                .map(|s| {
                    let part = |ps: &[arpabet::Phoneme]| arpabet::to_string(ps);
                    format!("[{}|{}|{}]", part(s.onset(&w.phonemes)), s.nucleus(&w.phonemes), part(s.coda(&w.phonemes)))
                })
                .collect();
            println!(
                "  {:>3} {:<16} {:<14} {:<11} {:<28} {}",
                wi,
                format!("{:?}", u.source_text(wi)),
                w.text,
                format!("{:?}", w.source),
                arpabet::to_string(&w.phonemes),
                syllables.join(" ")
            );
        }
        let punct = &u.text[ph.punctuation.clone()];
        println!("      ── phrase {pi}: pause {:?}, {:?}{} {:?}", ph.pause, ph.sentence, if ph.ends_sentence { " (sentence end)" } else { "" }, punct);
    }
    let k = kokoro::map(&u);
    println!("kokoro: {}", k.text);
    println!("singer:");
    for s in singer::map(&u) {
        let ps: Vec<String> = s.phonemes.iter().map(|p| format!("{}:{:?}:{:.0}ms", p.phoneme.symbol, p.phoneme.class, p.phoneme.duration_ms)).collect();
        println!("  {:<14} syl {} {:<10} {}", u.words[s.word].text, s.syllable, format!("{:?}", s.stress), ps.join(" "));
    }
    Ok(())
}
