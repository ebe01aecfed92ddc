//! Sluice: load low-code component files, validate them with located errors, and run their
//! dataflows. This crate is the engine ([`sluice_core`]) with every built-in step plugin linked.
//!
//! ```
//! use serde_json::json;
//!
//! let engine = sluice::Engine::new()?;
//! let plan = engine.load("inline", br#"{
//!   "name": "Hello",
//!   "dataflows": [{ "name": "Greet", "stages": [{ "name": "Main", "steps": [
//!     { "name": "model", "type": "get_action_model" },
//!     { "name": "script", "type": "execute_script", "source": "model",
//!       "settings": { "script": "item.greeting = `Hello, ${item.data.Name}!`;" } },
//!     { "name": "response", "type": "write_response", "source": "script" } ] }] }]
//! }"#)?;
//! let input = json!({"data": {"Name": "Ada"}});
//! let outcome = plan.run("Greet", &input, &Default::default(), Default::default())?;
//! assert_eq!(outcome.response[0]["greeting"], "Hello, Ada!");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// Name every step crate so the linker keeps their `inventory` registrations.
use sluice_steps_input as _;
use sluice_steps_output as _;
use sluice_steps_transform as _;
use sluice_steps_users as _;

pub mod component_tests;
pub mod folder;
pub mod replay;
pub mod setup;
pub mod users;

pub use sluice_core::*;

/// The ids of the built-in step types, sorted.
pub const BUILT_IN_STEPS: [&str; 35] = [
    "assign_context_role_for_model",
    "calculate_array",
    "confirm_one_time_code_for_user",
    "confirm_user_email",
    "confirm_user_email_request",
    "distinct",
    "enrol_authenticator_app",
    "execute_api_call",
    "execute_dataflow",
    "execute_script",
    "extract_collection",
    "filter_source",
    "form_action",
    "get_action_model",
    "get_empty_model",
    "get_entity_by_id",
    "get_one_time_code_for_user",
    "get_raw_model",
    "get_user_info",
    "group_by",
    "join_models",
    "login_with_password",
    "lookup_reference",
    "query_entity_by_filter",
    "remove_assigned_roles_for_user",
    "reset_user_password",
    "reset_user_password_request",
    "select_many",
    "send_notification",
    "send_templated_notification",
    "simple_math",
    "transform_model",
    "update_entry",
    "update_or_create_user_info",
    "write_response",
];
