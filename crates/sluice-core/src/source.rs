//! Source text of a component file and the mapping from JSON Pointers to line and column.

use jsonc_parser::ast::{ObjectPropName, Value as Node};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions};

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

    /// Locates every pointer at once (the text is parsed a single time).
    ///
    /// A pointer that does not resolve is placed at its deepest existing ancestor, so every
    /// diagnostic gets a place even when it speaks of a missing member.
    pub fn locate_all(&self, pointers: &[&str]) -> Vec<Location> {
        let options = ParseOptions {
            allow_comments: false,
            allow_loose_object_property_names: false,
            allow_trailing_commas: false,
            allow_missing_commas: false,
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            ..ParseOptions::default()
        };
        let parsed = jsonc_parser::parse_to_ast(self.text, &CollectOptions::default(), &options);
        let root = parsed.ok().and_then(|p| p.value);
        pointers
            .iter()
            .map(|pointer| {
                let offset = root.as_ref().map_or(0, |root| offset_of(root, pointer));
                self.location_of_offset(offset)
            })
            .collect()
    }
}

/// The byte offset of the value a pointer names, or of its deepest existing ancestor.
fn offset_of(root: &Node<'_>, pointer: &str) -> usize {
    let mut node = root;
    let tokens = pointer.split('/').skip(1).map(unescape);
    for token in tokens {
        let next = match node {
            // serde_json keeps the last of duplicate keys, so the pointer means the last one.
            Node::Object(object) => {
                object.properties.iter().rev().find(|p| prop_name(&p.name) == token).map(|p| &p.value)
            }
            Node::Array(array) => token.parse::<usize>().ok().and_then(|i| array.elements.get(i)),
            _ => None,
        };
        match next {
            Some(child) => node = child,
            None => break,
        }
    }
    node.start()
}

fn prop_name<'a>(name: &'a ObjectPropName<'_>) -> &'a str {
    match name {
        ObjectPropName::String(s) => &s.value,
        ObjectPropName::Word(w) => w.value,
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
