//! The master key's life cycle as an operator runs it (docs/security.md, "Rotating the master
//! key"; docs/deployment.md, "Backup and restore"), with both binaries and traffic flowing:
//! `aliaskit keys rotate-master` beside running servers, twice; `keys status` and `keys retire`;
//! a backup taken before rotations, restored; and on PostgreSQL the rolling procedure with
//! `security.master_key`. No request may answer 5xx at any moment, and nothing acknowledged is
//! lost.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use aliaskit_store::MasterKey;
use aliaskit_store::testing::TestDb;
use serde_json::json;

use crate::*;

/// One alias the traffic created: its id and `jwt_secret`.
#[derive(Debug, Clone)]
struct Created {
    id: String,
    secret: String,
}

/// What the traffic saw.
#[derive(Debug, Default)]
struct Report {
    requests: usize,
    /// Every answer that was not the expected 200, with what was asked.
    failures: Vec<String>,
    created: Vec<Created>,
}

/// Clients creating, retrieving (with a token, on another server) and updating aliases
/// without pause, against whichever servers are up. A connection refused (a server
/// restarting) is skipped; every answer must be 200.
struct Traffic {
    stop: Arc<AtomicBool>,
    servers: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<Report>>,
}

impl Traffic {
    fn start(servers: Vec<String>) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let servers = Arc::new(Mutex::new(servers));
        let (stop2, servers2) = (stop.clone(), servers.clone());
        let thread = std::thread::spawn(move || {
            let agent = agent();
            let mut report = Report::default();
            let org = format!("Bearer {KEY}");
            let mut n = 0usize;
            while !stop2.load(Ordering::SeqCst) {
                n += 1;
                let bases = servers2.lock().unwrap().clone();
                let (a, b) = (&bases[n % bases.len()], &bases[(n + 1) % bases.len()]);
                let mut call =
                    |method: &str, url: String, body: Option<serde_json::Value>, auth: &str| {
                        let req = ureq::http::Request::builder()
                            .method(method)
                            .uri(&url)
                            .header("Authorization", auth);
                        let res = match &body {
                            Some(b) => agent.run(
                                req.header("Content-Type", "application/json")
                                    .body(b.to_string())
                                    .unwrap(),
                            ),
                            None => agent.run(req.body(()).unwrap()),
                        };
                        // A server restarting refuses connections: not an answer.
                        let mut res = res.ok()?;
                        report.requests += 1;
                        let status = res.status().as_u16();
                        let text = res.body_mut().read_to_string().unwrap_or_default();
                        if status != 200 {
                            report
                                .failures
                                .push(format!("{method} {url} → {status} {text}"));
                            return None;
                        }
                        serde_json::from_str::<serde_json::Value>(&text).ok()
                    };
                let secret = format!("traffic-secret-{n:08}-0123456789abcdef");
                let created = call(
                    "POST",
                    format!("{a}/organization/api/v1/alias/create"),
                    Some(
                        json!({"type": "live", "jwt_secret": secret, "passcode": format!("pass-{n}"),
                                "stream_key": format!("sk-{n}"), "expired_at": now() + 3600}),
                    ),
                    &org,
                );
                if let Some(id) = created.as_ref().and_then(|c| c["data"]["id"].as_str()) {
                    report.created.push(Created {
                        id: id.to_owned(),
                        secret,
                    });
                }
                if let Some(last) = report.created.last().cloned() {
                    call(
                        "POST",
                        format!("{b}/organization/api/v1/alias/update/{}", last.id),
                        Some(json!({"type": "live", "passcode": format!("pass-{n}-again")})),
                        &org,
                    );
                }
                // An alias created earlier (maybe before a rotation), read on the other server.
                if !report.created.is_empty() {
                    let old = report.created[(n * 7) % report.created.len()].clone();
                    call(
                        "GET",
                        format!("{b}/api/v1/alias/{}", old.id),
                        None,
                        &format!("Bearer {}", access_token(&old.secret, &old.id)),
                    );
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            report
        });
        Traffic {
            stop,
            servers,
            thread: Some(thread),
        }
    }

    fn set_servers(&self, servers: Vec<String>) {
        *self.servers.lock().unwrap() = servers;
    }

    fn stop(mut self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The settings of the servers and the CLI of one test.
struct Setup {
    dir: tempfile::TempDir,
    url: String,
    /// Extra `ALIASKIT__…` settings (the key file, or the master keys).
    env: Vec<(String, String)>,
}

impl Setup {
    fn vars(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut vars = vec![
            ("ALIASKIT__DATABASE__URL".to_owned(), self.url.clone()),
            ("ALIASKIT__BOOTSTRAP__API_KEY".to_owned(), KEY.to_owned()),
            (
                "ALIASKIT__LIMITS__ORG_PER_SECOND".to_owned(),
                "0".to_owned(),
            ),
            (
                "ALIASKIT__LIMITS__RETRIEVE_PER_SECOND".to_owned(),
                "0".to_owned(),
            ),
            ("ALIASKIT__CACHE__TTL".to_owned(), "0".to_owned()),
        ];
        vars.extend(self.env.iter().cloned());
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        vars
    }

    fn server(&self, extra: &[(&str, &str)]) -> ServerProcess {
        let vars = self.vars(extra);
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        ServerProcess::start(self.dir.path(), &refs)
    }

    fn cli(&self, args: &[&str], extra: &[(&str, &str)]) -> CliRun {
        let vars = self.vars(extra);
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        cli(self.dir.path(), &refs, args)
    }

    fn key_file(&self) -> PathBuf {
        self.dir.path().join("aliaskit.key")
    }
}

/// A key file setup: SQLite with its default key file (created by the first server), or
/// PostgreSQL with a key file every process names in `security.key_file`.
fn key_file_setup(db: &TestDb) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mut env = Vec::new();
    if db.backend() == aliaskit_store::Backend::Postgres {
        let path = dir.path().join("aliaskit.key");
        std::fs::write(
            &path,
            format!("{}\n", MasterKey::generate().unwrap().to_base64()),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        env.push((
            "ALIASKIT__SECURITY__KEY_FILE".to_owned(),
            path.display().to_string(),
        ));
    }
    let url = match db.backend() {
        // The key file goes next to the database: the directory of this test.
        aliaskit_store::Backend::Sqlite => dir.path().join("aliaskit.db").display().to_string(),
        aliaskit_store::Backend::Postgres => db.url.clone(),
    };
    Setup { dir, url, env }
}

/// The key lines of the key file: `KEY` or `retired KEY`.
fn key_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn id_of(line: &str) -> String {
    MasterKey::from_base64(line.trim_start_matches("retired "))
        .unwrap()
        .id()
        .to_owned()
}

/// `keys status` as `(key id, source, values, encrypts)` rows.
fn status(setup: &Setup, extra: &[(&str, &str)]) -> Vec<(String, String, i64, bool)> {
    let run = setup.cli(&["keys", "status"], extra);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("running servers"))
        .filter(|l| l.len() > 8 && l.as_bytes()[8] == b' ')
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (
                cols[0].to_owned(),
                cols[1].to_owned(),
                cols[2].parse().unwrap_or_else(|_| panic!("{}", run.stdout)),
                l.contains("encrypts new secrets"),
            )
        })
        .collect()
}

fn assert_no_failures(report: &Report, what: &str) {
    assert!(
        report.requests > 20,
        "{what}: too little traffic: {report:?}"
    );
    assert!(
        report.failures.is_empty(),
        "{what}: {} of {} requests failed: {:#?}",
        report.failures.len(),
        report.requests,
        report.failures
    );
}

/// Every alias the traffic created retrieves with its token on every server.
fn assert_all_retrievable(created: &[Created], servers: &[ServerProcess], what: &str) {
    for server in servers {
        let client = server.client();
        for c in created {
            let got = client.get(
                &format!("/api/v1/alias/{}", c.id),
                Some(&format!("Bearer {}", access_token(&c.secret, &c.id))),
            );
            assert_eq!(got.status, 200, "{what}: {} lost: {:?}", c.id, got.body);
        }
    }
}

#[test]
fn rotate_master_beside_running_servers_needs_no_restart_and_loses_nothing() {
    for db in TestDb::all().unwrap() {
        let b = db.backend();
        let setup = key_file_setup(&db);
        let count = if b == aliaskit_store::Backend::Postgres {
            2
        } else {
            1
        };
        let servers: Vec<ServerProcess> = (0..count).map(|_| setup.server(&[])).collect();
        let first = key_lines(&setup.key_file());
        assert_eq!(first.len(), 1, "{b:?}");
        let traffic = Traffic::start(servers.iter().map(|s| s.base.clone()).collect());
        std::thread::sleep(Duration::from_millis(800));

        // Two rotations in a row, the servers serving all along.
        for round in 1..=2 {
            let run = setup.cli(&["keys", "rotate-master"], &[]);
            assert_eq!(run.code, 0, "{b:?}, rotation {round}: {}", run.stderr);
            assert!(
                run.stderr.contains("re-encrypted "),
                "{b:?}: {}",
                run.stderr
            );
            std::thread::sleep(Duration::from_millis(800));
        }
        let report = traffic.stop();
        let what = format!("{b:?}, after two rotations");
        assert_no_failures(&report, &what);
        assert_all_retrievable(&report.created, &servers, &what);

        // The file: the newest key, then the two before it, kept and marked retired.
        let lines = key_lines(&setup.key_file());
        assert_eq!(lines.len(), 3, "{b:?}: {lines:?}");
        assert!(!lines[0].starts_with("retired "), "{b:?}: {lines:?}");
        assert!(lines[1].starts_with("retired ") && lines[2].starts_with("retired "));
        let (newest, oldest) = (id_of(&lines[0]), id_of(&lines[2]));
        assert_eq!(id_of(&first[0]), oldest, "{b:?}");

        // Every value is under the newest key; the servers encrypt with it.
        let rows = status(&setup, &[]);
        let by_id = |id: &str| rows.iter().find(|r| r.0 == id).cloned().unwrap();
        assert_eq!(by_id(&newest).1, "file", "{b:?}: {rows:?}");
        assert!(by_id(&newest).2 > 0, "{b:?}: {rows:?}");
        assert_eq!(
            by_id(&oldest),
            (oldest.clone(), "retired".into(), 0, false),
            "{b:?}"
        );
        let run = setup.cli(&["keys", "status"], &[]);
        assert!(
            run.stdout
                .contains(&format!("running servers (seen in the last 20 s): {count}")),
            "{b:?}: {}",
            run.stdout
        );
        assert_eq!(
            run.stdout
                .matches(&format!("encrypts with {newest}"))
                .count(),
            count,
            "{b:?}: {}",
            run.stdout
        );

        // Retiring: the key that encrypts is refused; a retired one that seals nothing goes.
        let refused = setup.cli(&["keys", "retire", &newest], &[]);
        assert_eq!(refused.code, 1, "{b:?}: {}", refused.stderr);
        assert!(
            refused.stderr.starts_with("key_in_use: "),
            "{}",
            refused.stderr
        );
        let retired = setup.cli(&["keys", "retire", &oldest], &[]);
        assert_eq!(retired.code, 0, "{b:?}: {}", retired.stderr);
        let lines = key_lines(&setup.key_file());
        assert_eq!(lines.len(), 2, "{b:?}: {lines:?}");
        assert!(lines.iter().all(|l| id_of(l) != oldest));

        // Restarted, the servers read everything.
        drop(servers);
        let servers: Vec<ServerProcess> = (0..count).map(|_| setup.server(&[])).collect();
        assert_all_retrievable(
            &report.created,
            &servers,
            &format!("{b:?}, after a restart"),
        );
    }
}

/// A key that values are sealed under cannot be retired.
#[test]
fn a_key_that_still_seals_values_cannot_be_retired() {
    let db = TestDb::sqlite().unwrap();
    let setup = key_file_setup(&db);
    let server = setup.server(&[]);
    let created = server.client().post(
        "/organization/api/v1/alias/create",
        &json!({"type": "live", "passcode": "pass-1234", "expired_at": now() + 600}),
        Some(&format!("Bearer {KEY}")),
    );
    assert_eq!(created.status, 200);
    // Stopped gracefully, the server leaves key_holders: it holds no key back.
    let mut server = server;
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(30)).success());
    // The key file gains a newer key by hand, without re-encryption: the old key still seals
    // the passcode.
    let old = key_lines(&setup.key_file()).remove(0);
    let new = MasterKey::generate().unwrap().to_base64();
    std::fs::write(setup.key_file(), format!("{new}\nretired {old}\n")).unwrap();
    let run = setup.cli(&["keys", "retire", &id_of(&old)], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "1 value in the database is sealed under it; run `aliaskit keys rotate-master` first"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        key_lines(&setup.key_file()).len(),
        2,
        "the file is left alone"
    );
    let run = setup.cli(&["keys", "retire", "not-a-key"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

/// Runs a shell command line in `dir`, as docs/deployment.md writes it, with `env`.
fn sh(dir: &Path, line: &str, env: &[(&str, &str)]) {
    let output = Command::new("sh")
        .args(["-c", line])
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A backup taken before any number of rotations restores with the key material the operator
/// holds today (the key file, whose older keys stay, retired), with the commands of
/// docs/deployment.md.
#[test]
fn a_backup_taken_before_two_rotations_restores_with_todays_key_file() {
    for db in TestDb::all().unwrap() {
        let b = db.backend();
        let setup = key_file_setup(&db);
        let dir = setup.dir.path();
        let org = format!("Bearer {KEY}");
        let create = |server: &ServerProcess, secret: &str| {
            let created = server.client().post(
                "/organization/api/v1/alias/create",
                &json!({"type": "conference", "jwt_secret": secret, "passcode": "pass-1234",
                        "expired_at": now() + 3600}),
                Some(&org),
            );
            assert_eq!(created.status, 200, "{b:?}: {:?}", created.body);
            created.body["data"]["id"].as_str().unwrap().to_owned()
        };
        let retrieve = |server: &ServerProcess, id: &str, secret: &str| {
            let got = server.client().get(
                &format!("/api/v1/alias/{id}"),
                Some(&format!("Bearer {}", access_token(secret, id))),
            );
            (got.status, got.body)
        };
        let mut server = setup.server(&[]);
        let secret = "backed-up-secret-0123456789abcdef";
        let backed_up = create(&server, secret);

        // The backup, taken while the server serves.
        match b {
            aliaskit_store::Backend::Sqlite => {
                let run = setup.cli(&["backup", "backup.db"], &[]);
                assert_eq!(run.code, 0, "{}", run.stderr);
                let mode = std::fs::metadata(dir.join("backup.db"))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "the backup is private");
                let again = setup.cli(&["backup", "backup.db"], &[]);
                assert_eq!(again.code, 2, "an existing file is never overwritten");
                assert!(
                    again
                        .stderr
                        .contains("a backup never overwrites one: choose a new path"),
                    "{}",
                    again.stderr
                );
            }
            aliaskit_store::Backend::Postgres => sh(
                dir,
                r#"pg_dump --format=custom --exclude-table-data=key_holders --file=aliaskit.dump "$DATABASE_URL""#,
                &[("DATABASE_URL", &setup.url)],
            ),
        }

        // Two rotations beside the running server, and a change after the backup.
        for _ in 0..2 {
            let run = setup.cli(&["keys", "rotate-master"], &[]);
            assert_eq!(run.code, 0, "{b:?}: {}", run.stderr);
        }
        let later = create(&server, "later-secret-0123456789abcdef0123");
        server.signal("TERM");
        assert!(server.wait(Duration::from_secs(30)).success());

        // The restore, servers stopped.
        match b {
            aliaskit_store::Backend::Sqlite => sh(
                dir,
                "rm -f aliaskit.db-wal aliaskit.db-shm && install -m 600 backup.db aliaskit.db",
                &[],
            ),
            aliaskit_store::Backend::Postgres => sh(
                dir,
                r#"pg_restore --clean --if-exists --no-owner --dbname="$DATABASE_URL" aliaskit.dump"#,
                &[("DATABASE_URL", &setup.url)],
            ),
        }

        let server = setup.server(&[]);
        let (code, body) = retrieve(&server, &backed_up, secret);
        assert_eq!(code, 200, "{b:?}: the restored alias: {body:?}");
        assert_eq!(
            retrieve(&server, &later, "later-secret-0123456789abcdef0123").0,
            404,
            "{b:?}: what came after the backup is not in it"
        );
        // Its values are sealed under the first key, retired in the file, and a rotation
        // brings them under the newest.
        let lines = key_lines(&setup.key_file());
        let oldest = id_of(lines.last().unwrap());
        let rows = status(&setup, &[]);
        let line = rows.iter().find(|r| r.0 == oldest).unwrap();
        assert_eq!((line.1.as_str(), line.2), ("retired", 2), "{b:?}: {rows:?}");
        let run = setup.cli(&["keys", "rotate-master"], &[]);
        assert_eq!(run.code, 0, "{b:?}: {}", run.stderr);
        assert_eq!(retrieve(&server, &backed_up, secret).0, 200, "{b:?}");
    }
}

/// Stops a server gracefully (it leaves `key_holders`), after taking it out of the traffic.
fn stop(server: &mut ServerProcess) {
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(30)).success());
}

/// PostgreSQL with `security.master_key`: the rolling procedure of docs/security.md, two
/// servers serving traffic throughout, no 5xx at any moment; and the unsafe order (re-encrypting
/// before every server holds the new key) is refused, not carried out.
#[test]
fn the_rolling_rotation_on_postgres_never_answers_5xx() {
    let Some(db) = TestDb::postgres().unwrap() else {
        return;
    };
    let old = MasterKey::generate().unwrap();
    let new = MasterKey::generate().unwrap();
    let (old64, new64) = (old.to_base64(), new.to_base64());
    let before = [("ALIASKIT__SECURITY__MASTER_KEY", old64.as_str())];
    let rolling = [
        ("ALIASKIT__SECURITY__MASTER_KEY", new64.as_str()),
        ("ALIASKIT__SECURITY__OLD_MASTER_KEYS", old64.as_str()),
    ];
    let after = [("ALIASKIT__SECURITY__MASTER_KEY", new64.as_str())];
    let setup = Setup {
        dir: tempfile::tempdir().unwrap(),
        url: db.url.clone(),
        env: Vec::new(),
    };
    let mut a = setup.server(&before);
    let mut b = setup.server(&before);
    let traffic = Traffic::start(vec![a.base.clone(), b.base.clone()]);
    let pause = || std::thread::sleep(Duration::from_millis(600));
    pause();

    // 1. A restarts with the new key first and the old one beside it. It keeps encrypting
    //    with the old key: B cannot read the new one.
    traffic.set_servers(vec![b.base.clone()]);
    stop(&mut a);
    a = setup.server(&rolling);
    traffic.set_servers(vec![a.base.clone(), b.base.clone()]);
    pause();
    let run = setup.cli(&["keys", "status"], &rolling);
    assert_eq!(
        run.stdout
            .matches(&format!("encrypts with {}", old.id()))
            .count(),
        2,
        "{}",
        run.stdout
    );

    // The unsafe order: re-encrypting now would leave B unable to read. Refused.
    let run = setup.cli(&["keys", "rotate-master", "--wait", "3"], &rolling);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("\nservers_behind: "), "{}", run.stderr);
    assert!(run.stderr.contains("does not hold it"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("values under master key"),
        "{}",
        run.stderr
    );

    // 2. B restarts the same way; now every server holds the new key and encrypts with it.
    traffic.set_servers(vec![a.base.clone()]);
    stop(&mut b);
    b = setup.server(&rolling);
    traffic.set_servers(vec![a.base.clone(), b.base.clone()]);
    pause();

    // 3. Re-encrypt everything under the new key.
    let run = setup.cli(&["keys", "rotate-master"], &rolling);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("re-encrypted "), "{}", run.stderr);
    let rows = status(&setup, &rolling);
    assert_eq!(
        rows,
        vec![
            (new.id().to_owned(), "setting".into(), rows[0].2, true),
            (old.id().to_owned(), "setting".into(), 0, false),
        ]
    );
    assert!(rows[0].2 > 0, "{rows:?}");

    // 4. The old key is needed no more: retire it, then restart without it.
    let run = setup.cli(&["keys", "retire", old.id()], &rolling);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("remove it from security.old_master_keys"),
        "{}",
        run.stderr
    );
    traffic.set_servers(vec![b.base.clone()]);
    stop(&mut a);
    a = setup.server(&after);
    traffic.set_servers(vec![a.base.clone(), b.base.clone()]);
    pause();
    traffic.set_servers(vec![a.base.clone()]);
    stop(&mut b);
    b = setup.server(&after);
    traffic.set_servers(vec![a.base.clone(), b.base.clone()]);
    pause();

    let report = traffic.stop();
    assert_no_failures(&report, "the rolling rotation");
    assert_all_retrievable(&report.created, &[a, b], "after the rolling rotation");
}
