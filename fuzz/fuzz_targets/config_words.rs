//! The configuration word splitter (`config::words::split`, which every
//! `WSGI*` directive's arguments go through) on arbitrary text: never
//! panics; without quotes it is plain whitespace splitting; and any list of
//! words, each written in double quotes with `\` and `"` escaped, splits
//! back into exactly those words.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mod_wsgi::config::words::split;

fn quote(w: &str) -> String {
    format!("\"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""))
}

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let words = split(line);
    if !line.contains(['"', '\'']) {
        let plain: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words, plain);
    }
    let quoted: Vec<String> = words.iter().map(|w| quote(w)).collect();
    assert_eq!(split(&quoted.join(" ")), words, "quoted words round trip");
    // Each line of the input taken as a word list of its own, too.
    let lines: Vec<&str> = line.lines().collect();
    let quoted: Vec<String> = lines.iter().map(|w| quote(w)).collect();
    assert_eq!(split(&quoted.join("\t")), lines);
});
