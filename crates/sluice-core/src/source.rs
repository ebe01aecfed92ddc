//! Source text of a component file and the mapping from JSON Pointers to line and column.

use std::collections::HashMap;

use jsonc_parser::tokens::Token;
use jsonc_parser::{Scanner, ScannerOptions};

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    /// Line, starting at 1.
    pub line: usize,
    /// Column in characters, starting at 1.
    pub column: usize,
}

/// The text of a loaded file, used to place diagnostics.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    text: &'a str,
}

impl<'a> Source<'a> {
    /// Wraps the text of a file.
    pub fn new(text: &'a str) -> Self {
        Source { text }
    }

    /// The location of a byte offset, clamped to the end of the text.
    pub fn location_of_offset(&self, offset: usize) -> Location {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location { line, column }
    }

    /// Locates every pointer in one streaming pass over the text (no tree is built, so a
    /// 50 MB file costs no more memory than its nesting depth).
    ///
    /// A pointer that does not resolve is placed at its deepest existing ancestor, so every
    /// diagnostic gets a place even when it speaks of a missing member. Where a key is
    /// duplicated, the last one wins, as in serde_json.
    pub fn locate_all(&self, pointers: &[&str]) -> Vec<Location> {
        let parsed: Vec<Vec<String>> = pointers.iter().map(|p| p.split('/').skip(1).map(unescape).collect()).collect();
        let mut best = vec![(0usize, 0usize); parsed.len()];
        let mut scanner = Scanner::new(self.text, &ScannerOptions::default());
        let mut stack: Vec<Frame> = Vec::new();
        let mut key: Option<String> = None;
        let mut expect_key = false;
        while let Ok(Some(token)) = scanner.scan() {
            match &token {
                Token::Colon | Token::CommentLine(_) | Token::CommentBlock(_) => continue,
                Token::Comma => {
                    match stack.last_mut() {
                        Some(frame) if frame.is_array => frame.index += 1,
                        _ => expect_key = true,
                    }
                    continue;
                }
                Token::CloseBrace | Token::CloseBracket => {
                    stack.pop();
                    expect_key = false;
                    continue;
                }
                Token::String(text) if expect_key => {
                    key = Some(text.to_string());
                    expect_key = false;
                    continue;
                }
                _ => {}
            }
            // A value starts here: find the pointers that pass through it.
            let depth = stack.len();
            let matched: Vec<usize> = match stack.last() {
                None => (0..parsed.len()).collect(),
                Some(frame) if frame.children.is_empty() => Vec::new(),
                Some(frame) => {
                    let segment = if frame.is_array { frame.index.to_string() } else { key.take().unwrap_or_default() };
                    frame.children.get(&segment).cloned().unwrap_or_default()
                }
            };
            for &i in &matched {
                if depth >= best[i].0 {
                    best[i] = (depth, scanner.token_start());
                }
            }
            let is_array = matches!(token, Token::OpenBracket);
            if is_array || matches!(token, Token::OpenBrace) {
                stack.push(Frame::new(is_array, &matched, depth, &parsed));
                expect_key = !is_array;
            }
        }
        best.into_iter().map(|(_, offset)| self.location_of_offset(offset)).collect()
    }
}

/// The bytes of the string value of the top-level member `key` (the last one, as serde_json
/// reads a duplicated key), or `None` when there is no such string.
pub fn top_level_string(text: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let mut scanner = Scanner::new(text, &ScannerOptions::default());
    let (mut depth, mut expect_key, mut at_key) = (0usize, false, false);
    let mut found = None;
    while let Ok(Some(token)) = scanner.scan() {
        match token {
            Token::OpenBrace | Token::OpenBracket => {
                depth += 1;
                expect_key = depth == 1 && matches!(token, Token::OpenBrace);
                at_key = false;
            }
            Token::CloseBrace | Token::CloseBracket => depth = depth.saturating_sub(1),
            Token::Comma => expect_key = depth == 1,
            Token::Colon | Token::CommentLine(_) | Token::CommentBlock(_) => {}
            Token::String(name) if depth == 1 && expect_key => {
                at_key = name == key;
                expect_key = false;
            }
            Token::String(_) if depth == 1 && at_key => {
                found = Some(scanner.token_start()..scanner.token_end());
                at_key = false;
            }
            _ => at_key = false,
        }
    }
    found
}

/// An open object or array during [`Source::locate_all`].
struct Frame {
    is_array: bool,
    index: usize,
    /// The pointers that continue below this container, by their next segment.
    children: HashMap<String, Vec<usize>>,
}

impl Frame {
    fn new(is_array: bool, matched: &[usize], depth: usize, parsed: &[Vec<String>]) -> Frame {
        let mut children: HashMap<String, Vec<usize>> = HashMap::new();
        for &i in matched {
            if let Some(next) = parsed[i].get(depth) {
                children.entry(next.clone()).or_default().push(i);
            }
        }
        Frame { is_array, index: 0, children }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Escapes one reference token of a JSON Pointer.
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "{\n  \"a\": [1, {\"b/c\": \"é\", \"d\": 2}],\n  \"a\": [0]\n}";

    #[test]
    fn locates_members_and_elements() {
        let src = Source::new("{\n  \"a\": [1, {\"b/c\": \"x\"}]\n}");
        let got = src.locate_all(&["", "/a", "/a/1", "/a/1/b~1c", "/a/9", "/zz"]);
        let pairs: Vec<_> = got.iter().map(|l| (l.line, l.column)).collect();
        assert_eq!(pairs, vec![(1, 1), (2, 8), (2, 12), (2, 20), (2, 8), (1, 1)]);
    }

    #[test]
    fn duplicate_keys_resolve_to_the_last_like_serde() {
        let got = Source::new(TEXT).locate_all(&["/a/0"]);
        assert_eq!((got[0].line, got[0].column), (3, 9));
    }

    #[test]
    fn the_top_level_string_is_found_whatever_surrounds_it() {
        let text = r#"{"dataflows": [{"name": "F"}], "x": {"name": "inner"}, "name" : "Demo\"1", "z": 1}"#;
        let span = top_level_string(text, "name").unwrap();
        assert_eq!(&text[span], r#""Demo\"1""#);
        assert_eq!(top_level_string(r#"{"name": 5}"#, "name"), None);
        assert_eq!(top_level_string(r#"{"a": {"name": "no"}}"#, "name"), None);
        assert_eq!(top_level_string("[\"name\", \"x\"]", "name"), None);
    }

    #[test]
    fn columns_count_characters() {
        let src = Source::new("{\"é\": \"ü\", \"k\": 1}");
        let got = src.locate_all(&["/k"]);
        assert_eq!((got[0].line, got[0].column), (1, 17));
    }

    #[test]
    fn offsets_inside_a_character_do_not_panic() {
        let src = Source::new("é");
        assert_eq!(src.location_of_offset(1), Location { line: 1, column: 1 });
        assert_eq!(src.location_of_offset(99), Location { line: 1, column: 2 });
    }
}
