//! The diesel schema, written to match `migrations/{sqlite,postgres}` (a test checks that the
//! migrations produce exactly these tables and columns on both backends).

diesel::table! {
    /// Organizations.
    organizations (id) {
        /// Surrogate key.
        id -> BigInt,
        /// Unique name.
        name -> Text,
        /// Unix seconds.
        created_at -> BigInt,
    }
}

diesel::table! {
    /// API keys, stored as SHA-256 hashes.
    api_keys (id) {
        /// Surrogate key.
        id -> BigInt,
        /// Owner.
        org_id -> BigInt,
        /// Lower-case hex SHA-256 of the key.
        key_hash -> Text,
        /// Unix seconds.
        created_at -> BigInt,
    }
}

diesel::table! {
    /// Aliases.
    aliases (id) {
        /// The alias id.
        id -> Text,
        /// Owner.
        org_id -> BigInt,
        /// `conference` or `live`.
        kind -> Text,
        /// Display name.
        name -> Nullable<Text>,
        /// Passcode.
        passcode -> Nullable<Text>,
        /// JWT secret.
        jwt_secret -> Nullable<Text>,
        /// Stream key.
        stream_key -> Nullable<Text>,
        /// Unix seconds.
        expired_at -> BigInt,
        /// Unix seconds.
        inserted_at -> BigInt,
        /// Unix seconds.
        updated_at -> BigInt,
        /// The secret before the last rotation.
        previous_secret -> Nullable<Text>,
        /// Unix seconds until which `previous_secret` verifies.
        previous_secret_until -> Nullable<BigInt>,
        /// Tokens with `iat` before this are revoked.
        tokens_valid_after -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// OpenCAP users.
    cap_users (id) {
        /// Random id, the `sub` of the user's tokens.
        id -> Text,
        /// Before the `$`.
        username -> Text,
        /// After the `$`.
        domain -> Text,
        /// argon2id PHC string.
        password_hash -> Text,
        /// Failed logins since the last success or lock.
        failed_logins -> BigInt,
        /// Logins refused until this Unix second.
        locked_until -> Nullable<BigInt>,
        /// Unix seconds.
        created_at -> BigInt,
    }
}

diesel::table! {
    /// OpenCAP addresses, one per user and type.
    cap_addresses (user_id, address_type) {
        /// Owner.
        user_id -> Text,
        /// The OpenCAP type number.
        address_type -> Integer,
        /// The address text.
        address -> Text,
        /// A JSON object.
        extensions -> Text,
        /// Unix seconds.
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// The server's own signing keys for OpenCAP login tokens.
    signing_keys (kid) {
        /// Key id, in the token header.
        kid -> Text,
        /// `HS256`, `HS384` or `HS512`.
        alg -> Text,
        /// The HMAC key, base64url.
        secret -> Text,
        /// Unix seconds.
        created_at -> BigInt,
        /// When it stopped signing.
        retired_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Master keys that have encrypted values here (ids only).
    master_keys (kid) {
        /// The key id.
        kid -> Text,
        /// Unix seconds.
        first_used_at -> BigInt,
    }
}

diesel::table! {
    /// Background jobs: when each last ran.
    jobs (name) {
        /// The job.
        name -> Text,
        /// Unix seconds of the last run.
        last_run -> BigInt,
    }
}

diesel::table! {
    /// The processes serving this database and the master keys each holds.
    key_holders (id) {
        /// Random, per process start.
        id -> Text,
        /// Host name.
        host -> Text,
        /// Process id.
        pid -> BigInt,
        /// Key ids held, comma-separated, in order of preference.
        key_ids -> Text,
        /// The key id it seals with.
        sealing -> Text,
        /// Unix seconds of its last refresh.
        seen_at -> BigInt,
    }
}

diesel::table! {
    /// Wrong passcodes per alias (`client` empty) and per alias and client address.
    passcode_failures (alias_id, client) {
        /// The alias.
        alias_id -> Text,
        /// The client's address, or empty for the alias-wide count.
        client -> Text,
        /// Unix seconds when the current window began.
        window_start -> BigInt,
        /// Wrong passcodes in it.
        failures -> BigInt,
        /// Passcode attempts are refused until then.
        blocked_until -> Nullable<BigInt>,
        /// Budgets spent in a row.
        strikes -> BigInt,
    }
}

diesel::table! {
    /// An organization's webhook endpoints.
    webhooks (id) {
        /// `wh_…`.
        id -> Text,
        /// Owner.
        org_id -> BigInt,
        /// Target URL.
        url -> Text,
        /// `*` or event names, comma-separated.
        events -> Text,
        /// Free text.
        description -> Nullable<Text>,
        /// The signing secret, sealed.
        secret -> Text,
        /// The secret before the last rotation, sealed.
        previous_secret -> Nullable<Text>,
        /// Unix seconds until which `previous_secret` signs.
        previous_secret_until -> Nullable<BigInt>,
        /// Whether events are sent.
        enabled -> Bool,
        /// Unix seconds.
        created_at -> BigInt,
        /// Unix seconds.
        updated_at -> BigInt,
        /// Unix seconds of the first failed attempt since the last success; `NULL` when the
        /// last attempt succeeded (or none was made).
        failing_since -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// The webhook outbox: events written with the changes they report.
    webhook_events (seq) {
        /// Order of writing.
        seq -> BigInt,
        /// `evt_…`.
        id -> Text,
        /// The organization the event goes to.
        org_id -> BigInt,
        /// `alias.created`, ….
        event_type -> Text,
        /// The alias, for alias events.
        alias_id -> Nullable<Text>,
        /// The delivered body, JSON.
        payload -> Text,
        /// Unix seconds.
        created_at -> BigInt,
    }
}

diesel::table! {
    /// One delivery per webhook event and subscribed endpoint.
    webhook_deliveries (id) {
        /// Surrogate key, the order of writing.
        id -> BigInt,
        /// The event.
        event_seq -> BigInt,
        /// The endpoint.
        webhook_id -> Text,
        /// `pending`, `delivered` or `failed`.
        state -> Text,
        /// Attempts made.
        attempts -> BigInt,
        /// Unix seconds of the next attempt.
        next_attempt_at -> BigInt,
        /// A sender holds it until then.
        lease_until -> Nullable<BigInt>,
        /// The last answer's status.
        last_status -> Nullable<BigInt>,
        /// The last attempt's error.
        last_error -> Nullable<Text>,
        /// Unix seconds.
        delivered_at -> Nullable<BigInt>,
        /// Unix seconds.
        created_at -> BigInt,
        /// The event's alias: a delivery waits for the earlier ones of its alias.
        alias_id -> Nullable<Text>,
    }
}

diesel::table! {
    /// Every attempt of a webhook delivery, for the deliveries log.
    webhook_attempts (id) {
        /// Surrogate key, the order of attempts.
        id -> BigInt,
        /// The endpoint.
        webhook_id -> Text,
        /// The delivery.
        delivery_id -> BigInt,
        /// `evt_…`.
        event_id -> Text,
        /// `alias.created`, ….
        event_type -> Text,
        /// 1 for the delivery's first attempt.
        attempt -> BigInt,
        /// The answer's status, if one came.
        status -> Nullable<BigInt>,
        /// What went wrong, if it did.
        error -> Nullable<Text>,
        /// How long the attempt took, milliseconds.
        duration_ms -> BigInt,
        /// Unix seconds of the next attempt, when retried.
        next_attempt_at -> Nullable<BigInt>,
        /// Unix seconds, when delivered.
        delivered_at -> Nullable<BigInt>,
        /// Unix seconds of the attempt.
        at -> BigInt,
    }
}

diesel::table! {
    /// The audit trail: one row per management change (`docs/audit.md`).
    audit_log (id) {
        /// The order of writing.
        id -> BigInt,
        /// Unix seconds.
        at -> BigInt,
        /// The organization concerned, if any (no foreign key: it may be deleted since).
        org_id -> Nullable<BigInt>,
        /// Its name at the time.
        org_name -> Nullable<Text>,
        /// The OpenCAP user concerned, `user$domain`, if any.
        cap_user -> Nullable<Text>,
        /// `api_key`, `cli`, `opencap_user` or `system`.
        actor_kind -> Text,
        /// Who, within the kind.
        actor_id -> Text,
        /// `object.verb`.
        action -> Text,
        /// What was changed: an alias or webhook id, a user alias, an org name.
        target -> Text,
        /// The request's id, for HTTP changes.
        request_id -> Nullable<Text>,
        /// The client's address, for HTTP changes.
        client_ip -> Nullable<Text>,
        /// Names of the fields changed, comma-separated.
        changes -> Text,
        /// OpenCAP address changes: the address type.
        address_type -> Nullable<BigInt>,
    }
}

diesel::joinable!(api_keys -> organizations (org_id));
diesel::joinable!(webhook_deliveries -> webhook_events (event_seq));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_attempts -> webhooks (webhook_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(webhook_events -> organizations (org_id));
diesel::joinable!(webhooks -> organizations (org_id));
diesel::joinable!(aliases -> organizations (org_id));
diesel::joinable!(cap_addresses -> cap_users (user_id));
diesel::joinable!(passcode_failures -> aliases (alias_id));
diesel::allow_tables_to_appear_in_same_query!(
    organizations,
    api_keys,
    aliases,
    cap_users,
    cap_addresses,
    signing_keys,
    master_keys,
    jobs,
    key_holders,
    passcode_failures,
    webhooks,
    webhook_events,
    webhook_deliveries,
    webhook_attempts,
    audit_log
);
