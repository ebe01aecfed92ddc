//! Notification templates, compiled once when a component loads (minijinja, strict undefined
//! variables, HTML autoescape for `Html`, a fuel limit against runaway loops).

use indexmap::IndexMap;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::component::{Definitions, NotificationTemplate};
use crate::diagnostics::Problem;
use crate::plugin::{Item, SYSTEM_FIELDS, suggestion};
use crate::types::NUL_RULE;

/// The most template instructions one rendering may take.
const FUEL: u64 = 100_000;

/// How a body is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderType {
    /// Plain text, nothing escaped.
    Text,
    /// HTML: values are escaped.
    Html,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject.
    pub subject: String,
    /// The body.
    pub body: String,
    /// The language of the variant used.
    pub lang: &'static str,
}

/// A component's templates, compiled.
pub struct Templates {
    env: Environment<'static>,
    /// Each template's languages, English first.
    langs: IndexMap<String, Vec<&'static str>>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("langs", &self.langs).finish()
    }
}

fn key(name: &str, lang: &str, part: &str) -> String {
    format!("{name}/{lang}/{part}")
}

impl Templates {
    /// No templates.
    pub fn empty() -> Templates {
        Templates::compile(&IndexMap::new(), &Definitions::new(), &mut Vec::new())
    }

    /// Compiles every template, recording located problems: syntax errors, and `data.X`
    /// variables that are not definitions.
    pub(crate) fn compile(
        templates: &IndexMap<String, NotificationTemplate>,
        definitions: &Definitions,
        problems: &mut Vec<Problem>,
    ) -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
        let mut langs = IndexMap::new();
        for (name, template) in templates {
            let mut present = Vec::new();
            for (lang, text) in template.variants() {
                present.push(lang);
                let parts = [
                    ("subject", &text.subject, "subject"),
                    ("body", &text.body, "body.txt"),
                    ("body", &text.body, "body.html"),
                ];
                for (field, source, part) in parts {
                    let pointer = format!("/templates/{}/{lang}/{field}", crate::source::escape_token(name));
                    if let Err(e) = env.add_template_owned(key(name, lang, part), source.clone()) {
                        if part != "body.html" {
                            problems.push(syntax_problem(&pointer, &e));
                        }
                        continue;
                    }
                    if part != "body.html" {
                        check_fields(&env, &key(name, lang, part), &pointer, definitions, problems);
                    }
                }
            }
            langs.insert(name.clone(), present);
        }
        Templates { env, langs }
    }

    /// Whether a template of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.langs.contains_key(name)
    }

    /// The template names, in file order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.langs.keys().map(String::as_str)
    }

    /// The template name closest to `wanted`, for "did you mean" hints.
    pub fn closest(&self, wanted: &str) -> Option<&str> {
        suggestion(wanted, self.names())
    }

    /// Renders template `name` for a recipient whose locale is `locale` (`fr`, `fr-CA`; the
    /// English variant when there is no better one).
    pub fn render(
        &self,
        name: &str,
        locale: Option<&str>,
        render: RenderType,
        item: &Item,
    ) -> Result<Rendered, String> {
        let langs = self.langs.get(name).ok_or_else(|| format!("there is no template named \"{name}\""))?;
        let wanted = locale.map(|l| l.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase());
        let lang = langs.iter().copied().find(|l| Some(*l) == wanted.as_deref()).unwrap_or("en");
        let context = minijinja::Value::from(minijinja::value::Serde(item));
        let part = |part: &str| -> Result<String, String> {
            let template = self.env.get_template(&key(name, lang, part)).map_err(|e| e.to_string())?;
            let text = template.render(&context).map_err(|e| render_error(name, lang, part, &e))?;
            if text.contains('\0') {
                let part = part_name(part);
                return Err(format!("template \"{name}\" ({lang} {part}) rendered a NUL character: {}", NUL_RULE));
            }
            Ok(text)
        };
        let body = part(if render == RenderType::Html { "body.html" } else { "body.txt" })?;
        Ok(Rendered { subject: part("subject")?, body, lang })
    }
}

fn syntax_problem(pointer: &str, e: &minijinja::Error) -> Problem {
    let line = e.line().map(|l| format!(" (template line {l})")).unwrap_or_default();
    let detail = e.detail().map_or_else(|| e.kind().to_string(), str::to_owned);
    Problem::new(pointer, format!("the template does not compile: {detail}{line}"))
        .hint("fix the template; variables are written {{ _user.firstName }}")
}

/// A template part as messages name it: `subject` or `body`.
fn part_name(part: &str) -> &str {
    part.trim_end_matches(".txt").trim_end_matches(".html")
}

fn render_error(name: &str, lang: &str, part: &str, e: &minijinja::Error) -> String {
    let part = part_name(part);
    let line = e.line().map(|l| format!(", line {l}")).unwrap_or_default();
    let detail = e.detail().map_or_else(|| e.kind().to_string(), str::to_owned);
    format!("template \"{name}\" ({lang} {part}{line}) cannot be rendered: {detail}")
}

/// Reports `data.X` variables of a template that are not definitions.
fn check_fields(
    env: &Environment<'_>,
    name: &str,
    pointer: &str,
    definitions: &Definitions,
    problems: &mut Vec<Problem>,
) {
    if definitions.is_empty() {
        return;
    }
    let Ok(template) = env.get_template(name) else { return };
    let mut used: Vec<String> = template.undeclared_variables(true).into_iter().collect();
    used.sort();
    for variable in used {
        let Some(field) = variable.strip_prefix("data.").map(|f| f.split('.').next().unwrap_or(f)) else { continue };
        if definitions.contains_key(field) || SYSTEM_FIELDS.contains(&field) {
            continue;
        }
        let hint = suggestion(field, definitions.keys().map(String::as_str)).map_or_else(
            || "add it to \"definitions\", or fix the template".to_owned(),
            |s| format!("did you mean data.{s}?"),
        );
        problems.push(Problem::new(pointer, format!("\"{field}\" is not a definition of this component")).hint(hint));
    }
}
