//! The English front end against a table of tricky inputs (numbers, dates, times, currency,
//! units, abbreviations, acronyms, URLs, homographs, punctuation, overrides), and the links
//! from every output phoneme back to the exact input characters. No model needed: words
//! outside CMUdict go through the letter-to-sound rules, and the table avoids them.
//!
//! Table format (`fixtures/frontend_cases.tsv`): `input<TAB>expected`, `\n` in the input is a
//! newline; the expected reading is each phrase's words' ARPAbet joined by ` / `, followed by
//! its break: `,` short, `;` medium, `.` `?` `!` a sentence end of that type, `¶` a paragraph
//! (nothing at the end of unpunctuated input).
//! `VOIRS_FRONTEND_DUMP=path` writes the current readings in the same format (to review
//! changes to the rules).

mod common;

use voirs_shared::phonetics::normalize::{Pause, SentenceKind};
use voirs_shared::phonetics::{FrontEnd, Utterance, arpabet, kokoro, lexicon::Source, singer};

fn render(u: &Utterance) -> String {
    let mut parts = Vec::new();
    for ph in &u.phrases {
        let words: Vec<String> = u.words[ph.words.clone()].iter().map(|w| arpabet::to_string(&w.phonemes)).collect();
        let mut s = words.join(" / ");
        let b = if ph.pause == Pause::Paragraph {
            "¶"
        } else if ph.ends_sentence {
            match (ph.sentence, ph.pause) {
                (_, Pause::None) => "",
                (SentenceKind::Question, _) => "?",
                (SentenceKind::Exclamation, _) => "!",
                (SentenceKind::Statement, _) => ".",
            }
        } else {
            match ph.pause {
                Pause::Short => ",",
                Pause::Medium => ";",
                _ => "",
            }
        };
        if !b.is_empty() {
            s.push(' ');
            s.push_str(b);
        }
        parts.push(s);
    }
    parts.join(" ")
}

fn cases() -> Vec<(String, String)> {
    include_str!("fixtures/frontend_cases.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (input, want) = l.split_once('\t').unwrap_or((l, ""));
            (input.replace("\\n", "\n"), want.to_string())
        })
        .collect()
}

#[test]
fn tricky_inputs_read_as_the_table_says() {
    let front = FrontEnd::new();
    let cases = cases();
    assert!(cases.len() >= 200, "the table has {} rows", cases.len());
    let mut failures = Vec::new();
    let mut dump = String::new();
    for (input, want) in &cases {
        let got = render(&front.analyze(input));
        dump.push_str(&format!("{}\t{got}\n", input.replace('\n', "\\n")));
        if &got != want {
            failures.push(format!("{input:?}\n    want {want}\n    got  {got}"));
        }
    }
    if let Ok(path) = std::env::var("VOIRS_FRONTEND_DUMP") {
        std::fs::write(path, dump).unwrap();
    }
    eprintln!("front end table: {}/{} inputs read as expected", cases.len() - failures.len(), cases.len());
    assert!(failures.is_empty(), "{} of {} differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Every word's span lies on character boundaries of the input, before its phrase's break,
/// a plain written word reads back as itself, syllables partition each word's phonemes, and
/// each Kokoro symbol of a word realises one of its phonemes (all of them, in order).
#[test]
fn every_phoneme_leads_back_to_its_input_characters() {
    let front = FrontEnd::new();
    let mut words = 0;
    let mut phonemes = 0;
    let mut extra: Vec<String> = [
        "Ünïcödé “quotes” — and émojis 🎵 sing la-la-la!",
        "  leading spaces, trailing   ",
        "{K AE1 T}{D AO1 G}",
        "x",
        "",
        "...",
        "$",
        "The end of the line. Dr.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    extra.extend(cases().into_iter().map(|(i, _)| i));
    for text in &extra {
        let u = front.analyze(text);
        for (wi, w) in u.words.iter().enumerate() {
            assert!(w.span.start <= w.span.end && w.span.end <= text.len(), "{text:?}: word {wi} span {:?}", w.span);
            assert!(text.is_char_boundary(w.span.start) && text.is_char_boundary(w.span.end), "{text:?}: {:?}", w.span);
            assert!(!w.span.is_empty(), "{text:?}: word {:?} has an empty span", w.text);
            let punct = &u.phrases[w.phrase].punctuation;
            assert!(punct.is_empty() || w.span.start <= punct.start, "{text:?}: word {:?} after its phrase's end", w.text);
            let written = u.source_text(wi);
            let chars: Vec<char> = text.chars().collect();
            assert_eq!(chars[u.char_span(wi)].iter().collect::<String>(), written, "{text:?}");
            // (Short lower-case words may be units or abbreviations: "km" is "kilometers".)
            if written.len() >= 5 && written.chars().all(|c| c.is_ascii_lowercase()) && w.source != Source::Spelled {
                assert_eq!(written, w.text, "{text:?}");
            }
            // Syllables partition the phonemes.
            let mut next = 0;
            for s in &w.syllables {
                assert_eq!(s.start, next, "{text:?}: {:?}", w.text);
                assert!(s.start <= s.nucleus && s.nucleus < s.end);
                next = s.end;
            }
            assert_eq!(next, w.phonemes.len(), "{text:?}: {:?}", w.text);
            assert!(u.phrases[w.phrase].words.contains(&wi));
            words += 1;
            phonemes += w.phonemes.len();
        }
        // Kokoro symbols: per word, the phoneme indices they realise cover 0..n in order.
        let k = kokoro::map(&u);
        for (wi, w) in u.words.iter().enumerate() {
            let mut idx: Vec<usize> = k.symbols.iter().filter(|s| s.word == Some(wi)).map(|s| s.phoneme.unwrap()).collect();
            idx.dedup();
            assert_eq!(idx, (0..w.phonemes.len()).collect::<Vec<_>>(), "{text:?}: word {:?}", w.text);
            for s in k.symbols.iter().filter(|s| s.word == Some(wi)) {
                let syl = &w.syllables[s.syllable.unwrap()];
                assert!(syl.range().contains(&s.phoneme.unwrap()));
            }
        }
        // Singer syllables: one per word syllable, phonemes in word order.
        let sung = singer::map(&u);
        assert_eq!(sung.len(), u.words.iter().map(|w| w.syllables.len()).sum::<usize>());
        for s in &sung {
            let w = &u.words[s.word];
            let idx: Vec<usize> = s.phonemes.iter().map(|p| p.index).collect();
            assert_eq!(idx, w.syllables[s.syllable].range().collect::<Vec<_>>());
        }
    }
    eprintln!("span links: {} texts, {words} words, {phonemes} phonemes, all traced back", extra.len());
}

#[test]
fn kokoro_symbols_are_all_in_kokoros_vocabulary() {
    let front = FrontEnd::new();
    // Everything the table produces is in the map's declared symbol set…
    let mut seen = std::collections::BTreeSet::new();
    for (input, _) in cases() {
        for s in kokoro::map(&front.analyze(&input)).symbols {
            assert!(kokoro::SYMBOLS.contains(&s.symbol), "{input:?}: {:?}", s.symbol);
            seen.insert(s.symbol);
        }
    }
    eprintln!("kokoro map: {} of {} declared symbols used by the table", seen.len(), kokoro::SYMBOLS.len());
    // …and the declared set is in Kokoro's vocab.json.
    let Some(path) = common::model_file("kokoro-vocab.json") else { return };
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vocab: std::collections::HashMap<String, i64> =
        json["vocab"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_i64().unwrap())).collect();
    for s in kokoro::SYMBOLS {
        assert!(vocab.contains_key(*s), "{s:?} is not in kokoro-vocab.json");
    }
    let ids = kokoro::token_ids(&kokoro::map(&front.analyze("Hello, world! How are you?")), &vocab).unwrap();
    assert!(ids.len() > 10);
}

#[test]
fn kokoro_strings_follow_misaki_conventions() {
    let front = FrontEnd::new();
    let k = |t: &str| kokoro::map(&front.analyze(t)).text;
    assert_eq!(k("water"), "wˈɔTəɹ");
    assert_eq!(k("hello"), "həlˈO");
    assert_eq!(k("bird"), "bˈɜɹd");
    assert_eq!(k("church judge"), "ʧˈɜɹʧ ʤˈʌʤ");
    assert_eq!(k("boy, house!"), "bˈY, hˈWs!");
    // Function words are unstressed inside a phrase and keep their stress at its end.
    assert_eq!(k("Is it?"), "ɪz ˈɪt?");
    assert_eq!(k("a cup of tea"), "ɐ kˈʌp ʌv tˈi");
    assert_eq!(k("added houses"), "ˈædᵻd hˈWsᵻz");
    assert_eq!(k("disease"), "dəzˈiz");
    assert_eq!(k("to go to it, to"), "tə ɡˈO tʊ ˈɪt, tˈu");
    assert_eq!(k("basic"), "bˈAsɪk");
    assert_eq!(k("plan A is an option"), "plˈæn ˈA ɪz ɐn ˈɑpʃən");
    assert_eq!(k("what is it for?"), "wˌʌt ɪz ɪt fˈɔɹ?");
}

#[test]
fn the_singer_inventory_covers_arpabet_with_classes() {
    use singer::Class::*;
    use voirs_shared::phonetics::arpabet::{Arpa, Phoneme, Stress};
    for a in Arpa::ALL {
        let p = if a.is_vowel() { Phoneme::vowel(a, Stress::Primary) } else { Phoneme::consonant(a) };
        let s = singer::phoneme(&p);
        assert!(s.duration_ms > 0.0, "{a:?}");
        assert_eq!(a.is_vowel(), matches!(s.class, Vowel | Diphthong), "{a:?}");
        assert_eq!(s.formants.is_some(), a.is_vowel(), "{a:?}");
        assert_eq!(s.formants_end.is_some(), s.class == Diphthong, "{a:?}");
    }
    let class = |a| singer::phoneme(&Phoneme::consonant(a)).class;
    assert_eq!(class(Arpa::NG), Nasal);
    assert_eq!(class(Arpa::R), Liquid);
    assert_eq!(class(Arpa::Y), Glide);
    assert_eq!(class(Arpa::ZH), Fricative);
    assert_eq!(class(Arpa::G), Plosive);
    assert_eq!(class(Arpa::JH), Affricate);
    // Lyrics: one sung syllable per syllable, nucleus in the middle.
    let front = FrontEnd::new();
    let sung = singer::map(&front.analyze("A-maz-ing grace"));
    let nuclei: Vec<&str> = sung.iter().map(|s| s.nucleus().phoneme.symbol).collect();
    assert_eq!(nuclei, ["ə", "eɪ", "ɪ", "eɪ"]);
    assert_eq!(sung[1].onset().map(|p| p.phoneme.symbol).collect::<Vec<_>>(), ["m"]);
    assert_eq!(sung[2].coda().map(|p| p.phoneme.symbol).collect::<Vec<_>>(), ["ŋ"]);
}

#[test]
fn user_lexicon_and_overrides_win() {
    let mut front = FrontEnd::new();
    assert!(front.user_lexicon().insert("VoiRS", "V OY1 R Z"));
    assert!(!front.user_lexicon().insert("bad", "Q Q"));
    let bad = front.user_lexicon().load_str("# names\nkokoro K OW0 K AO1 R OW0\nnonsense XX\n");
    assert_eq!(bad, ["nonsense XX"]);
    let u = front.analyze("VoiRS uses Kokoro, and read{R EH1 D} is past.");
    assert_eq!(arpabet::to_string(&u.words[0].phonemes), "V OY1 R Z");
    assert_eq!(u.words[0].source, Source::User);
    assert_eq!(arpabet::to_string(&u.words[2].phonemes), "K OW0 K AO1 R OW0");
    let read = u.words.iter().position(|w| w.text == "read").unwrap();
    assert_eq!(u.words[read].source, Source::Override);
    assert_eq!(arpabet::to_string(&u.words[read].phonemes), "R EH1 D");
    assert_eq!(u.source_text(read), "read{R EH1 D}");
}

#[test]
fn words_outside_the_dictionary_still_get_phonemes() {
    let front = FrontEnd::new();
    let u = front.analyze("The blorptastic zindle.");
    for w in &u.words[1..] {
        assert!(!w.phonemes.is_empty(), "{:?}", w.text);
        assert!(w.phonemes.iter().any(|p| p.stress == Some(arpabet::Stress::Primary)), "{:?}", w.text);
    }
    assert_eq!(u.words[1].source, Source::G2p);
}

/// Homographs in sentences held out from tuning the rules: a measured accuracy, with a floor.
#[test]
fn held_out_homographs() {
    let front = FrontEnd::new();
    let rows: Vec<(&str, &str, &str)> = include_str!("fixtures/homographs_heldout.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            (f.next().unwrap(), f.next().unwrap(), f.next().unwrap())
        })
        .collect();
    let mut wrong = Vec::new();
    for (sentence, word, want) in &rows {
        let u = front.analyze(sentence);
        let w = u.words.iter().find(|w| w.text == *word).unwrap_or_else(|| panic!("{sentence:?} has no {word:?}"));
        let got = arpabet::to_string(&w.phonemes);
        if got != *want {
            wrong.push(format!("{sentence:?}: {word} read [{got}], expected [{want}]"));
        }
    }
    let right = rows.len() - wrong.len();
    eprintln!("held-out homographs: {right}/{} read as expected", rows.len());
    for w in &wrong {
        eprintln!("  {w}");
    }
    assert!(right * 100 >= rows.len() * 80, "{right}/{} (< 80 %)", rows.len());
}

/// Any text at all: no panic, and the span invariants hold (deterministic pseudo-random
/// strings over the characters the normaliser treats specially).
#[test]
fn arbitrary_text_never_breaks_the_front_end() {
    const PIECES: &[&str] = &[
        "1", "0", "7", "12", "2024", "1,000", ".", ",", ":", ";", "!", "?", "-", "–", "—", "/", "$", "£", "€", "%", "°", "#", "@", "&", "+",
        "x", "'", "’", "\"", "(", ")", "{", "}", "[[", "]]", "{K AE1 T}", "[[kæt]]", " ", " ", " ", "\n\n", "a", "A", "I", "IV", "Dr", "St",
        "No", "pm", "am", "km", "Hz", "www", "com", "http://", "read", "live", "the", "NASA", "FBI", "é", "ñ", "🎵", "中", "e.g.", "U.S.",
        "J.", "...", "…", "st", "th", "s", "hal-le", "-lu", "jah", "AB", "ZZZ", "k", "m", "bn",
    ];
    let front = FrontEnd::new();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut words = 0;
    for _ in 0..3000 {
        let n = 1 + (next() % 12) as usize;
        let text: String = (0..n).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
        let u = front.analyze(&text);
        for w in &u.words {
            assert!(w.span.end <= text.len() && text.is_char_boundary(w.span.start) && text.is_char_boundary(w.span.end), "{text:?}");
            assert_eq!(w.syllables.iter().map(|s| s.end - s.start).sum::<usize>(), w.phonemes.len(), "{text:?}");
        }
        words += u.words.len();
        let k = kokoro::map(&u);
        assert!(k.symbols.iter().all(|s| kokoro::SYMBOLS.contains(&s.symbol)), "{text:?}");
        singer::map(&u);
    }
    assert!(words > 3000);
}

/// Long texts go to Kokoro in pieces cut at sentence ends, every word exactly once, in order.
#[test]
fn kokoro_chunks_cut_at_sentences_and_keep_every_word() {
    let front = FrontEnd::new();
    let text = "The first sentence is short. The second one, which has a comma, is a little longer! \
                Is the third a question? Yes. "
        .repeat(6);
    let u = front.analyze(&text);
    let whole = kokoro::map(&u);
    for max in [60, 120, 510] {
        let chunks = kokoro::chunks(&u, max);
        assert!(chunks.len() > 1 || whole.symbols.len() <= max);
        let mut words = Vec::new();
        for c in &chunks {
            assert!(c.symbols.len() <= max, "{max}: {} symbols", c.symbols.len());
            assert!(matches!(c.symbols.last().map(|s| s.symbol), Some("." | "!" | "?" | ",")), "{max}: {:?}", c.text);
            let mut ws: Vec<usize> = c.symbols.iter().filter_map(|s| s.word).collect();
            ws.dedup();
            words.extend(ws);
        }
        assert_eq!(words, (0..u.words.len()).collect::<Vec<_>>(), "{max}");
    }
    assert_eq!(kokoro::chunks(&u, 100_000).len(), 1);
    assert_eq!(kokoro::chunks(&u, 100_000)[0], whole);
}
