//! A few lines of argument parsing: `--flag value`, repeatable flags and one positional.

pub struct Args {
    pub positional: Vec<String>,
    pairs: Vec<(String, Option<String>)>,
}

impl Args {
    /// `value_flags` take a value; other `--x` are switches.
    pub fn parse(args: &[String], value_flags: &[&str], switches: &[&str]) -> Result<Self, String> {
        let mut positional = Vec::new();
        let mut pairs = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if let Some(name) = a.strip_prefix("--") {
                let (name, inline) = match name.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (name, None),
                };
                if value_flags.contains(&name) {
                    let v = match inline {
                        Some(v) => v,
                        None => it.next().cloned().ok_or_else(|| format!("--{name} needs a value"))?,
                    };
                    pairs.push((name.to_owned(), Some(v)));
                } else if switches.contains(&name) {
                    pairs.push((name.to_owned(), None));
                } else {
                    return Err(format!("unknown option --{name}"));
                }
            } else {
                positional.push(a.clone());
            }
        }
        Ok(Self { positional, pairs })
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref())
    }

    pub fn values(&self, name: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(n, _)| n == name).filter_map(|(_, v)| v.as_deref()).collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| format!("--{name} {v:?} is not a number")),
        }
    }
}

/// Splits `id=text` (the first `=`).
pub fn key_value(s: &str) -> Result<(&str, &str), String> {
    s.split_once('=').ok_or_else(|| format!("expected name=value, got {s:?}"))
}
