//! Numbers as spoken US English words. Cardinals, ordinals and years come from the
//! `num2words` crate (its British "and" inside numbers is dropped: US readers say "one hundred
//! twenty"); decimals, digit strings and fractions are read here from the written digits, so
//! no float rounding enters.

use num2words::Num2Words;

/// Words of a non-negative integer written in ASCII digits (commas allowed), e.g. "1,234" →
/// "one thousand two hundred thirty-four". More than 15 digits are read digit by digit.
pub fn cardinal(digits: &str) -> String {
    let d: String = digits.chars().filter(|c| c.is_ascii_digit()).collect();
    if d.is_empty() {
        return String::new();
    }
    if d.len() > 15 {
        return digit_by_digit(&d);
    }
    let d = d.trim_start_matches('0');
    if d.is_empty() {
        return "zero".into();
    }
    let words = Num2Words::parse(d).and_then(|n| n.cardinal().to_words().ok()).unwrap_or_else(|| digit_by_digit(d));
    drop_and(&words)
}

/// "21" → "twenty-first".
pub fn ordinal(digits: &str) -> String {
    let d: String = digits.chars().filter(|c| c.is_ascii_digit()).collect();
    if d.is_empty() || d.len() > 15 {
        return cardinal(&d);
    }
    let d = d.trim_start_matches('0');
    if d.is_empty() {
        return "zeroth".into();
    }
    let words = Num2Words::parse(d).and_then(|n| n.ordinal().to_words().ok()).unwrap_or_else(|| cardinal(d));
    drop_and(&words)
}

/// A four-digit year: "1984" → "nineteen eighty-four", "1905" → "nineteen oh five", "2005" →
/// "two thousand five", "2024" → "twenty twenty-four", "1900" → "nineteen hundred".
pub fn year(digits: &str) -> String {
    let words = Num2Words::parse(digits).and_then(|n| n.year().to_words().ok()).unwrap_or_else(|| cardinal(digits));
    drop_and(&words).replace("oh-", "oh ")
}

/// Plural of a number's last word: "nineteen eighty" → "nineteen eighties", "six" → "sixes".
pub fn plural(words: &str) -> String {
    match words.rsplit_once([' ', '-']) {
        Some((head, last)) => {
            let sep = &words[head.len()..head.len() + 1];
            format!("{head}{sep}{}", plural_word(last))
        }
        None => plural_word(words),
    }
}

fn plural_word(w: &str) -> String {
    if let Some(stem) = w.strip_suffix('y') {
        format!("{stem}ies")
    } else if w.ends_with('x') || w.ends_with('s') {
        format!("{w}es")
    } else {
        format!("{w}s")
    }
}

/// "0.5" → "zero point five", "3.14" → "three point one four", ".5" → "point five".
pub fn decimal(int: &str, frac: &str) -> String {
    let mut out = if int.is_empty() { String::new() } else { cardinal(int) };
    if !frac.is_empty() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str("point ");
        out.push_str(&digit_by_digit(frac));
    }
    out
}

/// "007" → "zero zero seven".
pub fn digit_by_digit(digits: &str) -> String {
    const NAMES: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    digits.chars().filter_map(|c| c.to_digit(10)).map(|d| NAMES[d as usize]).collect::<Vec<_>>().join(" ")
}

/// A fraction with a small denominator: "1/2" → "one half", "3/4" → "three quarters",
/// "2/3" → "two thirds"; `None` when the denominator is not 2–10.
pub fn fraction(num: &str, den: &str) -> Option<String> {
    let n: u64 = num.parse().ok()?;
    let d: u64 = den.parse().ok()?;
    if !(2..=10).contains(&d) || n == 0 {
        return None;
    }
    let unit = match d {
        2 => "half".to_string(),
        4 => "quarter".to_string(),
        _ => ordinal(den),
    };
    let unit = if n == 1 {
        unit
    } else if d == 2 {
        "halves".to_string()
    } else {
        format!("{unit}s")
    };
    Some(format!("{} {unit}", cardinal(num)))
}

/// Removes num2words' "and" (British "one hundred and five").
fn drop_and(words: &str) -> String {
    words.split(' ').filter(|w| *w != "and").collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numbers() {
        assert_eq!(cardinal("1,234"), "one thousand two hundred thirty-four");
        assert_eq!(cardinal("2005"), "two thousand five");
        assert_eq!(cardinal("0"), "zero");
        assert_eq!(ordinal("21"), "twenty-first");
        assert_eq!(ordinal("112"), "one hundred twelfth");
        assert_eq!(year("1984"), "nineteen eighty-four");
        assert_eq!(year("1905"), "nineteen oh five");
        assert_eq!(year("2005"), "two thousand five");
        assert_eq!(year("2024"), "twenty twenty-four");
        assert_eq!(year("1900"), "nineteen hundred");
        assert_eq!(plural(&year("1980")), "nineteen eighties");
        assert_eq!(decimal("3", "14"), "three point one four");
        assert_eq!(fraction("3", "4").unwrap(), "three quarters");
        assert_eq!(fraction("1", "2").unwrap(), "one half");
        assert_eq!(fraction("2", "3").unwrap(), "two thirds");
    }
}
