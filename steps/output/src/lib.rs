//! Steps of the Aqtra output group: they return results to the caller.

mod form_action;
mod update_entry;
mod write_response;
