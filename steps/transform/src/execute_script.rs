//! `execute_script`: runs a Rhai script on each item, in the engine's sandbox.

use std::sync::Arc;

use serde::Deserialize;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, CompiledScript, Group, Item, Localized, ScriptHost, SettingLabel, Step,
    StepContext, StepDescriptor, StepError, StepMeta, StepPlugin,
};

/// Settings of `execute_script`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteScriptSettings {
    /// The Rhai script. The item is the variable `item` (`item.data.X` or `item["data"]["X"]`);
    /// a key written with a type suffix (`item["new_code@string"] = ...`) is converted to that
    /// type and stored without the suffix. Compiled once, when the component loads.
    #[schemars(length(min = 1), extend("contentMediaType" = "text/x-rhai"))]
    pub script: String,
}

/// The step type.
pub struct ExecuteScript;

struct Script {
    host: Arc<ScriptHost>,
    script: CompiledScript,
}

impl StepPlugin for ExecuteScript {
    type Settings = ExecuteScriptSettings;
    const META: StepMeta = StepMeta {
        id: "execute_script",
        group: Group::Transform,
        calls_outside: false,
        title: Localized {
            en: "Execute script",
            fr: "Exécuter le script",
            es: "Ejecutar script",
            pt: "Executar script",
            de: "Skript ausführen",
        },
        description: Localized {
            en: "Runs a script on each item to read, compute and set its fields.",
            fr: "Exécute un script sur chaque élément pour lire, calculer et définir ses champs.",
            es: "Ejecuta un script sobre cada elemento para leer, calcular y asignar sus campos.",
            pt: "Executa um script em cada item para ler, calcular e definir os seus campos.",
            de: "Führt auf jedem Element ein Skript aus, das seine Felder liest, berechnet und setzt.",
        },
        settings: &[SettingLabel {
            name: "script",
            label: Localized { en: "Script", fr: "Script", es: "Script", pt: "Script", de: "Skript" },
        }],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        // A script may set any field.
        cx.writes_anything();
        let host = cx.scripts().clone();
        let script = host.compile(&settings.script).map_err(|e| {
            cx.invalid(
                "script",
                format!("the script does not compile: {e}"),
                Some("fix the script; the item is the variable `item`".into()),
            )
        })?;
        for field in host.item_fields(&script) {
            cx.may_write(&field);
        }
        let mut unknown = None;
        for field in host.data_fields(&script) {
            unknown = unknown.or(cx.data_field("script", &field.name, &field.place()).err());
        }
        match unknown {
            Some(error) => Err(error),
            None => Ok(BuiltStep::each(Script { host, script })),
        }
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<ExecuteScript>() }

impl Step for Script {
    fn run(&self, item: Item, _: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let item = self.host.run(&self.script, item).map_err(|e| {
            let failure = StepError::at_setting("script", e.to_string());
            match (e.line, e.column) {
                (Some(line), column) => failure.in_text(line, column.unwrap_or(1)),
                _ => failure,
            }
        })?;
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::{Value, json};
    use sluice_core::{Engine, ScriptLimits, SingleStep};

    fn step_with(engine: &Engine, script: &str) -> SingleStep {
        engine.single_step("script", "execute_script", json!({ "script": script }), &Default::default()).unwrap()
    }

    fn run(script: &str, item: Value) -> Result<Value, String> {
        let engine = Engine::new().unwrap();
        let out = step_with(&engine, script).run_one(item).map_err(|e| e.message)?;
        Ok(json!(out.items[0]))
    }

    #[test]
    fn text_with_a_nul_character_is_refused_wherever_the_script_puts_it() {
        for script in
            [r#"item.data.Note = "a\x00b";"#, r#"item["k\x00"] = 1;"#, "item.c = '\\x00';", r#"item.list = ["\x00"];"#]
        {
            let err = run(script, json!({"data": {}})).unwrap_err();
            assert!(err.contains("NUL character (U+0000)"), "{script}: {err}");
        }
    }

    #[test]
    fn reads_and_writes_with_dots_and_brackets() {
        let got =
            run(r#"item.data.B = item["data"]["A"] + 1; item["c"] = item.data.B * 2;"#, json!({"data": {"A": 1}}));
        assert_eq!(got.unwrap(), json!({"data": {"A": 1, "B": 2}, "c": 4}));
    }

    #[test]
    fn type_suffixes_convert_and_drop_the_suffix() {
        let got = run(
            r#"item["new_code@string"] = 42; item.data.ForTestCode = item.new_code; item["n@integer"] = "7";
               item.data["when@date"] = "2026-11-23"; item["ok@boolean"] = "true";"#,
            json!({"data": {}}),
        );
        assert_eq!(
            got.unwrap(),
            json!({"data": {"ForTestCode": "42", "when": "2026-11-23"}, "new_code": "42", "n": 7, "ok": true})
        );
    }

    #[test]
    fn a_value_that_does_not_fit_its_suffix_is_a_located_error() {
        let err = run("let x = 1;\nitem[\"n@integer\"] = \"seven\";", json!({})).unwrap_err();
        assert!(err.contains("cannot store \"n@integer\": \"seven\" is not an integer"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        let err = run(r#"item.data["d@date"] = "2026-02-30";"#, json!({"data": {}})).unwrap_err();
        assert!(err.contains("is not a valid date"), "{err}");
    }

    #[test]
    fn data_fields_named_literally_are_checked_against_the_definitions() {
        let engine = Engine::new().unwrap();
        let definitions = serde_json::from_value(json!({"ForTestCode": {"type": "string"}})).unwrap();
        let build = |script: &str| {
            engine
                .single_step("s", "execute_script", json!({ "script": script }), &definitions)
                .err()
                .unwrap_or_default()
        };
        let fine = "item.data.ForTestCode = item[\"data\"][\"ForTestCode\"]; item.data[\"Id\"] = 1; \
                    let d = item.data; d.Computed = 1; item.other.Free = 2; item.data.keys();";
        assert!(build(fine).is_empty(), "{:?}", build(fine));
        let errors = build("let x = 1;\nitem.data.ForTestCod = x;\nitem[\"data\"][\"N@integer\"] = x;");
        let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "\"ForTestCod\" is not a definition of this component (script line 2, column 11)",
                "\"N\" is not a definition of this component (script line 3, column 14)"
            ]
        );
        assert_eq!(errors[0].hint.as_deref(), Some("did you mean data.ForTestCode?"));
    }

    #[test]
    fn compile_errors_are_reported_at_load_with_their_place() {
        let engine = Engine::new().unwrap();
        let err = engine.single_step("s", "execute_script", json!({"script": "let x = ;"}), &Default::default());
        let d = &err.err().unwrap()[0];
        assert_eq!(d.pointer, "/settings/script");
        assert!(d.message.starts_with("the script does not compile"), "{}", d.message);
        assert!(d.message.contains("script line 1, column 9"), "{}", d.message);
        let err =
            engine.single_step("s", "execute_script", json!({"script": "undefined_var + 1"}), &Default::default());
        assert!(err.err().unwrap()[0].message.contains("undefined_var"));
    }

    /// The one problem of a script that does not compile: its pointer and message.
    fn compile_problem(engine: &Engine, script: &str) -> (String, String) {
        let built = engine.single_step("s", "execute_script", json!({ "script": script }), &Default::default());
        let problems = built.err().unwrap_or_else(|| panic!("{script} compiled"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        (problems[0].pointer.clone(), problems[0].message.clone())
    }

    #[test]
    fn the_sandbox_has_no_eval_or_import() {
        let engine = Engine::new().unwrap();
        let refused = [
            (
                r#"eval("1")"#,
                "the script does not compile: reserved keyword 'eval' is disabled (script line 1, column 1)",
            ),
            (
                r#"import "x" as y;"#,
                "the script does not compile: 'import' is a reserved keyword (script line 1, column 1)",
            ),
        ];
        for (script, message) in refused {
            assert_eq!(compile_problem(&engine, script), ("/settings/script".to_owned(), message.to_owned()));
        }
    }

    /// Set in the child process that [`print_and_debug_write_nothing`] starts.
    const PRINT_PROBE: &str = "SLUICE_SCRIPT_PRINT_PROBE";

    #[test]
    fn print_and_debug_write_nothing() {
        let marker = "sluice-print-probe-7Qx";
        if std::env::var_os(PRINT_PROBE).is_some() {
            // In the child: output that got past the sandbox would reach this process's stdout or
            // stderr (libtest captures nothing under --nocapture).
            run(&format!("print(\"{marker}\"); debug(\"{marker}\");"), json!({})).unwrap();
            return;
        }
        // This test's name as libtest knows it: its module path without the crate.
        let name = format!("{}::print_and_debug_write_nothing", module_path!().split_once("::").unwrap().1);
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &name, "--nocapture", "--test-threads=1"])
            .env(PRINT_PROBE, "1")
            .output()
            .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&child.stdout), String::from_utf8_lossy(&child.stderr));
        assert!(child.status.success() && stdout.contains("1 passed"), "the probe did not run:\n{stdout}{stderr}");
        assert!(!stdout.contains(marker) && !stderr.contains(marker), "a script wrote output:\n{stdout}{stderr}");
    }

    fn limited(limits: ScriptLimits, script: &str) -> String {
        let engine = Engine::builder().script_limits(limits).build().unwrap();
        step_with(&engine, script).run_one(json!({})).unwrap_err().message
    }

    #[test]
    fn every_limit_stops_the_script_with_a_named_error() {
        let d = ScriptLimits::default;
        let err = limited(ScriptLimits { max_operations: 10_000, ..d() }, "let i = 0;\nloop { i += 1; }");
        assert!(err.contains("more than 10000 operations") && err.contains("line 2"), "{err}");
        let err = limited(ScriptLimits { max_call_depth: 8, ..d() }, "fn f(n) { f(n + 1) }\nf(0);");
        assert!(err.contains("deeper than 8"), "{err}");
        let err = limited(ScriptLimits { max_string_size: 1000, ..d() }, r#"let s = "x"; loop { s += s; }"#);
        assert!(err.contains("exceeds the engine's size limit"), "{err}");
        let err = limited(ScriptLimits { max_array_size: 100, ..d() }, "let a = []; loop { a.push(1); }");
        assert!(err.contains("exceeds the engine's size limit"), "{err}");
        let grow = "let m = #{}; let i = 0; loop { let n = #{}; n[`k${i}`] = i; m += n; i += 1; }";
        let err = limited(ScriptLimits { max_map_size: 10, ..d() }, grow);
        assert!(err.contains("exceeds the engine's size limit"), "{err}");
        let err = limited(ScriptLimits { max_map_size: 10, ..d() }, "let i = 0; loop { item[`k${i}`] = i; i += 1; }");
        assert!(err.contains("Size of the item exceeds the engine's size limit"), "{err}");
    }

    #[test]
    fn the_wall_clock_deadline_stops_a_long_script() {
        let limits = ScriptLimits { max_operations: 0, timeout: Duration::from_millis(50), ..ScriptLimits::default() };
        let started = Instant::now();
        let err = limited(limits, "loop { }");
        assert!(err.contains("ran longer than 50ms"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn expression_depth_is_bounded_at_compile_time() {
        let nested = |depth: usize| format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
        let too_deep = |engine: &Engine, depth: usize| {
            let (pointer, message) = compile_problem(engine, &nested(depth));
            assert_eq!(pointer, "/settings/script");
            assert!(
                message.starts_with("the script does not compile: Expression exceeds maximum complexity"),
                "{message}"
            );
        };
        let limits = ScriptLimits { max_expr_depth: 16, ..ScriptLimits::default() };
        too_deep(&Engine::builder().script_limits(limits).build().unwrap(), 40);
        // The default (64) takes what a person writes and refuses what only a generator would.
        let engine = Engine::new().unwrap();
        assert!(
            engine.single_step("s", "execute_script", json!({ "script": nested(20) }), &Default::default()).is_ok()
        );
        too_deep(&engine, 100);
    }

    #[test]
    fn a_failing_script_names_the_line_and_column_it_failed_at() {
        let engine = Engine::new().unwrap();
        let err = step_with(&engine, "let a = 1;\n  throw \"no code today\";").run_one(json!({})).unwrap_err();
        assert_eq!(err.setting.as_deref(), Some("script"));
        assert_eq!(err.text_at, Some(sluice_core::Location { line: 2, column: 3 }), "{}", err.message);
    }

    #[test]
    fn the_default_call_depth_is_32() {
        let err = run("fn f(n) { f(n + 1) }\nf(0);", json!({})).unwrap_err();
        assert!(err.contains("deeper than 32"), "{err}");
    }

    #[test]
    fn variables_hold_copies_and_item_data_changes_in_place() {
        let got = run("let d = item.data; d.X = 1; item.data.Y = 2; item.seen = d;", json!({"data": {}}));
        assert_eq!(got.unwrap(), json!({"data": {"Y": 2}, "seen": {"X": 1}}));
    }

    #[test]
    fn values_json_cannot_hold_are_refused() {
        let err = run("item.x = 0.0 / 0.0;", json!({})).unwrap_err();
        assert!(err.contains("JSON has no NaN"), "{err}");
        let err = run("item.f = |x| x;", json!({})).unwrap_err();
        assert!(err.contains("cannot be stored in an item"), "{err}");
    }

    #[test]
    fn fields_the_script_never_touches_pass_through_exactly() {
        // 2^64 - 1 is beyond a Rhai integer: moved through Rhai it would come back a float.
        let item = json!({"big": u64::MAX, "_user": {"id": "u1", "tags": [1, 2.5, null]}, "data": {"A": 1}});
        let got = run("item.data.B = item.data.A + 1;", item.clone()).unwrap();
        assert_eq!(got["big"].as_u64(), Some(u64::MAX));
        assert_eq!(got["_user"], item["_user"]);
        assert_eq!(got["data"], json!({"A": 1, "B": 2}));
    }

    #[test]
    fn keys_contains_remove_and_len_see_every_field_touched_or_not() {
        let script = r#"item.b = 0; item.k = item.keys(); item.n = item.len(); item.has_c = item.contains("c");
                        item.gone = item.remove("a"); item.left = item.len(); item.missing = item.remove("zz");"#;
        let got = run(script, json!({"a": [1, 2], "c": 3})).unwrap();
        assert_eq!(
            got,
            json!({"b": 0, "c": 3, "k": ["a", "b", "c"], "n": 4, "has_c": true, "gone": [1, 2], "left": 6, "missing": null})
        );
    }

    #[test]
    fn item_must_stay_a_map() {
        let err = run("item = 5;", json!({})).unwrap_err();
        assert!(err.contains("must stay an object"), "{err}");
        assert_eq!(run("item = #{ a: 1 };", json!({"b": 2})).unwrap(), json!({"a": 1}));
    }
}
