//! Steps of the Aqtra model-transformation group.

mod execute_script;
mod extract_collection;
mod filter_source;
mod transform_model;
