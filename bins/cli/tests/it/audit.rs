//! `aliaskit audit`, on SQLite and PostgreSQL: the CLI's own changes recorded as `cli` with the
//! OS user that ran it, the filters, JSON and table output, never a secret.

use serde_json::Value;

use crate::Target;
use crate::alias::{PASSCODE, SECRET, alias, org};

#[test]
fn the_trail_shows_who_changed_what_across_organizations() {
    for t in Target::all() {
        let (acme, acme_key) = org(&t, "acme");
        org(&t, "beta");
        let made = alias(&t.service(), acme, "Audited");
        let id = made.id.as_str();
        let run = t.run_env(
            &["alias", "rotate-secret", "--org", "acme", id],
            &[("USER", "carol")],
        );
        assert_eq!(run.code, 0, "{}: {}", t.name, run.stderr);
        let rotated = t.run(&["org", "rotate-key", "beta"]);
        assert_eq!(rotated.code, 0, "{}: {}", t.name, rotated.stderr);

        let run = t.run(&["audit", "--org", "acme", "--json"]);
        assert_eq!(run.code, 0, "{}: {}", t.name, run.stderr);
        let value: Value = serde_json::from_str(&run.stdout).unwrap();
        let entries = value["entries"].as_array().unwrap();
        let summary: Vec<(&str, &str, &str)> = entries
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap(),
                    e["actor"]["kind"].as_str().unwrap(),
                    e["actor"]["id"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("alias.rotate_secret", "cli", "carol"),
                ("alias.create", "system", "service"),
                ("org.create", "cli", "unknown"),
            ],
            "{}: newest first, acme's only",
            t.name
        );
        assert_eq!(entries[0]["target"], id);
        assert_eq!(entries[0]["org"], "acme");
        assert_eq!(entries[0]["changes"], serde_json::json!(["jwt_secret"]));

        let run = t.run(&["audit", "--limit", "2"]);
        assert_eq!(run.code, 0, "{}: {}", t.name, run.stderr);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert!(lines[0].starts_with("AT "), "{}", run.stdout);
        assert_eq!(lines.len(), 3, "{}", run.stdout);
        assert!(
            lines[1].contains("org.rotate_key") && lines[1].contains("beta"),
            "{}",
            lines[1]
        );

        let run = t.run(&["audit", "--since", "99999999999"]);
        assert_eq!(run.code, 0, "{}: {}", t.name, run.stderr);
        assert_eq!(
            run.stdout.lines().count(),
            1,
            "only the header: {}",
            run.stdout
        );

        let everything = t.run(&["audit", "--json", "--limit", "10000"]).stdout;
        for secret in [SECRET, PASSCODE, acme_key.as_str()] {
            assert!(!everything.contains(secret), "{}: {secret} printed", t.name);
        }

        let run = t.run(&["audit", "--limit", "0"]);
        assert_eq!(run.code, 2, "{}: {}", t.name, run.stderr);
    }
}
