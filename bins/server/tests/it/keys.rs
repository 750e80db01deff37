//! The server refuses to start on a database holding secrets sealed under a master key it lacks,
//! with a message that says which and what to do.

use aliaskit_config::Settings;
use aliaskit_server::Application;
use aliaskit_store::testing::TestDb;

use crate::*;

#[test]
fn a_start_with_the_wrong_master_key_fails_with_a_clear_message() {
    for db in TestDb::all().unwrap() {
        let b = db.backend();
        // A first server seals a passcode with MASTER_KEY.
        let first = TestApp::spawn(&db.url);
        let created = first.post(
            "/organization/api/v1/alias/create",
            &serde_json::json!({"type": "live", "passcode": "pass-1234", "expired_at": now() + 600}),
            Some(&format!("Bearer {KEY}")),
        );
        assert_eq!(created.status, 200, "{b:?}");
        drop(first);
        let env = vec![
            ("ALIASKIT__DATABASE__URL".to_owned(), db.url.clone()),
            ("ALIASKIT__SERVER__PORT".to_owned(), "0".to_owned()),
            (
                "ALIASKIT__SECURITY__MASTER_KEY".to_owned(),
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
            ),
        ];
        let settings = Settings::load_from(None, env).unwrap();
        let err = actix_web::rt::System::new()
            .block_on(async { Application::build(&settings).map(|_| ()) })
            .unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.starts_with("cannot use the database at "),
            "{b:?}: {message}"
        );
        assert!(
            message.contains("which this server does not have; configure that key (security.master_key or security.old_master_keys) or restore its key file"),
            "{b:?}: {message}"
        );
    }
}
