//! Webhooks (`docs/webhooks.md`): an organization's endpoints, the events they subscribe to,
//! and the rules a target URL must follow. No I/O: resolving a host is the service's.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{Error, OrgId, Result, Sensitive};

/// Longest accepted target URL, in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Longest accepted description, in characters.
pub const MAX_DESCRIPTION_LEN: usize = 256;

/// A webhook id: `wh_` and 1–64 URL-safe characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebhookId(String);

impl WebhookId {
    /// Parses an id; anything else is an [`Error::InvalidField`] on `id`.
    pub fn parse(raw: &str) -> Result<Self> {
        let rest = raw
            .strip_prefix("wh_")
            .ok_or_else(|| Error::field("id", "must start with \"wh_\""))?;
        if rest.is_empty() || rest.len() > 64 || !crate::id_text(rest) {
            return Err(Error::field(
                "id",
                "must be \"wh_\" and 1 to 64 characters of [A-Za-z0-9_-]",
            ));
        }
        Ok(WebhookId(raw.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebhookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happened, as a webhook event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// `alias.created`.
    AliasCreated,
    /// `alias.updated`.
    AliasUpdated,
    /// `alias.deleted`.
    AliasDeleted,
    /// `alias.expired`: once, when the background job finds the alias past `expired_at`.
    AliasExpired,
    /// `alias.secret_rotated`.
    AliasSecretRotated,
    /// `alias.tokens_revoked`.
    AliasTokensRevoked,
    /// `alias.stream_key_rotated`.
    AliasStreamKeyRotated,
    /// `webhook.disabled`: another endpoint of the organization was disabled for failing.
    WebhookDisabled,
}

impl EventType {
    /// Every event type, in the documented order.
    pub const ALL: [EventType; 8] = [
        EventType::AliasCreated,
        EventType::AliasUpdated,
        EventType::AliasDeleted,
        EventType::AliasExpired,
        EventType::AliasSecretRotated,
        EventType::AliasTokensRevoked,
        EventType::AliasStreamKeyRotated,
        EventType::WebhookDisabled,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::AliasCreated => "alias.created",
            EventType::AliasUpdated => "alias.updated",
            EventType::AliasDeleted => "alias.deleted",
            EventType::AliasExpired => "alias.expired",
            EventType::AliasSecretRotated => "alias.secret_rotated",
            EventType::AliasTokensRevoked => "alias.tokens_revoked",
            EventType::AliasStreamKeyRotated => "alias.stream_key_rotated",
            EventType::WebhookDisabled => "webhook.disabled",
        }
    }

    /// The event type with this wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        EventType::ALL.into_iter().find(|e| e.as_str() == raw)
    }
}

/// The events an endpoint subscribes to: every one (`["*"]`), or a non-empty set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    /// `["*"]`: every event, including types added later.
    All,
    /// These, without duplicates, in the documented order.
    Only(Vec<EventType>),
}

impl EventFilter {
    /// Parses the `events` list of a request: `["*"]`, or one or more known event names
    /// (duplicates are merged). `*` mixed with names, an empty list or an unknown name is an
    /// [`Error::InvalidField`] on `events`.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self> {
        if names.is_empty() {
            return Err(Error::field(
                "events",
                "must name at least one event, or be [\"*\"]",
            ));
        }
        if names.iter().any(|n| n.as_ref() == "*") {
            return if names.len() == 1 {
                Ok(EventFilter::All)
            } else {
                Err(Error::field(
                    "events",
                    "must be [\"*\"] alone, or a list of event names without \"*\"",
                ))
            };
        }
        let mut types = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref();
            let event = EventType::parse(name).ok_or_else(|| {
                Error::field(
                    "events",
                    format!(
                        "names an unknown event {}; known: {}",
                        Error::shown(name),
                        EventType::ALL.map(EventType::as_str).join(", ")
                    ),
                )
            })?;
            types.push(event);
        }
        types.sort_unstable();
        types.dedup();
        Ok(EventFilter::Only(types))
    }

    /// The wire names: `["*"]` or the event names.
    pub fn names(&self) -> Vec<&'static str> {
        match self {
            EventFilter::All => vec!["*"],
            EventFilter::Only(types) => types.iter().map(|t| t.as_str()).collect(),
        }
    }

    /// Whether an event of this type goes to the endpoint.
    pub fn matches(&self, event: EventType) -> bool {
        match self {
            EventFilter::All => true,
            EventFilter::Only(types) => types.contains(&event),
        }
    }
}

/// A target URL, checked by [`WebhookUrl::parse`]: absolute, `https` (or `http` where allowed),
/// a host, no user name or password, at most [`MAX_URL_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

/// The host of a target URL, as a connection would use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetHost {
    /// An address literal.
    Ip(IpAddr),
    /// A name, to be resolved.
    Name(String),
}

impl WebhookUrl {
    /// Parses and checks a target URL; `http` is accepted only with `allow_insecure`.
    pub fn parse(raw: &str, allow_insecure: bool) -> Result<Self> {
        let bad = |why: &str| Error::field("url", why.to_owned());
        if raw.len() > MAX_URL_LEN {
            return Err(bad(&format!("must be at most {MAX_URL_LEN} bytes")));
        }
        let url =
            url::Url::parse(raw).map_err(|e| bad(&format!("is not an absolute URL ({e})")))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_insecure => {}
            "http" => {
                return Err(bad(
                    "must be https (http is allowed only with webhooks.allow_insecure)",
                ));
            }
            _ => return Err(bad("must be an https URL")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not carry a user name or password"));
        }
        if url.host().is_none() {
            return Err(bad("must name a host"));
        }
        Ok(WebhookUrl(url))
    }

    /// The URL as text (normalized by the parser).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host, an address or a name.
    pub fn host(&self) -> Option<TargetHost> {
        match self.0.host()? {
            url::Host::Ipv4(v4) => Some(TargetHost::Ip(IpAddr::V4(v4))),
            url::Host::Ipv6(v6) => Some(TargetHost::Ip(IpAddr::V6(v6))),
            url::Host::Domain(name) => Some(TargetHost::Name(name.to_owned())),
        }
    }

    /// The port a connection would use.
    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(443)
    }
}

/// Whether a webhook must not be sent to `ip` (unless `webhooks.allow_private_targets`):
/// unspecified, loopback, private, shared (CGNAT), link-local (which holds the cloud metadata
/// address 169.254.169.254), unique-local IPv6 (`fc00::/7`, so `fd00::/8` and
/// `fd00:ec2::254`), multicast, broadcast, reserved; an IPv4 address inside IPv6
/// (mapped, compatible, NAT64) is judged as the IPv4 address.
pub fn is_forbidden_target(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        // 100.64.0.0/10, shared address space (carrier-grade NAT).
        || (a == 100 && (64..128).contains(&b))
        // 192.0.0.0/24, IETF protocol assignments.
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        // 198.18.0.0/15, benchmarking.
        || (a == 198 && (b == 18 || b == 19))
        // 240.0.0.0/4, reserved.
        || a >= 240
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let segments = ip.segments();
    // ::a.b.c.d (IPv4-compatible, deprecated) and 64:ff9b::/96 (NAT64).
    if (segments[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified())
        || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
    {
        let [.., a, b, c, d] = ip.octets();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d));
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // fc00::/7, unique local.
        || (segments[0] & 0xfe00) == 0xfc00
        // fe80::/10, link-local; fec0::/10, site-local (deprecated).
        || (segments[0] & 0xffc0) == 0xfe80
        || (segments[0] & 0xffc0) == 0xfec0
}

/// An organization's webhook endpoint, as stored (secrets opened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// `wh_…`.
    pub id: WebhookId,
    /// Owner.
    pub org: OrgId,
    /// Target URL, checked at creation.
    pub url: String,
    /// Subscribed events.
    pub events: EventFilter,
    /// Free text.
    pub description: Option<String>,
    /// The signing secret, `whsec_…`.
    pub secret: Sensitive,
    /// The secret before the last rotation, still signing until `previous_secret_until`.
    pub previous_secret: Option<Sensitive>,
    /// Unix seconds.
    pub previous_secret_until: Option<i64>,
    /// Whether events are sent to it.
    pub enabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

impl Webhook {
    /// The secrets that sign at `now`: the current one, and the previous one within its grace.
    pub fn active_secrets(&self, now: i64) -> Vec<&Sensitive> {
        let mut secrets = vec![&self.secret];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until)
            && now < until
        {
            secrets.push(previous);
        }
        secrets
    }
}

/// Checks a description: at most [`MAX_DESCRIPTION_LEN`] characters, no control characters.
pub fn check_description(description: &str) -> Result<()> {
    if description.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(Error::field(
            "description",
            format!("must be at most {MAX_DESCRIPTION_LEN} characters"),
        ));
    }
    if description.chars().any(char::is_control) {
        return Err(Error::field(
            "description",
            "must not contain control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_ids_are_wh_and_the_id_alphabet() {
        assert!(WebhookId::parse("wh_AZaz09_-").is_ok());
        let too_long = format!("wh_{}", "x".repeat(65));
        for bad in [
            "AZ",
            "wh_",
            "wh_a/b",
            "wh_a.b",
            "wh_é",
            "wh_a\u{7f}",
            too_long.as_str(),
        ] {
            let err = WebhookId::parse(bad).err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains("\"wh_\"")),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn events_parse_star_alone_known_names_merged() {
        assert_eq!(EventFilter::parse(&["*"]), Ok(EventFilter::All));
        assert_eq!(
            EventFilter::parse(&["alias.deleted", "alias.created", "alias.deleted"])
                .map(|f| f.names()),
            Ok(vec!["alias.created", "alias.deleted"])
        );
        for bad in [
            &["*", "alias.created"][..],
            &[],
            &["alias.nope"],
            &["ALIAS.CREATED"],
        ] {
            assert!(EventFilter::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_must_be_https_with_a_host_and_no_credentials() {
        assert!(WebhookUrl::parse("https://example.com/hook", false).is_ok());
        assert!(WebhookUrl::parse("http://example.com/hook", false).is_err());
        assert!(WebhookUrl::parse("http://example.com/hook", true).is_ok());
        for bad in [
            "ftp://example.com/",
            "example.com/hook",
            "https://user:pw@example.com/",
            "file:///etc/passwd",
            "",
        ] {
            assert!(WebhookUrl::parse(bad, true).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(WebhookUrl::parse(&long, false).is_err());
    }

    #[test]
    fn private_loopback_link_local_and_metadata_targets_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "ff02::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            assert!(is_forbidden_target(ip), "{ip}");
        }
        for ip in ["203.0.113.7", "93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            let ip: IpAddr = ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            assert!(!is_forbidden_target(ip), "{ip}");
        }
    }

    #[test]
    fn the_previous_secret_signs_only_within_its_grace() {
        let hook = Webhook {
            id: WebhookId("wh_x".into()),
            org: OrgId(1),
            url: "https://example.com/".into(),
            events: EventFilter::All,
            description: None,
            secret: Sensitive::from("new"),
            previous_secret: Some(Sensitive::from("old")),
            previous_secret_until: Some(100),
            enabled: true,
            created_at: 0,
            updated_at: 0,
        };
        assert_eq!(hook.active_secrets(99).len(), 2);
        assert_eq!(hook.active_secrets(100).len(), 1);
    }
}
