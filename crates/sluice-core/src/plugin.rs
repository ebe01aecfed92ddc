//! The step plugin API: what a step type provides and what the engine hands it.
//!
//! A step type is one file: a settings struct (serde + schemars), a [`StepMeta`] with its
//! labels in five languages, and a [`StepPlugin`] impl whose `build` turns checked settings
//! into a ready [`BuiltStep`]. It is registered with
//! `inventory::submit! { StepDescriptor::of::<MyStep>() }`.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::component::Definitions;
use crate::diagnostics::Problem;
use crate::entries::{ComponentDirectory, EntryKind};
use crate::path::{FieldOrValue, FieldPath, ValueSource};
use crate::run::RunContext;
use crate::script::ScriptHost;
use crate::services::Services;
use crate::templates::Templates;

/// One unit of data flowing between steps: a JSON object shaped like Aqtra's model
/// (component fields under `data`, variables at the top level).
pub type Item = Map<String, Value>;

/// The Aqtra group a step type belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// Steps that start a dataflow.
    Input,
    /// Steps that reshape the model.
    Transform,
    /// Users, security contexts and notifications.
    Users,
    /// Steps that store or return results.
    Output,
}

impl Group {
    /// Whether steps of the group start a dataflow (input steps, which take no source; every
    /// other step needs one).
    pub const fn starts_flow(self) -> bool {
        matches!(self, Group::Input)
    }

    /// The group's name as Aqtra's step picker shows it.
    pub const fn title(self) -> Localized {
        match self {
            Group::Input => Localized { en: "Input", fr: "Entrée", es: "Entrada", pt: "Entrada", de: "Eingabe" },
            Group::Transform => Localized {
                en: "Model transformation",
                fr: "Transformation du modèle",
                es: "Transformación del modelo",
                pt: "Transformação do modelo",
                de: "Modelltransformation",
            },
            Group::Users => Localized {
                en: "User contexts",
                fr: "Contextes utilisateur",
                es: "Contextos de usuario",
                pt: "Contextos de usuário",
                de: "Benutzerkontexte",
            },
            Group::Output => Localized { en: "Output", fr: "Sortie", es: "Salida", pt: "Saída", de: "Ausgabe" },
        }
    }
}

/// A language of the builder's property panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Portuguese.
    Pt,
    /// German.
    De,
}

impl Lang {
    /// Every supported language.
    pub const ALL: [Lang; 5] = [Lang::En, Lang::Fr, Lang::Es, Lang::Pt, Lang::De];

    /// The language of a tag such as `fr`, `fr-CA` or `pt_BR`.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The two-letter code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Es => "es",
            Lang::Pt => "pt",
            Lang::De => "de",
        }
    }
}

/// A text in every supported language.
#[derive(Debug, Clone, Copy)]
pub struct Localized {
    /// English.
    pub en: &'static str,
    /// French.
    pub fr: &'static str,
    /// Spanish.
    pub es: &'static str,
    /// Portuguese.
    pub pt: &'static str,
    /// German.
    pub de: &'static str,
}

impl Localized {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Fr => self.fr,
            Lang::Es => self.es,
            Lang::Pt => self.pt,
            Lang::De => self.de,
        }
    }
}

/// The label of one setting in the property panel.
#[derive(Debug, Clone, Copy)]
pub struct SettingLabel {
    /// The setting's key in `settings` (camelCase).
    pub name: &'static str,
    /// Its label.
    pub label: Localized,
}

/// What the builder shows of a step type.
#[derive(Debug, Clone, Copy)]
pub struct StepMeta {
    /// The type id used in component files, such as `execute_script`.
    pub id: &'static str,
    /// The Aqtra group.
    pub group: Group,
    /// The step calls services outside Sluice (a mail server, an HTTP API) through
    /// [`StepContext::call_outside`], so a step of this type may set `retry` and `timeout`.
    pub calls_outside: bool,
    /// Title in the palette.
    pub title: Localized,
    /// One-sentence description.
    pub description: Localized,
    /// Labels of every setting, in panel order.
    pub settings: &'static [SettingLabel],
}

/// A step type. Implement it on a unit struct and submit its [`StepDescriptor`].
pub trait StepPlugin: 'static {
    /// The step's settings; deserialized after they pass the JSON Schema generated from them.
    type Settings: DeserializeOwned + JsonSchema;
    /// What the builder shows.
    const META: StepMeta;
    /// Turns checked settings into a ready step. Problems are reported through `cx`.
    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError>;
}

/// The registration record of a step type, collected with `inventory`.
#[derive(Clone, Copy)]
pub struct StepDescriptor {
    /// What the builder shows.
    pub meta: StepMeta,
    schema: fn() -> schemars::Schema,
    build: fn(Value, &mut BuildContext<'_>) -> Result<BuiltStep, BuildError>,
}

impl std::fmt::Debug for StepDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepDescriptor").field("id", &self.meta.id).finish_non_exhaustive()
    }
}

impl StepDescriptor {
    /// The descriptor of plugin `P`.
    pub const fn of<P: StepPlugin>() -> Self {
        StepDescriptor { meta: P::META, schema: settings_schema::<P::Settings>, build: build_erased::<P> }
    }

    /// The JSON Schema of the settings, generated from the settings type.
    pub fn settings_schema(&self) -> schemars::Schema {
        (self.schema)()
    }

    pub(crate) fn build(&self, settings: Value, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        (self.build)(settings, cx)
    }
}

inventory::collect!(StepDescriptor);

fn settings_schema<S: JsonSchema>() -> schemars::Schema {
    schemars::generate::SchemaSettings::draft2020_12().into_generator().into_root_schema_for::<S>()
}

fn build_erased<P: StepPlugin>(settings: Value, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
    match serde_json::from_value::<P::Settings>(settings) {
        Ok(settings) => P::build(settings, cx),
        Err(e) => Err(cx.invalid("", format!("the settings do not fit this step type: {e}"), None)),
    }
}

/// A step ready to run.
pub enum BuiltStep {
    /// An input step: receives the run's input and emits the first items.
    Start(Box<dyn StartStep>),
    /// Any other step: receives every item of its source, one at a time.
    Each(Box<dyn Step>),
    /// A step that needs every item of its source at once (Distinct, Group by).
    All(Box<dyn AllItemsStep>),
}

impl BuiltStep {
    /// Wraps an input step.
    pub fn start(step: impl StartStep + 'static) -> Self {
        BuiltStep::Start(Box::new(step))
    }

    /// Wraps a per-item step.
    pub fn each(step: impl Step + 'static) -> Self {
        BuiltStep::Each(Box::new(step))
    }

    /// Wraps a step that takes all the items at once.
    pub fn all(step: impl AllItemsStep + 'static) -> Self {
        BuiltStep::All(Box::new(step))
    }

    /// Runs a step that is not an input step on `items`.
    pub(crate) fn run_items(
        &self,
        items: Vec<Item>,
        cx: &mut StepContext<'_>,
        out: &mut Vec<Item>,
    ) -> Result<(), StepError> {
        match self {
            BuiltStep::Start(_) => Ok(()),
            BuiltStep::Each(step) => items.into_iter().try_for_each(|item| step.run(item, cx, out)),
            BuiltStep::All(step) => step.run_all(items, cx, out),
        }
    }
}

/// An input step.
pub trait StartStep: Send + Sync {
    /// Emits the dataflow's first items from the run's input (`{}` when none was given).
    fn start(&self, input: &Value, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError>;
}

/// A step that works on each item of its source.
pub trait Step: Send + Sync {
    /// Handles one item, pushing zero, one or many items to `out`.
    fn run(&self, item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError>;
}

/// A step that works on all the items of its source together.
pub trait AllItemsStep: Send + Sync {
    /// Handles the items of the source, in order, pushing what it emits to `out`.
    fn run_all(&self, items: Vec<Item>, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError>;
}

/// Why a step failed on an item. The engine adds the step's name, type and place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    /// What went wrong, for the person who wrote the dataflow.
    pub message: String,
    /// The setting concerned (a JSON Pointer relative to `settings`), when there is one.
    pub setting: Option<String>,
    /// The store could not be reached: the dataflow is not at fault, and trying again later
    /// may work (a server answers 503).
    pub unavailable: bool,
    /// The message is fit for anyone, such as "invalid or expired code": a server shows it to
    /// end users and anonymous callers. Any other message goes to builders only (it may name a
    /// user, a limit or a setting); the others get [`REQUEST_FAILED`].
    pub public: bool,
    /// Where in the setting's text (a script's line and column), when the step can say.
    pub text_at: Option<crate::source::Location>,
}

/// What end users and anonymous callers are told when a step fails with a message that is not
/// [`StepError::public`]; the detail stays in the run record.
pub const REQUEST_FAILED: &str = "the request could not be completed";

impl From<crate::store::StoreError> for StepError {
    fn from(e: crate::store::StoreError) -> Self {
        let unavailable = matches!(e, crate::store::StoreError::Unavailable(_));
        StepError { unavailable, ..StepError::new(e.to_string()) }
    }
}

impl StepError {
    /// A failure not tied to one setting.
    pub fn new(message: impl Into<String>) -> Self {
        StepError { message: message.into(), setting: None, unavailable: false, public: false, text_at: None }
    }

    /// A failure whose message anyone may read (it tells nothing of users, limits or settings).
    pub fn public(message: impl Into<String>) -> Self {
        StepError::new(message).for_anyone()
    }

    /// This failure, its message fit for anyone (such as what is wrong with the caller's own
    /// input).
    pub fn for_anyone(self) -> Self {
        StepError { public: true, ..self }
    }

    /// A failure caused by the value of a setting, such as a path that holds the wrong thing.
    pub fn at_setting(setting: &str, message: impl Into<String>) -> Self {
        StepError { setting: Some(setting.to_owned()), ..StepError::new(message) }
    }

    /// This failure, placed at a line and column of its setting's text (a script's).
    pub fn in_text(self, line: usize, column: usize) -> Self {
        StepError { text_at: Some(crate::source::Location { line, column }), ..self }
    }
}

/// Marks that a step's settings were refused; the problems were recorded in the [`BuildContext`].
#[derive(Debug)]
pub struct BuildError(());

/// What the engine hands a step type while it builds a step.
pub struct BuildContext<'a> {
    pub(crate) component: &'a str,
    pub(crate) step: &'a str,
    pub(crate) settings_pointer: String,
    pub(crate) definitions: &'a Definitions,
    pub(crate) check_data_fields: bool,
    pub(crate) data_schema: &'a Arc<jsonschema::Validator>,
    pub(crate) templates: &'a Arc<Templates>,
    pub(crate) scripts: &'a Arc<ScriptHost>,
    /// The other components whose entries steps may read or write.
    pub(crate) directory: &'a dyn ComponentDirectory,
    /// The dataflow being built and the component's dataflows, each with its access.
    pub(crate) dataflow: &'a str,
    pub(crate) dataflows: &'a [(String, crate::component::Access)],
    /// The dataflows the steps built so far call (Execute dataflow), for the cycle check.
    pub(crate) calls: &'a mut Vec<DataflowCall>,
    /// The names of the steps placed before this one, by index.
    pub(crate) earlier: &'a [Option<&'a str>],
    /// The earlier steps whose items this one reads besides its source's (Join models).
    pub(crate) reads: Vec<usize>,
    pub(crate) problems: &'a mut Vec<Problem>,
    pub(crate) secrets: &'a mut Vec<Secret>,
    /// Top-level fields the steps upstream of this one declared they write (`None`: a step
    /// upstream may write any field, such as a script).
    pub(crate) upstream: Option<&'a [String]>,
    /// What this step declares it writes (`None`: any field).
    pub(crate) writes: Option<Vec<String>>,
    /// Every top-level field it names as written or possibly written, kept after
    /// [`writes_anything`](Self::writes_anything): what a builder's path picker offers downstream.
    pub(crate) offers: Vec<String>,
}

/// Where Get user info and Login with password put the user: a system field that callers
/// other than builders cannot set.
pub const USER_FIELD: &str = "_user";

/// System fields every Aqtra entry has besides its definitions.
pub const SYSTEM_FIELDS: [&str; 6] = ["Id", "name", "creatorSubject", "updateSubject", "createdDate", "updateDate"];

impl BuildContext<'_> {
    /// The name of the component being built.
    pub fn component(&self) -> &str {
        self.component
    }

    /// The name of the step being built.
    pub fn step_name(&self) -> &str {
        self.step
    }

    /// Declares that the step writes the field at `path` (into every item it emits), so that
    /// steps downstream may read it.
    pub fn writes(&mut self, path: &FieldPath) {
        if let Some(root) = path.segments().first() {
            self.writes_field(root);
        }
    }

    /// Declares that the step writes the top-level field `field` (a fixed one, such as
    /// `_session`).
    pub fn writes_field(&mut self, field: &str) {
        self.may_write(field);
        if let Some(writes) = &mut self.writes {
            writes.push(field.to_owned());
        }
    }

    /// Checks a setting that says where the step writes its result (`resultField`), as
    /// [`path`](Self::path) does, and declares the write.
    pub fn result_path(&mut self, setting: &str, text: &str) -> Result<FieldPath, BuildError> {
        let path = self.path(setting, text)?;
        self.writes(&path);
        Ok(path)
    }

    /// Names a top-level field the step may write (a script's `item.x = …`) for a builder's
    /// completions only: unlike [`writes`](Self::writes), downstream checks do not count on it.
    pub fn may_write(&mut self, field: &str) {
        if !self.offers.iter().any(|f| f == field) {
            self.offers.push(field.to_owned());
        }
    }

    /// Declares that the step may write any field (a script): checks of what downstream steps
    /// read stop here.
    pub fn writes_anything(&mut self) {
        self.writes = None;
    }

    /// Checks a setting that names a user (such as `userName`), as [`value_source`](Self::value_source)
    /// does; and `_user`, which only steps write (Get user info, Login with password), never
    /// callers other than builders, is a problem where no step upstream writes it.
    pub fn user_source(&mut self, setting: &str, given: &FieldOrValue) -> Result<ValueSource, BuildError> {
        let source = self.value_source(setting, given)?;
        let ValueSource::Field(path) = &source else { return Ok(source) };
        let reads_user = path.segments().first().is_some_and(|root| root == USER_FIELD);
        match self.upstream {
            Some(upstream) if reads_user && !upstream.iter().any(|w| w == USER_FIELD) => Err(self.invalid(
                setting,
                format!("{setting} reads {path}, but no step before this one writes {USER_FIELD}"),
                Some(format!(
                    "add Get user info or Login with password upstream (their result field is {USER_FIELD}), or name the user with a model field such as data.UserName"
                )),
            )),
            _ => Ok(source),
        }
    }

    /// The component's definitions.
    pub fn definitions(&self) -> &Definitions {
        self.definitions
    }

    /// The compiled JSON Schema of the component's `data` (types, formats, `required`, `enum`).
    pub fn data_schema(&self) -> &Arc<jsonschema::Validator> {
        self.data_schema
    }

    /// The component whose entries a step reads or writes, named by the setting `setting`
    /// (`None`: the component being built); a name the directory does not know is a problem.
    pub fn entries_of(&mut self, setting: &str, component: Option<&str>) -> Result<EntryKind, BuildError> {
        let name = component.unwrap_or(self.component);
        if name == self.component {
            return Ok(EntryKind::compiled(name, self.definitions.clone(), self.data_schema.clone()));
        }
        let Some(definitions) = self.directory.definitions(name) else {
            let known = self.directory.names();
            let hint = match suggestion(name, known.iter().map(String::as_str)) {
                Some(close) => format!("did you mean \"{close}\"?"),
                None if known.is_empty() => {
                    "load the components together (a folder of component files, or saved on the server)".to_owned()
                }
                None => format!("the components known here are {}", known.join(", ")),
            };
            return Err(self.invalid(setting, format!("there is no component named \"{name}\""), Some(hint)));
        };
        EntryKind::new(name, definitions).map_err(|message| {
            self.invalid(setting, format!("the definitions of {name} do not form a valid model: {message}"), None)
        })
    }

    /// Checks that the setting `setting` names a dataflow this one may call: of this component,
    /// or of `component` (another one the directory knows); it must exist and admit whoever
    /// this one admits. Calls within the component are recorded: calls that go round in a
    /// circle are refused once every dataflow is built (calls into other components are
    /// bounded at run time).
    pub fn calls_dataflow(&mut self, setting: &str, component: Option<&str>, name: &str) -> Result<(), BuildError> {
        let other = component.filter(|c| *c != self.component);
        let known = match other {
            None => self.dataflows.to_vec(),
            Some(other) => match self.directory.dataflows(other) {
                Some(known) => known,
                None => {
                    let hint = "load the components together (a folder of component files, or saved on the server)";
                    let message = format!("there is no component named \"{other}\" whose dataflows are known here");
                    return Err(self.invalid("component", message, Some(hint.into())));
                }
            },
        };
        let whose = other.map_or_else(|| "this component".to_owned(), |c| format!("component {c}"));
        let Some((_, access)) = known.iter().find(|(n, _)| n == name) else {
            let hint = suggestion(name, known.iter().map(|(n, _)| n.as_str())).map_or_else(
                || {
                    format!(
                        "its dataflows are {}",
                        known.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                    )
                },
                |s| format!("did you mean \"{s}\"?"),
            );
            return Err(self.invalid(setting, format!("{whose} has no dataflow named \"{name}\""), Some(hint)));
        };
        let caller =
            self.dataflows.iter().find(|(n, _)| n == self.dataflow).map(|(_, a)| a.clone()).unwrap_or_default();
        if !access.admits_all_admitted_by(&caller) {
            let message = format!(
                "{name} admits fewer callers ({}) than {} ({}): calling it would let in those it turns away",
                access.describe(),
                self.dataflow,
                caller.describe()
            );
            return Err(self.invalid(
                setting,
                message,
                Some(format!("give {} an access at least as strict", self.dataflow)),
            ));
        }
        if other.is_none() {
            let pointer = format!("{}/{setting}", self.settings_pointer);
            self.calls.push(DataflowCall {
                from: self.dataflow.to_owned(),
                to: name.to_owned(),
                pointer,
                step: self.step.to_owned(),
            });
        }
        Ok(())
    }

    /// Checks that the setting `setting` names a step placed before this one, whose items this
    /// step reads besides its source's (Join models' right step).
    pub fn reads_step(&mut self, setting: &str, name: &str) -> Result<StepRef, BuildError> {
        match self.earlier.iter().position(|n| *n == Some(name)) {
            Some(index) => {
                self.reads.push(index);
                Ok(StepRef(index))
            }
            None => {
                let known: Vec<&str> = self.earlier.iter().flatten().copied().collect();
                let hint = suggestion(name, known.iter().copied()).map_or_else(
                    || format!("name one of the steps placed before: {}", known.join(", ")),
                    |s| format!("did you mean \"{s}\"?"),
                );
                Err(self.invalid(setting, format!("no step named \"{name}\" is placed before this one"), Some(hint)))
            }
        }
    }

    /// The component's notification templates, compiled.
    pub fn templates(&self) -> &Arc<Templates> {
        self.templates
    }

    /// The engine's sandboxed script host.
    pub fn scripts(&self) -> &Arc<ScriptHost> {
        self.scripts
    }

    /// Declares the field at `path` secret in every run of the dataflow, from its first step:
    /// traces show it as `"[redacted]"` and responses leave it out (such as a password the
    /// input carries, or a one-time code the step writes).
    pub fn secret_field(&mut self, path: &FieldPath) {
        Secret::add(self.secrets, path, false);
    }

    /// Records a problem with a setting (`setting` is a JSON Pointer relative to `settings`,
    /// without the leading slash; `""` is the settings object).
    pub fn invalid(&mut self, setting: &str, message: impl Into<String>, hint: Option<String>) -> BuildError {
        let pointer = if setting.is_empty() {
            self.settings_pointer.clone()
        } else {
            format!("{}/{setting}", self.settings_pointer)
        };
        let mut problem = Problem::new(pointer, message).step(Some(self.step));
        problem.hint = hint;
        self.problems.push(problem);
        BuildError(())
    }

    /// Parses a model path held by a setting and checks `data.X` against the definitions.
    pub fn path(&mut self, setting: &str, text: &str) -> Result<FieldPath, BuildError> {
        let path = match FieldPath::parse(text) {
            Ok(path) => path,
            Err(e) => {
                return Err(self.invalid(setting, e.to_string(), Some("write a path such as data.UserName".into())));
            }
        };
        if let [first, field, ..] = path.segments()
            && first == "data"
        {
            self.data_field(setting, field, "")?;
        }
        Ok(path)
    }

    /// Parses a path held by a setting that points into something other than the step's items
    /// (a called dataflow's model, a request body, each element of an array, another step's
    /// items): only its syntax is checked.
    pub fn outer_path(&mut self, setting: &str, text: &str) -> Result<FieldPath, BuildError> {
        FieldPath::parse(text).map_err(|e| self.invalid(setting, e.to_string(), None))
    }

    /// Checks a field-or-value setting (its path, when it is one).
    pub fn value_source(&mut self, setting: &str, given: &FieldOrValue) -> Result<ValueSource, BuildError> {
        match given {
            FieldOrValue::Field(text) => self.path(setting, text).map(ValueSource::Field),
            FieldOrValue::Value(literal) => Ok(ValueSource::Value(literal.value.clone())),
        }
    }

    /// Checks that `data.<field>`, named by a setting, is one of the component's definitions
    /// (or a system field); `place` is added to the message (such as a script line).
    pub fn data_field(&mut self, setting: &str, field: &str, place: &str) -> Result<(), BuildError> {
        if !self.check_data_fields {
            return Ok(());
        }
        let definitions = self.definitions;
        self.field_among(setting, field, definitions, "this component", place)
    }

    /// Checks that `field`, named by a setting, is a definition (or a system field) of the
    /// component `kind` (another one's, for a step that writes its entries).
    pub fn field_of(&mut self, setting: &str, kind: &EntryKind, field: &str) -> Result<(), BuildError> {
        if kind.component == self.component {
            return self.data_field(setting, field, "");
        }
        self.field_among(setting, field, &kind.definitions, &kind.component, "")
    }

    fn field_among(
        &mut self,
        setting: &str,
        field: &str,
        definitions: &Definitions,
        whose: &str,
        place: &str,
    ) -> Result<(), BuildError> {
        if definitions.is_empty() || definitions.contains_key(field) || SYSTEM_FIELDS.contains(&field) {
            return Ok(());
        }
        let hint = suggestion(field, definitions.keys().map(String::as_str)).map_or_else(
            || "add it to \"definitions\", or fix the path".to_owned(),
            |s| format!("did you mean data.{s}?"),
        );
        Err(self.invalid(setting, format!("\"{field}\" is not a definition of {whose}{place}"), Some(hint)))
    }
}

/// A step whose items another step reads ([`BuildContext::reads_step`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepRef(usize);

/// A call from one dataflow to another (Execute dataflow), found while building.
#[derive(Debug, Clone)]
pub(crate) struct DataflowCall {
    pub from: String,
    pub to: String,
    /// The setting naming the called dataflow.
    pub pointer: String,
    pub step: String,
}

/// The closest known name to `wanted`, when one is close enough to be a likely typo.
pub(crate) fn suggestion<'a>(wanted: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (strsim::damerau_levenshtein(&wanted.to_lowercase(), &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// A field hidden from traces, and from responses unless it is its owner's credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// The field.
    pub path: FieldPath,
    /// Whether responses keep it.
    pub in_response: bool,
}

impl Secret {
    /// Adds `path` to `secrets` unless it is there already.
    fn add(secrets: &mut Vec<Secret>, path: &FieldPath, in_response: bool) {
        if !secrets.iter().any(|s| s.path == *path) {
            secrets.push(Secret { path: path.clone(), in_response });
        }
    }
}

/// What a running step may touch besides its item.
pub struct StepContext<'r> {
    pub(crate) run: &'r RunContext,
    pub(crate) response: &'r mut Vec<Item>,
    pub(crate) form_actions: &'r mut Vec<Value>,
    pub(crate) step: &'r str,
    pub(crate) services: &'r Services,
    pub(crate) secrets: &'r mut Vec<Secret>,
    pub(crate) notes: &'r mut Vec<String>,
    /// Users read from the store during this run, by the name or id asked for and by id.
    pub(crate) users: &'r mut Vec<(String, crate::store::User)>,
    /// Factors users proved during this run, by user id.
    pub(crate) factors: &'r mut Vec<(String, crate::store::Factor)>,
    pub(crate) dry_run: bool,
    pub(crate) events: &'r mut Vec<crate::events::Event>,
    /// How the step's calls outside Sluice are tried ([`call_outside`](Self::call_outside)).
    pub(crate) outside: &'r crate::resilience::OutsideCalls,
    /// The run it runs in (`None` for a step run on its own).
    pub(crate) caller: Option<crate::run::Caller<'r>>,
    /// What the steps before it emitted, by index (empty for a step run on its own).
    pub(crate) earlier: &'r [Vec<Item>],
}

impl StepContext<'_> {
    /// Who runs the dataflow, and for which client.
    pub fn run(&self) -> &RunContext {
        self.run
    }

    /// Whether this is a dry run ([`RunOptions::dry_run`](crate::RunOptions::dry_run)): a step
    /// with effects outside the run does nothing and notes what it would have done.
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// The name of the running step.
    pub fn step_name(&self) -> &str {
        self.step
    }

    /// The store, clock and keys of the engine.
    pub fn services(&self) -> &Services {
        self.services
    }

    /// The user with this name or id, as the store's `find_user`; a user read once in a run is
    /// not read again by later steps of the same run (one run sees one state of the user, and
    /// makes one round trip for it).
    pub fn find_user(&mut self, name_or_id: &str) -> Result<Option<crate::store::User>, crate::store::StoreError> {
        // Refused before any lookup, as no such user.
        if !crate::store::could_name_a_user(name_or_id) {
            return Ok(None);
        }
        if let Some((_, user)) = self.users.iter().find(|(key, _)| key == name_or_id) {
            return Ok(Some(user.clone()));
        }
        let found = self.services.store.find_user(name_or_id)?;
        if let Some(user) = &found {
            // Under the id too: a lookup by a user's id finds that user whatever the key was.
            if user.id != name_or_id {
                self.users.push((user.id.clone(), user.clone()));
            }
            self.users.push((name_or_id.to_owned(), user.clone()));
        }
        Ok(found)
    }

    /// Records that the user `user_id` proved `method` now (a password step that accepted
    /// the password): a code issued later in the run carries it to the session it opens.
    pub fn proved(&mut self, user_id: &str, method: crate::store::AuthMethod) {
        let factor = crate::store::Factor { method, at: self.services.clock.now() };
        self.factors.push((user_id.to_owned(), factor));
    }

    /// The factors the user `user_id` proved earlier in this run.
    pub fn proved_by(&self, user_id: &str) -> Vec<crate::store::Factor> {
        self.factors.iter().filter(|(id, _)| id == user_id).map(|(_, factor)| *factor).collect()
    }

    /// Marks the field at `path` as a credential for its owner: traces show it as
    /// `"[redacted]"`, responses keep it (such as a session token).
    pub fn mark_credential(&mut self, path: &FieldPath) {
        Secret::add(self.secrets, path, true);
    }

    /// Counts `event` for the server's metrics (recorded in this step's trace entry).
    pub fn count(&mut self, event: crate::events::Event) {
        self.events.push(event);
    }

    /// Adds a line to this step's trace entry: what the builder should know about the run
    /// (such as why a code was refused) that the run's caller must not see.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// The items the step `step` emitted in this run (none when it did not run).
    pub fn items_of(&self, step: StepRef) -> &[Item] {
        self.earlier.get(step.0).map_or(&[], Vec::as_slice)
    }

    /// Adds an item to the run's response.
    pub fn respond(&mut self, item: Item) {
        self.response.push(item);
    }

    /// Records a command for the user interface (returned beside the response).
    pub fn form_action(&mut self, action: Value) {
        self.form_actions.push(action);
    }
}
