//! The settings' help texts in French, Spanish, Portuguese and German. The English text is the
//! setting's doc comment (its schema description); the translations live in `help/<lang>.json`,
//! one file per language keyed `step_id/setting`, so a translator works on one file.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::plugin::Lang;

/// Each language's file, parsed once. A file that does not parse gives no texts (the English
/// ones show); the catalog test names every missing text.
static TRANSLATIONS: LazyLock<[(Lang, HashMap<String, String>); 4]> = LazyLock::new(|| {
    let parse = |text: &str| serde_json::from_str(text).unwrap_or_default();
    [
        (Lang::Fr, parse(include_str!("help/fr.json"))),
        (Lang::Es, parse(include_str!("help/es.json"))),
        (Lang::Pt, parse(include_str!("help/pt.json"))),
        (Lang::De, parse(include_str!("help/de.json"))),
    ]
});

/// The help text of `setting` of step type `step` in `lang`; `None` in English (the schema's
/// description is the text) and where a translation is missing.
pub fn setting_help(lang: Lang, step: &str, setting: &str) -> Option<&'static str> {
    let (_, texts) = TRANSLATIONS.iter().find(|(l, _)| *l == lang)?;
    texts.get(&format!("{step}/{setting}")).map(String::as_str)
}

/// Every translated key of `lang` (`step_id/setting`), to find texts whose setting is gone.
pub fn translated_keys(lang: Lang) -> Vec<&'static str> {
    let found = TRANSLATIONS.iter().find(|(l, _)| *l == lang);
    found.map(|(_, texts)| texts.keys().map(String::as_str).collect()).unwrap_or_default()
}
