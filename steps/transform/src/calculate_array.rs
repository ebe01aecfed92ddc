//! `calculate_array`: the minimum, maximum, sum, average or count of an array's values.

use serde::Deserialize;
use serde_json::{Number, Value};
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, Step, StepContext, StepDescriptor,
    StepError, StepMeta, StepPlugin, labels,
};

/// Settings of `calculate_array`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CalculateArraySettings {
    /// The calculations, done in order.
    #[schemars(length(min = 1))]
    pub operations: Vec<Calculation>,
}

/// One calculation over an array.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Calculation {
    /// The array, such as `data.Lines`; a missing or `null` array counts as empty.
    pub path: String,
    /// For an array of objects, the path in each element of the number, such as `Price`.
    #[serde(default)]
    pub field: Option<String>,
    /// What is calculated.
    pub function: Function,
    /// Where the result goes, such as `data.Total`.
    pub result: String,
}

/// A calculation over numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Function {
    /// The smallest value (`null` for an empty array).
    Min,
    /// The largest value (`null` for an empty array).
    Max,
    /// The total (0 for an empty array).
    Sum,
    /// The mean (`null` for an empty array).
    Average,
    /// How many elements there are.
    Count,
}

/// The step type.
pub struct CalculateArray;

struct Calculate {
    calculations: Vec<(FieldPath, Option<FieldPath>, Function, FieldPath)>,
}

impl StepPlugin for CalculateArray {
    type Settings = CalculateArraySettings;
    const META: StepMeta = StepMeta {
        id: "calculate_array",
        group: Group::Transform,
        calls_outside: false,
        title: Localized {
            en: "Calculate array",
            fr: "Calculer sur un tableau",
            es: "Calcular sobre un arreglo",
            pt: "Calcular sobre um array",
            de: "Array berechnen",
        },
        description: Localized {
            en: "Calculates the minimum, maximum, sum, average or count of an array's numbers into a field.",
            fr: "Calcule le minimum, le maximum, la somme, la moyenne ou le nombre des valeurs d'un tableau dans un champ.",
            es: "Calcula el mínimo, el máximo, la suma, el promedio o la cantidad de los números de un arreglo en un campo.",
            pt: "Calcula o mínimo, o máximo, a soma, a média ou a contagem dos números de um array num campo.",
            de: "Berechnet Minimum, Maximum, Summe, Durchschnitt oder Anzahl der Zahlen eines Arrays in ein Feld.",
        },
        settings: &[labels::OPERATIONS],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let mut calculations = Vec::new();
        let mut failed = None;
        for (i, calc) in settings.operations.into_iter().enumerate() {
            let path = cx.path(&format!("operations/{i}/path"), &calc.path);
            let field = calc.field.map(|f| cx.outer_path(&format!("operations/{i}/field"), &f));
            let result = cx.result_path(&format!("operations/{i}/result"), &calc.result);
            match (path, field.transpose(), result) {
                (Ok(path), Ok(field), Ok(result)) => calculations.push((path, field, calc.function, result)),
                (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => failed = Some(e),
            }
        }
        failed.map_or(Ok(BuiltStep::each(Calculate { calculations })), Err)
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<CalculateArray>() }

impl Step for Calculate {
    fn run(&self, mut item: Item, _: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        for (i, (path, field, function, result)) in self.calculations.iter().enumerate() {
            let at = format!("operations/{i}");
            let elements = match path.get(&item) {
                None | Some(Value::Null) => &[][..],
                Some(Value::Array(elements)) => elements.as_slice(),
                Some(other) => {
                    return Err(StepError::at_setting(
                        &format!("{at}/path"),
                        format!("{path} holds {other}, not an array"),
                    ));
                }
            };
            let mut numbers = Vec::with_capacity(elements.len());
            for (j, element) in elements.iter().enumerate() {
                let value = match (field, element) {
                    (Some(field), Value::Object(map)) => field.get(map).unwrap_or(&Value::Null),
                    _ => element,
                };
                match value.as_f64() {
                    Some(n) => numbers.push((n, value)),
                    None => {
                        return Err(StepError::at_setting(
                            &at,
                            format!("element {j} of {path} gives {value}, not a number"),
                        ));
                    }
                }
            }
            let value = calculate(*function, &numbers);
            result.set(&mut item, value).map_err(|e| StepError::at_setting(&format!("{at}/result"), e))?;
        }
        out.push(item);
        Ok(())
    }
}

/// The function over `numbers` (each with the value it came from, so an integer stays one).
fn calculate(function: Function, numbers: &[(f64, &Value)]) -> Value {
    let pick = |better: fn(f64, f64) -> bool| {
        numbers.iter().fold(None::<&(f64, &Value)>, |best, n| match best {
            Some(b) if !better(n.0, b.0) => Some(b),
            _ => Some(n),
        })
    };
    let float = |n: f64| Number::from_f64(n).map_or(Value::Null, Value::Number);
    match function {
        Function::Count => Value::from(numbers.len()),
        Function::Min => pick(|a, b| a < b).map_or(Value::Null, |(_, v)| (*v).clone()),
        Function::Max => pick(|a, b| a > b).map_or(Value::Null, |(_, v)| (*v).clone()),
        Function::Sum => match numbers.iter().try_fold(0i64, |sum, (_, v)| v.as_i64().and_then(|n| sum.checked_add(n)))
        {
            Some(whole) => Value::from(whole),
            None => float(numbers.iter().map(|(n, _)| n).sum()),
        },
        Function::Average if numbers.is_empty() => Value::Null,
        Function::Average => float(numbers.iter().map(|(n, _)| n).sum::<f64>() / numbers.len() as f64),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::Engine;

    fn calc(function: &str, field: Option<&str>, array: Value) -> Result<Value, String> {
        let engine = Engine::new().unwrap();
        let mut op = json!({"path": "data.Lines", "function": function, "result": "data.R"});
        if let Some(field) = field {
            op["field"] = json!(field);
        }
        let step =
            engine.single_step("c", "calculate_array", json!({"operations": [op]}), &Default::default()).unwrap();
        let out = step.run_one(json!({"data": {"Lines": array}})).map_err(|e| e.message)?;
        Ok(out.items[0]["data"]["R"].clone())
    }

    #[test]
    fn calculates_over_numbers_and_fields_of_objects() {
        let numbers = json!([3, 1.5, 7]);
        assert_eq!(calc("min", None, numbers.clone()), Ok(json!(1.5)));
        assert_eq!(calc("max", None, numbers.clone()), Ok(json!(7)));
        assert_eq!(calc("sum", None, numbers.clone()), Ok(json!(11.5)));
        assert_eq!(calc("sum", None, json!([1, 2])), Ok(json!(3)), "whole numbers add up to a whole number");
        assert_eq!(calc("average", None, json!([1, 2])), Ok(json!(1.5)));
        assert_eq!(calc("count", None, numbers), Ok(json!(3)));
        let lines = json!([{"Price": 10}, {"Price": 30}]);
        assert_eq!(calc("sum", Some("Price"), lines), Ok(json!(40)));
        assert_eq!(calc("average", None, json!([])), Ok(Value::Null));
        assert_eq!(calc("sum", None, Value::Null), Ok(json!(0)));
        assert_eq!(calc("sum", None, json!([1, "x"])), Err("element 1 of data.Lines gives \"x\", not a number".into()));
        assert_eq!(calc("sum", None, json!(5)), Err("data.Lines holds 5, not an array".into()));
    }
}
