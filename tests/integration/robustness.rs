//! Robustness: random templates and mutations of the golden corpus never panic the engine (a
//! parse error or an execution error is fine). Runs in-process on a big stack, as `render` does.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ctmpl::gotmpl::{MissingKey, Template, Value};

/// xorshift64*: deterministic, seedable with `CTMPL_FUZZ_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    " ",
    "\n",
    ".",
    ".a",
    ".b.c",
    "$",
    "$x",
    ":=",
    "=",
    "|",
    "(",
    ")",
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "\"s\"",
    "`r`",
    "'c'",
    "1",
    "-2",
    "3.5",
    "0x1F",
    "1e3",
    "nil",
    "true",
    "printf",
    "\"%d %s %v\"",
    "index",
    "slice",
    "len",
    "eq",
    "lt",
    "and",
    "or",
    "not",
    "print",
    "html",
    "js",
    "urlquery",
    "call",
    "/*",
    "*/",
    "\"\\xff\"",
    ",",
    "$i, $e",
    "text",
    "\"t\"",
];

fn random_template(rng: &mut Rng) -> String {
    (0..rng.below(40) + 1).map(|_| rng.pick(PIECES)).collect()
}

fn mutate(rng: &mut Rng, source: &[u8]) -> Vec<u8> {
    let mut out = source.to_vec();
    for _ in 0..rng.below(4) + 1 {
        let at = if out.is_empty() {
            0
        } else {
            rng.below(out.len() + 1)
        };
        match rng.below(4) {
            0 if at < out.len() => {
                out.remove(at);
            }
            1 => out.splice(at..at, rng.pick(PIECES).bytes()).for_each(drop),
            2 if at < out.len() => out[at] = rng.next() as u8,
            _ => out.truncate(at),
        }
    }
    out
}

/// Huge integer ranges would run (correctly) for a very long time; keep the test bounded.
fn bounded(text: &[u8]) -> bool {
    let s = String::from_utf8_lossy(text);
    !s.split("range").skip(1).any(|rest| {
        let rest = rest.trim_start_matches(|c: char| !c.is_ascii_digit() && c != '}');
        rest.chars().take_while(char::is_ascii_digit).count() >= 5
    })
}

/// Parses and runs one template; returns whether it parsed.
fn exercise(text: &[u8], data: &Value) -> bool {
    if !bounded(text) {
        return false;
    }
    let mut parsed = false;
    for option in [MissingKey::Default, MissingKey::Error] {
        let mut t = Template::new("fuzz").missing_key(option);
        if t.parse(text).is_ok() {
            parsed = true;
            let mut out = Vec::new();
            let _ = t.execute(&mut out, data);
        }
    }
    parsed
}

#[test]
fn random_and_mutated_templates_never_panic() {
    let seed = std::env::var("CTMPL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    let dir = crate::repo_path("crates/gotmpl/tests/golden");
    let mut corpus: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tmpl"))
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    corpus.sort();
    let data = Value::from_json(
        r#"{"a": {"b": [1, "x", null, {"c": true}]}, "l": [1, 2, 3], "s": "str", "n": 2}"#,
    )
    .unwrap();
    let run = move || {
        let mut rng = Rng(seed);
        let mut parsed = 0;
        for i in 0..6000 {
            let text = if i % 2 == 0 {
                random_template(&mut rng).into_bytes()
            } else {
                let source = &corpus[rng.below(corpus.len())];
                mutate(&mut rng, source)
            };
            let result = catch_unwind(AssertUnwindSafe(|| exercise(&text, &data)));
            match result {
                Ok(ok) => parsed += ok as usize,
                Err(_) => panic!(
                    "seed {seed}, case {i}: panicked on {:?}",
                    String::from_utf8_lossy(&text)
                ),
            }
        }
        // Mutations keep many templates valid, so execution is exercised, not just parsing.
        assert!(parsed > 1000, "only {parsed} of 6000 templates parsed");
        parsed
    };
    let parsed = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
    println!("{parsed} of 6000 random or mutated templates parsed and ran");
}
