//! The sandboxed Rhai host behind `execute_script`.
//!
//! The item is the variable `item`. Keys may carry an Aqtra type suffix
//! (`item["new_code@string"] = 42`): the value is converted to that type and stored under the
//! bare key. There is no file, network, module or `eval` access, and every run is bounded by the
//! engine's [`ScriptLimits`].

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::packages::{Package, StandardPackage};
use rhai::{AST, ASTNode, Dynamic, EvalAltResult, Expr, Map as RhaiMap, Position, Scope};
use serde_json::Value;

use crate::plugin::Item;
use crate::types::{TypeCheckers, ValueType, split_suffix};

/// Bounds on every script run. The defaults suit request handling; raise them for batch work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptLimits {
    /// Most Rhai operations one run may take.
    pub max_operations: u64,
    /// Deepest function call nesting.
    pub max_call_depth: usize,
    /// Deepest expression nesting (also bounds the parser).
    pub max_expr_depth: usize,
    /// Longest string, in bytes.
    pub max_string_size: usize,
    /// Longest array.
    pub max_array_size: usize,
    /// Largest object map.
    pub max_map_size: usize,
    /// Wall-clock time one run may take.
    pub timeout: Duration,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_operations: 1_000_000,
            max_call_depth: 32,
            max_expr_depth: 64,
            max_string_size: 1 << 20,
            max_array_size: 100_000,
            max_map_size: 10_000,
            timeout: Duration::from_secs(1),
        }
    }
}

/// A script compiled once at load.
#[derive(Debug, Clone)]
pub struct CompiledScript {
    ast: Arc<AST>,
}

/// A script problem, placed in the script's own text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", place(*.line, *.column))]
pub struct ScriptError {
    /// What went wrong.
    pub message: String,
    /// 1-based line in the script, when known.
    pub line: Option<usize>,
    /// 1-based column in the script, when known.
    pub column: Option<usize>,
}

fn place(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (script line {l}, column {c})"),
        (Some(l), None) => format!(" (script line {l})"),
        _ => String::new(),
    }
}

impl ScriptError {
    fn at(message: impl Into<String>, pos: Position) -> Self {
        ScriptError { message: message.into(), line: pos.line(), column: pos.position() }
    }
}

thread_local! {
    /// The deadline of the script running on this thread (runs are synchronous, so one suffices).
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Clears the thread's deadline however the run ends.
struct DeadlineGuard;

impl Drop for DeadlineGuard {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(None));
    }
}

/// The item as scripts see it: a map whose keys may carry a type suffix.
///
/// A field moves from JSON into Rhai when the script first touches it; the fields it never
/// touches pass through as they came, unconverted: a script costs what it reads and writes,
/// not the size of the item, and an untouched value keeps its exact JSON form (such as an
/// integer beyond Rhai's 64-bit signed range).
#[derive(Debug, Clone, Default)]
struct ScriptItem {
    /// Fields the script has not touched.
    untouched: Item,
    /// Fields the script has read or written; no key is in both.
    touched: RhaiMap,
}

impl ScriptItem {
    /// The field `key`, moved into Rhai on first use. `data` becomes a shared value, so
    /// `item.data.X` reads and writes in place (as in Aqtra's Python) instead of copying it.
    fn field(&mut self, key: &str) -> Option<&mut Dynamic> {
        if !self.touched.contains_key(key) {
            let value = to_rhai(self.untouched.remove(key)?);
            let value = if key == "data" { value.into_shared() } else { value };
            self.touched.insert(key.into(), value);
        }
        self.touched.get_mut(key)
    }

    fn get(&mut self, key: &str) -> Dynamic {
        self.field(key).map_or(Dynamic::UNIT, |value| value.clone())
    }

    fn set(&mut self, key: &str, value: Dynamic) {
        self.untouched.remove(key);
        self.touched.insert(key.into(), value);
    }

    fn contains(&self, key: &str) -> bool {
        self.touched.contains_key(key) || self.untouched.contains_key(key)
    }

    fn remove(&mut self, key: &str) -> Dynamic {
        let touched = self.touched.remove(key);
        touched.or_else(|| self.untouched.remove(key).map(to_rhai)).unwrap_or(Dynamic::UNIT)
    }

    fn len(&self) -> usize {
        self.touched.len() + self.untouched.len()
    }

    /// Every key, in order.
    fn keys(&self) -> rhai::Array {
        let mut keys: Vec<&str> =
            self.touched.keys().map(|k| k.as_str()).chain(self.untouched.keys().map(String::as_str)).collect();
        keys.sort_unstable();
        keys.into_iter().map(|key| Dynamic::from(key.to_owned())).collect()
    }

    /// Back to JSON: the touched fields converted, the others as they came.
    fn into_json(self) -> Result<Item, String> {
        let mut item = self.untouched;
        for (key, value) in self.touched {
            item.insert(no_nul(key.into())?, from_rhai(value)?);
        }
        Ok(item)
    }
}

/// The engine's script host: one sandboxed Rhai engine shared by all runs.
pub struct ScriptHost {
    rhai: rhai::Engine,
    limits: ScriptLimits,
    types: Arc<TypeCheckers>,
}

impl std::fmt::Debug for ScriptHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptHost").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl ScriptHost {
    /// Builds the sandbox.
    pub(crate) fn new(limits: ScriptLimits, types: Arc<TypeCheckers>) -> Self {
        let mut rhai = rhai::Engine::new_raw();
        rhai.register_global_module(StandardPackage::new().as_shared_module());
        rhai.disable_symbol("eval");
        rhai.on_print(|_| {});
        rhai.on_debug(|_, _, _| {});
        rhai.set_strict_variables(true);
        rhai.set_max_operations(limits.max_operations);
        rhai.set_max_call_levels(limits.max_call_depth);
        rhai.set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth);
        rhai.set_max_string_size(limits.max_string_size);
        rhai.set_max_array_size(limits.max_array_size);
        rhai.set_max_map_size(limits.max_map_size);
        rhai.on_progress(|ops| {
            if ops % 256 != 0 {
                return None;
            }
            let deadline = DEADLINE.with(Cell::get)?;
            (Instant::now() > deadline).then(|| Dynamic::from("timeout"))
        });
        register_item(&mut rhai, types.clone(), limits.max_map_size);
        ScriptHost { rhai, limits, types }
    }

    /// The limits every run is held to.
    pub fn limits(&self) -> &ScriptLimits {
        &self.limits
    }

    /// Compiles a script; `item` is the only variable in scope.
    pub fn compile(&self, source: &str) -> Result<CompiledScript, ScriptError> {
        let mut scope = Scope::new();
        scope.push("item", ScriptItem::default());
        self.rhai
            .compile_with_scope(&scope, source)
            .map(|ast| CompiledScript { ast: Arc::new(ast) })
            .map_err(|e| ScriptError::at(e.err_type().to_string(), e.position()))
    }

    /// Runs a compiled script on an item and returns the item as the script left it.
    pub fn run(&self, script: &CompiledScript, item: Item) -> Result<Item, ScriptError> {
        let mut scope = Scope::new();
        scope.push("item", ScriptItem { untouched: item, touched: RhaiMap::new() });
        DEADLINE.with(|d| d.set(Some(Instant::now() + self.limits.timeout)));
        let _guard = DeadlineGuard;
        self.rhai.run_ast_with_scope(&mut scope, &script.ast).map_err(|e| self.explain(*e))?;
        let result = scope.remove::<Dynamic>("item").unwrap_or_default();
        if !result.is::<ScriptItem>() && !result.is_map() {
            return Err(ScriptError::at("`item` must stay an object map", Position::NONE));
        }
        let mut value = from_rhai(result).map_err(|e| ScriptError::at(e, Position::NONE))?;
        apply_nested_suffixes(&self.types, &mut value).map_err(|e| ScriptError::at(e, Position::NONE))?;
        match value {
            Value::Object(item) => Ok(item),
            _ => Err(ScriptError::at("`item` must stay an object map", Position::NONE)),
        }
    }

    /// The `data` fields a script names literally (`item.data.X`, `item["data"]["X"]`), with
    /// where; fields reached through variables or computed keys cannot be known and are skipped.
    pub fn data_fields(&self, script: &CompiledScript) -> Vec<FieldUse> {
        let mut uses = Vec::new();
        item_chains(script, |rest| {
            if let (Some("data"), _, Some(rest)) = chain_link(rest)
                && let (Some(name), pos, _) = chain_link(rest)
            {
                uses.push(FieldUse { name: bare(name).to_owned(), line: pos.line(), column: pos.position() });
            }
        });
        uses
    }

    /// The top-level fields a script names literally (`item.x`, `item["x@string"]`), without
    /// their type suffixes and without `data`, in order: what it may write, for a builder's
    /// completions.
    pub fn item_fields(&self, script: &CompiledScript) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        item_chains(script, |rest| {
            if let (Some(name), ..) = chain_link(rest)
                && bare(name) != "data"
                && !names.iter().any(|n| n == bare(name))
            {
                names.push(bare(name).to_owned());
            }
        });
        names
    }

    fn explain(&self, error: EvalAltResult) -> ScriptError {
        let pos = error.position();
        let l = &self.limits;
        let message = match &error {
            EvalAltResult::ErrorTooManyOperations(_) => {
                format!("the script took more than {} operations (the engine's max_operations limit)", l.max_operations)
            }
            EvalAltResult::ErrorTerminated(..) => {
                format!("the script ran longer than {:?} (the engine's timeout limit)", l.timeout)
            }
            EvalAltResult::ErrorStackOverflow(_) => {
                format!("the script nested calls deeper than {} (the engine's max_call_depth limit)", l.max_call_depth)
            }
            EvalAltResult::ErrorDataTooLarge(what, _) => format!("{what} exceeds the engine's size limit"),
            EvalAltResult::ErrorRuntime(value, _) => format!("script error: {value}"),
            // Rhai names a missing value by its unit type; say what a script author sees.
            EvalAltResult::ErrorDotExpr(text, _) if text.contains("for type '()'") => {
                let property = text.split('\'').nth(1).unwrap_or_default();
                format!(
                    "the script reads '{property}' of an empty value (null): check that it is set before reading it"
                )
            }
            other => {
                let mut text = other.to_string();
                // Rhai appends the position itself; ours is structured.
                if let Some(cut) = text.rfind(" (line ") {
                    text.truncate(cut);
                }
                text
            }
        };
        ScriptError::at(message, pos)
    }
}

/// A `data` field named in a script, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldUse {
    /// The field, without a type suffix.
    pub name: String,
    /// 1-based line in the script.
    pub line: Option<usize>,
    /// 1-based column in the script.
    pub column: Option<usize>,
}

impl FieldUse {
    /// Where the field is named, as text to append to a message.
    pub fn place(&self) -> String {
        place(self.line, self.column)
    }
}

/// Splits one link of a property chain: the literal key it names (if any), its position, and
/// the rest of the chain.
/// Calls `each` with the rest of every chain that starts at the variable `item` (the `.a.b`
/// of `item.a.b`, the `["a"]` of `item["a"]`).
fn item_chains(script: &CompiledScript, mut each: impl FnMut(&Expr)) {
    script.ast.walk(&mut |path| {
        if let Some(ASTNode::Expr(Expr::Dot(chain, ..) | Expr::Index(chain, ..))) = path.last()
            && matches!(&chain.lhs, Expr::Variable(var, ..) if var.1 == "item")
        {
            each(&chain.rhs);
        }
        true
    });
}

/// A key without its type suffix (`new_code` for `new_code@string`).
fn bare(key: &str) -> &str {
    split_suffix(key).map_or(key, |(bare, _)| bare)
}

fn chain_link(expr: &Expr) -> (Option<&str>, Position, Option<&Expr>) {
    fn key(expr: &Expr) -> Option<&str> {
        match expr {
            Expr::Property(prop, _) => Some(prop.2.as_str()),
            Expr::StringConstant(s, _) => Some(s.as_str()),
            _ => None,
        }
    }
    match expr {
        Expr::Dot(link, ..) | Expr::Index(link, ..) => (key(&link.lhs), link.lhs.position(), Some(&link.rhs)),
        other => (key(other), other.position(), None),
    }
}

/// Rhai bounds the maps that literals and functions produce; the item grows through its own
/// indexer, so the map limit is enforced there.
fn register_item(rhai: &mut rhai::Engine, types: Arc<TypeCheckers>, max_keys: usize) {
    rhai.register_type_with_name::<ScriptItem>("Item");
    rhai.register_indexer_get(|item: &mut ScriptItem, key: &str| -> Dynamic { item.get(bare(key)) });
    rhai.register_indexer_set(
        move |item: &mut ScriptItem, key: &str, value: Dynamic| -> Result<(), Box<EvalAltResult>> {
            let (bare, value) = match split_suffix(key) {
                Some((bare, ty)) => (bare, convert_dynamic(&types, ty, value, key)?),
                None => (key, value),
            };
            if max_keys > 0 && item.len() >= max_keys && !item.contains(bare) {
                return Err(EvalAltResult::ErrorDataTooLarge("Size of the item".into(), Position::NONE).into());
            }
            item.set(bare, value);
            Ok(())
        },
    );
    // `item.data` is the hot path: a direct property avoids Rhai's failed-getter-then-indexer fallback.
    rhai.register_get_set(
        "data",
        |item: &mut ScriptItem| item.get("data"),
        |item: &mut ScriptItem, value: Dynamic| item.set("data", value),
    );
    rhai.register_fn("keys", |item: &mut ScriptItem| item.keys());
    rhai.register_fn("contains", |item: &mut ScriptItem, key: &str| item.contains(key));
    rhai.register_fn("remove", |item: &mut ScriptItem, key: &str| item.remove(key));
    rhai.register_fn("len", |item: &mut ScriptItem| item.len() as i64);
}

fn convert_dynamic(
    types: &TypeCheckers,
    ty: ValueType,
    value: Dynamic,
    key: &str,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let fail = |why: String| -> Box<EvalAltResult> { format!("cannot store \"{key}\": {why}").into() };
    let json = from_rhai(value).map_err(fail)?;
    types.coerce(ty, json).map(to_rhai).map_err(fail)
}

/// Moves a JSON value into Rhai.
fn to_rhai(value: Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => b.into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or(f64::NAN).into(),
        },
        Value::String(s) => s.into(),
        Value::Array(items) => Dynamic::from_array(items.into_iter().map(to_rhai).collect()),
        Value::Object(map) => Dynamic::from_map(map.into_iter().map(|(k, v)| (k.into(), to_rhai(v))).collect()),
    }
}

/// Moves a Rhai value back into JSON; values JSON cannot hold (functions, timestamps, NaN) fail.
fn from_rhai(value: Dynamic) -> Result<Value, String> {
    let value = value.flatten();
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = value.as_float() {
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("{f} cannot be stored in an item (JSON has no NaN or infinity)"));
    }
    if let Ok(c) = value.as_char() {
        return no_nul(c.to_string()).map(Value::String);
    }
    let type_name = value.type_name();
    if value.is_string() {
        let text = value.into_string().map_err(|_| "a string cannot be read".to_owned())?;
        return no_nul(text).map(Value::String);
    }
    if value.is_array() {
        let items = value.into_array().map_err(|_| "an array cannot be read".to_owned())?;
        return items.into_iter().map(from_rhai).collect::<Result<_, _>>().map(Value::Array);
    }
    if value.is::<ScriptItem>() {
        return value.cast::<ScriptItem>().into_json().map(Value::Object);
    }
    match value.try_cast::<RhaiMap>() {
        Some(map) => ScriptItem { untouched: Item::new(), touched: map }.into_json().map(Value::Object),
        None => Err(format!("a value of type {type_name} cannot be stored in an item")),
    }
}

/// `text`, unless it holds a NUL character (see [`NUL_RULE`](crate::types::NUL_RULE)).
fn no_nul(text: String) -> Result<String, String> {
    if text.contains('\0') {
        return Err(format!("the script wrote text with a NUL character: {}", crate::types::NUL_RULE));
    }
    Ok(text)
}

/// Applies type suffixes written below the top level (`item.data["n@integer"] = "5"`).
fn apply_nested_suffixes(types: &TypeCheckers, value: &mut Value) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            let typed: Vec<String> = map.keys().filter(|k| split_suffix(k).is_some()).cloned().collect();
            for key in typed {
                let Some((bare, ty)) = split_suffix(&key) else { continue };
                let raw = map.remove(&key).unwrap_or(Value::Null);
                let converted = types.coerce(ty, raw).map_err(|why| format!("cannot store \"{key}\": {why}"))?;
                map.insert(bare.to_owned(), converted);
            }
            map.values_mut().try_for_each(|v| apply_nested_suffixes(types, v))
        }
        Value::Array(items) => items.iter_mut().try_for_each(|v| apply_nested_suffixes(types, v)),
        _ => Ok(()),
    }
}
