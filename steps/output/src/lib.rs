//! Steps of the Aqtra output group: they return results to the caller.

mod execute_api_call;
mod form_action;
mod update_entry;
mod write_response;
