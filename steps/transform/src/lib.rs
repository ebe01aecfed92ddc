//! Steps of the Aqtra model-transformation group.

mod calculate_array;
mod distinct;
mod execute_dataflow;
mod execute_script;
mod extract_collection;
mod filter_source;
mod get_entity_by_id;
mod group_by;
mod grouping;
mod join_models;
mod lookup_reference;
mod query_entity_by_filter;
mod select_many;
mod simple_math;
mod transform_model;

#[cfg(test)]
mod test_support {
    use std::collections::BTreeMap;

    use serde_json::json;
    use sluice_core::entries::EntryKind;
    use sluice_core::store::EntryWrite;
    use sluice_core::{Diagnostic, Engine, LoadError, Plan};
    // Linked for their steps: the tests' dataflows start with Get action model and end with
    // Write response.
    use {sluice_steps_input as _, sluice_steps_output as _};

    /// The definitions of `Cars`, the component the entity steps' tests read.
    fn cars_definitions() -> sluice_core::component::Definitions {
        serde_json::from_value(json!({
            "Vin": {"type": "string", "primaryKey": true, "required": true},
            "Brand": {"type": "string"},
            "Price": {"type": "number"}
        }))
        .unwrap()
    }

    /// Stores one `Cars` entry per `(vin, brand, price)`, in order; their Ids.
    pub fn cars(engine: &Engine, cars: &[(&str, &str, i64)]) -> Vec<String> {
        let kind = EntryKind::new("Cars", cars_definitions()).unwrap();
        cars.iter()
            .enumerate()
            .map(|(i, (vin, brand, price))| {
                let data = json!({"Vin": vin, "Brand": brand, "Price": price}).as_object().unwrap().clone();
                let id = sluice_core::new_time_ordered_uuid();
                let write = EntryWrite {
                    component: "Cars".into(),
                    key: kind.key_of(&data),
                    data,
                    name: Some((*vin).to_owned()),
                    subject: None,
                    at: 1_000 + i as i64,
                    tracked: true,
                };
                engine.services().store.create_entry(&id, &write).unwrap();
                id
            })
            .collect()
    }

    /// Loads `Garage`, whose dataflow `Look` runs `step` (named `read`) between Get action
    /// model (`in`) and Write response, among the component `Cars`.
    pub fn garage(engine: &Engine, step: &str) -> Result<Plan, Vec<Diagnostic>> {
        let file = format!(
            r#"{{"name": "Garage", "definitions": {{"Car": {{"type": "string"}}}}, "dataflows": [{{"name": "Look",
                "stages": [{{"name": "s", "steps": [
                    {{"name": "in", "type": "get_action_model"}}, {step},
                    {{"name": "out", "type": "write_response", "source": "read"}}]}}]}}]}}"#
        );
        let others = BTreeMap::from([("Cars".to_owned(), cars_definitions())]);
        engine.load_among("garage.json", file.as_bytes(), &others).map_err(|e| match e {
            LoadError::Invalid { diagnostics, .. } => diagnostics,
            other => panic!("{other}"),
        })
    }
}
