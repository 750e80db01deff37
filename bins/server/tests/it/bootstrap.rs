//! `bootstrap.api_key` applies to an empty database only: once the operator rotates the
//! `default` organization's key, restarting with the same setting does not bring the old key
//! back (a leaked key survives no rotation); the server says in its log that it ignored it.

use std::time::Duration;

use aliaskit_store::testing::TestDb;

use crate::*;

#[test]
fn a_rotated_bootstrap_key_stays_dead_after_a_restart() {
    for db in TestDb::all().unwrap() {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let env = [
            ("ALIASKIT__DATABASE__URL", db.url.as_str()),
            ("ALIASKIT__SECURITY__MASTER_KEY", MASTER_KEY),
            ("ALIASKIT__BOOTSTRAP__API_KEY", KEY),
        ];
        let list = |server: &ServerProcess, key: &str| {
            server
                .client()
                .get(
                    "/organization/api/v1/aliases",
                    Some(&format!("Bearer {key}")),
                )
                .status
        };
        let server = ServerProcess::start(dir.path(), &env);
        assert_eq!(list(&server, KEY), 200, "{b:?}: the bootstrap key works");

        // The operator rotates the key beside the running server.
        let rotated = cli(dir.path(), &env[..2], &["org", "rotate-key", "default"]);
        assert_eq!(rotated.code, 0, "{b:?}: {}", rotated.stderr);
        let new = rotated.stdout.trim().to_owned();
        assert_eq!(list(&server, KEY), 401, "{b:?}: the old key stops at once");
        assert_eq!(list(&server, &new), 200, "{b:?}");
        drop(server);

        // Restarted with the same settings: the old key stays refused.
        let mut server = ServerProcess::start(dir.path(), &env);
        assert_eq!(
            list(&server, KEY),
            401,
            "{b:?}: the rotated-out key came back"
        );
        assert_eq!(list(&server, &new), 200, "{b:?}");
        server.signal("TERM");
        server.wait(Duration::from_secs(30));
        let (stdout, logs) = server.output();
        assert_eq!(stdout, "", "{b:?}: no key printed");
        assert!(
            logs.contains("bootstrap.api_key is set, but the database has organizations and none holds this key"),
            "{b:?}: {logs}"
        );
        assert!(!logs.contains(KEY), "{b:?}: the key is never logged");
    }
}
