//! An organization's webhook endpoints (`docs/webhooks.md`): create (with the target checks),
//! list, get, delete, rotate the signing secret, enable and disable.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

use aliaskit_domain::webhook::{self, TargetHost};
use aliaskit_domain::{
    Error as DomainError, EventFilter, OrgId, Sensitive, Webhook, WebhookId, WebhookUrl,
};
use aliaskit_store::repo::webhooks;

use crate::audit::{self, Change};
use crate::{Result, Service, ServiceError, random};

/// Most webhooks one organization may have.
pub const MAX_WEBHOOKS_PER_ORG: i64 = 20;

/// How long a target's name may take to resolve at creation.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// The operator's webhook settings (the `webhooks` section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// How long a rotated-out signing secret keeps signing alongside the new one.
    pub rotation_grace: Duration,
    /// Accept `http` targets.
    pub allow_insecure: bool,
    /// Accept targets that are or resolve to loopback, private, link-local or metadata
    /// addresses.
    pub allow_private_targets: bool,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            rotation_grace: Duration::from_secs(86_400),
            allow_insecure: false,
            allow_private_targets: false,
        }
    }
}

/// A webhook to create: the request's fields, unchecked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Target URL.
    pub url: String,
    /// `["*"]` or event names.
    pub events: Vec<String>,
    /// Free text.
    pub description: Option<String>,
}

impl Service {
    /// Creates a webhook for `org` with a fresh id and signing secret, after checking its URL
    /// (scheme, and — unless `allow_private_targets` — that the host is not and does not
    /// resolve to a forbidden address), its events and description. Blocks on DNS for at most
    /// two seconds.
    pub fn create_webhook(&self, org: OrgId, new: NewWebhook) -> Result<Webhook> {
        let settings = &self.config.webhooks;
        let url = WebhookUrl::parse(&new.url, settings.allow_insecure)?;
        let events = EventFilter::parse(&new.events)?;
        if let Some(description) = &new.description {
            webhook::check_description(description)?;
        }
        if !settings.allow_private_targets {
            check_target(&url)?;
        }
        let now = self.now();
        let hook = Webhook {
            id: WebhookId::parse(&format!("wh_{}", random::token::<16>()?))?,
            org,
            url: url.as_str().to_owned(),
            events,
            description: new.description.filter(|d| !d.is_empty()),
            secret: new_secret()?,
            previous_secret: None,
            previous_secret_until: None,
            enabled: true,
            created_at: now,
            updated_at: now,
        };
        let vault = self.db.vault();
        let added = self.db.transaction(|c| {
            // Under the organization's lock, so concurrent creations cannot pass the cap.
            aliaskit_store::repo::orgs::lock(c, org)?;
            if webhooks::count(c, org)? >= MAX_WEBHOOKS_PER_ORG {
                return Ok(false);
            }
            webhooks::insert(c, vault, &hook)?;
            let change = Change::org("webhook.create", org, hook.id.as_str(), &["secret"]);
            audit::record(c, &self.origin, &change, now)?;
            Ok(true)
        })?;
        if !added {
            return Err(ServiceError::Invalid(DomainError::field(
                "url",
                format!(
                    "cannot be added: an organization has at most {MAX_WEBHOOKS_PER_ORG} \
                     webhooks; delete one first"
                ),
            )));
        }
        Ok(hook)
    }

    /// Every webhook of `org`, oldest first.
    pub fn list_webhooks(&self, org: OrgId) -> Result<Vec<Webhook>> {
        let mut conn = self.db.conn()?;
        Ok(webhooks::list(&mut conn, self.db.vault(), org)?)
    }

    /// `org`'s webhook with this id; another organization's is not found.
    pub fn get_webhook(&self, org: OrgId, id: &WebhookId) -> Result<Webhook> {
        let mut conn = self.db.conn()?;
        webhooks::find_owned(&mut conn, self.db.vault(), org, id)?
            .ok_or(ServiceError::WebhookNotFound)
    }

    /// Deletes `org`'s webhook.
    pub fn delete_webhook(&self, org: OrgId, id: &WebhookId) -> Result<()> {
        let now = self.now();
        let deleted = self.db.transaction(|c| {
            if !webhooks::delete(c, org, id)? {
                return Ok(false);
            }
            let change = Change::org("webhook.delete", org, id.as_str(), &[]);
            audit::record(c, &self.origin, &change, now)?;
            Ok(true)
        })?;
        if deleted {
            Ok(())
        } else {
            Err(ServiceError::WebhookNotFound)
        }
    }

    /// A new signing secret for `org`'s webhook, returned once; the old one keeps signing
    /// alongside for `webhooks.rotation_grace` (none with a zero grace).
    pub fn rotate_webhook_secret(&self, org: OrgId, id: &WebhookId) -> Result<Webhook> {
        let secret = new_secret()?;
        let grace = crate::secs(self.config.webhooks.rotation_grace);
        self.change_webhook(
            org,
            id,
            "webhook.rotate_secret",
            &["secret"],
            move |mut hook, now| {
                let old = std::mem::replace(&mut hook.secret, secret);
                hook.previous_secret = Some(old).filter(|_| grace > 0);
                hook.previous_secret_until = hook
                    .previous_secret
                    .as_ref()
                    .map(|_| now.saturating_add(grace));
                hook
            },
        )
    }

    /// Turns sending to `org`'s webhook on or off.
    pub fn set_webhook_enabled(
        &self,
        org: OrgId,
        id: &WebhookId,
        enabled: bool,
    ) -> Result<Webhook> {
        let action = if enabled {
            "webhook.enable"
        } else {
            "webhook.disable"
        };
        self.change_webhook(org, id, action, &["enabled"], move |mut hook, _| {
            hook.enabled = enabled;
            hook
        })
    }

    /// Reads `org`'s webhook under its row lock, applies `f` at now and writes it back, with
    /// its audit entry (`action`, `changes`), in one transaction.
    fn change_webhook(
        &self,
        org: OrgId,
        id: &WebhookId,
        action: &'static str,
        changes: &[&str],
        f: impl FnOnce(Webhook, i64) -> Webhook,
    ) -> Result<Webhook> {
        let now = self.now();
        let vault = self.db.vault();
        self.db
            .transaction(|c| {
                let Some(current) = webhooks::find_owned_for_update(c, vault, org, id)? else {
                    return Ok(None);
                };
                let was_enabled = current.enabled;
                let mut changed = f(current, now);
                changed.updated_at = now;
                webhooks::update(c, vault, &changed)?;
                if changed.enabled && !was_enabled {
                    // Enabled again: its day of failures before disabling starts afresh.
                    webhooks::set_health(c, changed.id.as_str(), None, None)?;
                }
                let change = Change::org(action, org, id.as_str(), changes);
                audit::record(c, &self.origin, &change, now)?;
                Ok(Some(changed))
            })?
            .ok_or(ServiceError::WebhookNotFound)
    }
}

/// `whsec_` and 256 random bits, base64url.
fn new_secret() -> Result<Sensitive> {
    Ok(Sensitive::from(format!("whsec_{}", random::token::<32>()?)))
}

/// Refuses a target that is, or whose name resolves to, an address webhooks must not reach;
/// and a name that does not resolve (within [`RESOLVE_TIMEOUT`]).
fn check_target(url: &WebhookUrl) -> Result<()> {
    let refused = |why: String| ServiceError::Invalid(DomainError::field("url", why));
    let addresses = match url.host() {
        None => return Err(refused("must name a host".into())),
        Some(TargetHost::Ip(ip)) => vec![ip],
        Some(TargetHost::Name(name)) => resolve(&name, url.port())
            .ok_or_else(|| refused("names a host that does not resolve".into()))?,
    };
    if addresses.is_empty() {
        return Err(refused("names a host that does not resolve".into()));
    }
    if let Some(ip) = addresses
        .into_iter()
        .find(|ip| webhook::is_forbidden_target(*ip))
    {
        return Err(refused(format!(
            "resolves to {ip}, a loopback, private, link-local or reserved address \
             (allowed only with webhooks.allow_private_targets)"
        )));
    }
    Ok(())
}

/// The addresses of `host`, on a thread of its own so a hanging resolver costs the caller at
/// most [`RESOLVE_TIMEOUT`]; `None` when it fails or takes longer.
fn resolve(host: &str, port: u16) -> Option<Vec<IpAddr>> {
    let (tx, rx) = mpsc::channel();
    let target = format!("{host}:{port}");
    std::thread::Builder::new()
        .name("webhook-resolve".into())
        .spawn(move || {
            let found = target
                .to_socket_addrs()
                .map(|addrs| addrs.map(|a: SocketAddr| a.ip()).collect::<Vec<_>>());
            let _ = tx.send(found);
        })
        .ok()?;
    rx.recv_timeout(RESOLVE_TIMEOUT).ok()?.ok()
}
