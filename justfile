# One thin recipe per CI step; `just ci` is exactly what CI runs (.ci/run).

postgres_url := env_var_or_default("ALIASKIT_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")

# Everything CI runs, in order.
ci:
    .ci/run

fmt:
    cargo fmt --all -- --check

lint:
    cargo clippy --workspace --all-targets -- -D warnings

layering:
    .ci/layering

# The embedding examples (docs/embedding.md) compile; `core` also runs in `test`.
examples:
    cargo build --workspace --examples

# The PostgreSQL that the tests use answers (starts the local cluster if it is stopped).
postgres:
    ALIASKIT_TEST_POSTGRES_URL={{postgres_url}} .ci/postgres

# iptables, which the PostgreSQL packets-dropped test needs (installed with apt if missing).
iptables:
    .ci/iptables

# Tests without PostgreSQL (the PostgreSQL tests report that they were skipped).
test:
    cargo test --workspace

# Tests with the PostgreSQL suite, against a running server: CI's `test` step.
test-pg: postgres
    ALIASKIT_TEST_POSTGRES_URL={{postgres_url}} cargo test --workspace

# The image (Containerfile) built from the debug binaries and run with podman, on SQLite and
# on PostgreSQL (docs/deployment.md#container).
container: postgres
    ALIASKIT_TEST_POSTGRES_URL={{postgres_url}} scripts/test-container.sh

# The systemd unit: systemd-analyze verify, and security rated 2.5 or lower.
systemd:
    scripts/check-systemd.sh

# The real server fuzzed against its OpenAPI description (docs/api.md#openapi).
schemathesis:
    .ci/schemathesis

doc:
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# Token verification benchmark: medians, ratios, whether issue 2's targets hold (docs/performance.md).
bench *ARGS:
    scripts/bench-token.sh {{ARGS}}

# HTTP load harness: ratios to /healthz, p99, RSS (see docs/performance.md; needs wrk).
bench-http *ARGS:
    scripts/bench-http.sh {{ARGS}}

# The hot-alias load on REV's release server and this tree's, alternating in one run.
bench-compare REV *ARGS:
    scripts/bench-compare.sh {{REV}} {{ARGS}}
