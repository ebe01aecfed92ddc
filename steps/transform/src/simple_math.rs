//! `simple_math`: one arithmetic or logical operation on two values, into a third field.

use serde::Deserialize;
use serde_json::{Number, Value};
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, Step, StepContext, StepDescriptor,
    StepError, StepMeta, StepPlugin, labels,
};

/// Settings of `simple_math`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SimpleMathSettings {
    /// The operations, done in order (a later one may read what an earlier one wrote).
    #[schemars(length(min = 1))]
    pub operations: Vec<Operation>,
}

/// One operation: `result = left operator right`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Operation {
    /// The left operand: a model path such as `data.Price`, or a number or boolean.
    pub left: Operand,
    /// What is done.
    pub operator: MathOperator,
    /// The right operand: a model path, or a number or boolean.
    pub right: Operand,
    /// Where the result goes, such as `data.Total`.
    pub result: String,
}

/// An operand: a model path, or a fixed number or boolean.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Operand {
    /// A model path.
    Field(String),
    /// A fixed number.
    Number(Number),
    /// A fixed boolean.
    Boolean(bool),
}

/// An operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum MathOperator {
    /// `+` on numbers.
    Add,
    /// `−` on numbers.
    Subtract,
    /// `*` on numbers.
    Multiply,
    /// `/` on numbers; dividing by zero fails the step.
    Divide,
    /// AND: logical on booleans, bitwise on integers.
    And,
    /// OR: logical on booleans, bitwise on integers.
    Or,
    /// XOR: logical on booleans, bitwise on integers.
    Xor,
}

/// The step type.
pub struct SimpleMath;

enum Input {
    Field(FieldPath),
    Fixed(Value),
}

struct Compute {
    operations: Vec<(Input, MathOperator, Input, FieldPath)>,
}

impl StepPlugin for SimpleMath {
    type Settings = SimpleMathSettings;
    const META: StepMeta = StepMeta {
        id: "simple_math",
        group: Group::Transform,
        calls_outside: false,
        title: Localized {
            en: "Simple math",
            fr: "Calcul simple",
            es: "Cálculo simple",
            pt: "Cálculo simples",
            de: "Einfache Rechnung",
        },
        description: Localized {
            en: "Adds, subtracts, multiplies, divides or combines (AND, OR, XOR) two values into a third field.",
            fr: "Additionne, soustrait, multiplie, divise ou combine (AND, OR, XOR) deux valeurs dans un troisième champ.",
            es: "Suma, resta, multiplica, divide o combina (AND, OR, XOR) dos valores en un tercer campo.",
            pt: "Soma, subtrai, multiplica, divide ou combina (AND, OR, XOR) dois valores num terceiro campo.",
            de: "Addiert, subtrahiert, multipliziert, dividiert oder verknüpft (AND, OR, XOR) zwei Werte in ein drittes Feld.",
        },
        settings: &[labels::OPERATIONS],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let mut operations = Vec::new();
        let mut failed = None;
        for (i, op) in settings.operations.into_iter().enumerate() {
            let mut input = |side: &str, operand: Operand| match operand {
                Operand::Field(path) => cx.path(&format!("operations/{i}/{side}"), &path).map(Input::Field),
                Operand::Number(n) => Ok(Input::Fixed(Value::Number(n))),
                Operand::Boolean(b) => Ok(Input::Fixed(Value::Bool(b))),
            };
            let (left, right) = (input("left", op.left), input("right", op.right));
            match (left, right, cx.result_path(&format!("operations/{i}/result"), &op.result)) {
                (Ok(left), Ok(right), Ok(result)) => operations.push((left, op.operator, right, result)),
                (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => failed = Some(e),
            }
        }
        failed.map_or(Ok(BuiltStep::each(Compute { operations })), Err)
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<SimpleMath>() }

impl Step for Compute {
    fn run(&self, mut item: Item, _: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        for (i, (left, operator, right, result)) in self.operations.iter().enumerate() {
            let value_of = |input: &Input| match input {
                Input::Field(path) => path.get(&item).cloned().unwrap_or(Value::Null),
                Input::Fixed(value) => value.clone(),
            };
            let value = apply(*operator, &value_of(left), &value_of(right))
                .map_err(|why| StepError::at_setting(&format!("operations/{i}"), why))?;
            result.set(&mut item, value).map_err(|e| StepError::at_setting(&format!("operations/{i}/result"), e))?;
        }
        out.push(item);
        Ok(())
    }
}

/// `left operator right`, or why it cannot be done.
fn apply(operator: MathOperator, left: &Value, right: &Value) -> Result<Value, String> {
    use MathOperator::{Add, And, Divide, Multiply, Or, Subtract, Xor};
    if let (Value::Bool(a), Value::Bool(b)) = (left, right) {
        return match operator {
            And => Ok(Value::Bool(*a && *b)),
            Or => Ok(Value::Bool(*a || *b)),
            Xor => Ok(Value::Bool(a ^ b)),
            _ => Err(format!("{operator:?} works on numbers, not on {left} and {right}").to_lowercase()),
        };
    }
    if let (Some(a), Some(b)) = (left.as_i64(), right.as_i64()) {
        let whole = match operator {
            Add => a.checked_add(b),
            Subtract => a.checked_sub(b),
            Multiply => a.checked_mul(b),
            And => Some(a & b),
            Or => Some(a | b),
            Xor => Some(a ^ b),
            Divide if b == 0 => return Err("division by zero".into()),
            Divide if a % b == 0 => Some(a / b),
            Divide => None,
        };
        if let Some(n) = whole {
            return Ok(Value::from(n));
        }
    }
    let (Some(a), Some(b)) = (left.as_f64(), right.as_f64()) else {
        return Err(format!(
            "cannot compute {left} {operator:?} {right}: both must be numbers (or booleans for and, or, xor)"
        ));
    };
    let n = match operator {
        Add => a + b,
        Subtract => a - b,
        Multiply => a * b,
        Divide if b == 0.0 => return Err("division by zero".into()),
        Divide => a / b,
        And | Or | Xor => {
            return Err(format!("{operator:?} works on whole numbers or booleans, not on {left} and {right}"));
        }
    };
    Number::from_f64(n)
        .map(Value::Number)
        .ok_or_else(|| format!("the result of {left} {operator:?} {right} is not a finite number"))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::Engine;

    fn compute(operator: &str, left: Value, right: Value) -> Result<Value, String> {
        let engine = Engine::new().unwrap();
        let settings =
            json!({"operations": [{"left": "data.A", "operator": operator, "right": right, "result": "data.C"}]});
        let step = engine.single_step("m", "simple_math", settings, &Default::default()).unwrap();
        let out = step.run_one(json!({"data": {"A": left}})).map_err(|e| e.message)?;
        Ok(out.items[0]["data"]["C"].clone())
    }

    #[test]
    fn computes_numbers_and_booleans() {
        assert_eq!(compute("add", json!(2), json!(3)), Ok(json!(5)));
        assert_eq!(compute("subtract", json!(2), json!(3.5)), Ok(json!(-1.5)));
        assert_eq!(compute("multiply", json!(1.5), json!(4)), Ok(json!(6.0)));
        assert_eq!(compute("divide", json!(9), json!(3)), Ok(json!(3)));
        assert_eq!(compute("divide", json!(1), json!(4)), Ok(json!(0.25)));
        assert_eq!(compute("divide", json!(1), json!(0)), Err("division by zero".into()));
        assert_eq!(compute("and", json!(true), json!(false)), Ok(json!(false)));
        assert_eq!(compute("xor", json!(true), json!(false)), Ok(json!(true)));
        assert_eq!(compute("or", json!(12), json!(3)), Ok(json!(15)));
        assert_eq!(compute("add", json!(i64::MAX), json!(1)), Ok(json!(9.223372036854776e18)));
        let err = compute("add", json!("two"), json!(1)).unwrap_err();
        assert!(err.contains("both must be numbers"), "{err}");
    }

    #[test]
    fn operations_run_in_order() {
        let engine = Engine::new().unwrap();
        let settings = json!({"operations": [
            {"left": "data.Price", "operator": "multiply", "right": "data.Count", "result": "_net"},
            {"left": "_net", "operator": "multiply", "right": 1.2, "result": "data.Total"}]});
        let step = engine.single_step("m", "simple_math", settings, &Default::default()).unwrap();
        let out = step.run_one(json!({"data": {"Price": 10, "Count": 3}})).unwrap();
        assert_eq!(out.items[0]["data"]["Total"], json!(36.0));
    }
}
