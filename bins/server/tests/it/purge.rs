//! The background purge deletes aliases expired longer than `aliases.purge_after`, in the real
//! server, without anyone asking.

use std::time::{Duration, Instant};

use aliaskit_store::testing::TestDb;
use serde_json::json;

use crate::*;

#[test]
fn an_expired_alias_is_purged_by_the_running_server() {
    let db = TestDb::sqlite().unwrap();
    let app = TestApp::spawn_with(
        &db.url,
        &[
            ("ALIASKIT__ALIASES__PURGE_AFTER", "0"),
            ("ALIASKIT__ALIASES__PURGE_INTERVAL", "1"),
        ],
    );
    let auth = format!("Bearer {KEY}");
    let created = app.post(
        "/organization/api/v1/alias/create",
        &json!({"type": "live", "expired_at": now() + 2}),
        Some(&auth),
    );
    assert_eq!(created.status, 200, "{:?}", created.body);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/organization/api/v1/alias/{id}");
    assert_eq!(app.get(&path, Some(&auth)).status, 200);

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = app.get(&path, Some(&auth)).status;
        if status == 404 {
            break;
        }
        assert_eq!(status, 200, "until it is purged the owner still sees it");
        assert!(
            Instant::now() < deadline,
            "the alias was not purged within 30 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
