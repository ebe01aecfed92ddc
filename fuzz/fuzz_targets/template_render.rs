//! Templated notifications: an arbitrary template body (up to the first NUL) compiled and
//! rendered over an arbitrary item (the rest, as JSON), as HTML, into the in-app inbox.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use sluice::Engine;
use sluice::store::User;
use sluice_fuzz::{load_and_run, text_and_data};
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let engine = Engine::new().expect("the engine builds");
    engine.services().store.import_users(&[User::new("ann")]).expect("the user imports");
    engine
});

fuzz_target!(|bytes: &[u8]| {
    let Some((body, data)) = text_and_data(bytes) else { return };
    let component = json!({"name": "Fuzz",
        "templates": {"T": {"en": {"subject": "s", "body": body}}},
        "dataflows": [{"name": "F", "stages": [{"name": "S", "steps": [
            {"name": "model", "type": "get_action_model"},
            {"name": "mail", "type": "send_templated_notification", "source": "model",
             "settings": {"notificationType": "Mail", "template": "T", "renderType": "Html",
                          "userName": {"value": "ann"}}}]}]}]});
    load_and_run(&ENGINE, &component, data);
});
