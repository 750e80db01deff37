//! Organizations and their API keys.

use aliaskit_domain::{ApiKey, OrgId, OrgName, Organization};
use aliaskit_store::{StoreError, repo};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::audit::{self, Change};
use crate::{Result, Service, ServiceError, random};

/// The name of the organization created on first start.
pub const DEFAULT_ORG: &str = "default";

/// What [`Service::bootstrap`] did.
#[derive(Debug)]
pub enum Bootstrap {
    /// The database had no organization: `default` was created with this key, which was
    /// generated (print it once) or configured.
    Created {
        /// The key.
        key: ApiKey,
        /// Whether aliaskit generated it (and so must show it to the operator).
        generated: bool,
    },
    /// The database has organizations and a configured key that no organization holds: it was
    /// ignored (rotated away, or a mistake). Warn the operator; never add it back.
    Ignored,
    /// Nothing to do: the database has organizations, and any configured key is one of theirs.
    Nothing,
}

/// What [`Service::delete_org`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgDeletion {
    /// The organization, its API keys and this many aliases were deleted.
    Deleted {
        /// How many aliases went with it.
        aliases: usize,
    },
    /// Nothing was changed: the organization has this many aliases, and deleting them too was
    /// not asked for.
    HasAliases {
        /// How many.
        aliases: i64,
    },
}

/// Lower-case hex SHA-256 of a key: what is stored and looked up. Keys are 128+ random bits (or
/// an operator's 32+ character choice), so a fast hash is enough: there is nothing to guess.
pub(crate) fn key_hash(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    hex
}

impl Service {
    /// Creates an organization and its first API key (shown once: only its hash is kept).
    pub fn create_org(&self, name: &OrgName) -> Result<(Organization, ApiKey)> {
        let key = random::api_key()?;
        let now = self.now();
        let org = self.db.transaction(|c| {
            let org = repo::orgs::insert(c, name, now)?;
            repo::api_keys::insert(c, org.id, &key_hash(key.expose()), now)?;
            let change = Change::org("org.create", org.id, name.as_str(), &["api_key"]);
            audit::record(c, &self.origin, &change, now)?;
            Ok(org)
        })?;
        Ok((org, key))
    }

    /// Replaces every key of the organization with a new one; old keys stop working at once.
    /// Two rotations at once take turns on the organization's row, so the key the later one
    /// answers is the only one left.
    pub fn rotate_org_key(&self, name: &OrgName) -> Result<ApiKey> {
        let key = random::api_key()?;
        let now = self.now();
        self.db.transaction(|c| {
            let org = repo::orgs::find_by_name_for_update(c, name)?.ok_or_else(|| {
                StoreError::OrgNotFound {
                    name: name.to_string(),
                }
            })?;
            repo::api_keys::delete_for_org(c, org.id)?;
            repo::api_keys::insert(c, org.id, &key_hash(key.expose()), now)?;
            let change = Change::org("org.rotate_key", org.id, name.as_str(), &["api_key"]);
            audit::record(c, &self.origin, &change, now)
        })?;
        Ok(key)
    }

    /// The organization with this name, or [`ServiceError::OrgNotFound`].
    pub fn find_org(&self, name: &OrgName) -> Result<Organization> {
        let mut conn = self.db.conn()?;
        repo::orgs::find_by_name(&mut conn, name)?.ok_or_else(|| ServiceError::OrgNotFound {
            name: name.to_string(),
        })
    }

    /// Deletes the organization and its API keys, in one transaction that holds the
    /// organization's row lock (so no alias can be added to it meanwhile). While it has aliases
    /// nothing is changed ([`OrgDeletion::HasAliases`]) unless `with_aliases`: then they are
    /// deleted in the same transaction. [`ServiceError::OrgNotFound`] if there is none.
    pub fn delete_org(&self, name: &OrgName, with_aliases: bool) -> Result<OrgDeletion> {
        let now = self.now();
        let outcome = self.db.transaction(|c| {
            let org = repo::orgs::find_by_name_for_update(c, name)?.ok_or_else(|| {
                StoreError::OrgNotFound {
                    name: name.to_string(),
                }
            })?;
            let count = repo::aliases::count(c, org.id)?;
            if count > 0 && !with_aliases {
                return Ok((OrgDeletion::HasAliases { aliases: count }, Vec::new()));
            }
            let changes: &[&str] = if count > 0 { &["aliases"] } else { &[] };
            let change = Change::org("org.delete", org.id, name.as_str(), changes);
            audit::record(c, &self.origin, &change, now)?;
            let deleted = repo::aliases::delete_for_org(c, org.id)?;
            for id in &deleted {
                aliaskit_store::listen::notify(c, &format!("alias:{id}"))?;
            }
            repo::api_keys::delete_for_org(c, org.id)?;
            repo::orgs::delete(c, org.id)?;
            Ok((
                OrgDeletion::Deleted {
                    aliases: deleted.len(),
                },
                deleted,
            ))
        })?;
        let (deletion, deleted) = outcome;
        for id in &deleted {
            self.forget_alias(id);
        }
        Ok(deletion)
    }

    /// Every organization, by name.
    pub fn list_orgs(&self) -> Result<Vec<Organization>> {
        let mut conn = self.db.conn()?;
        Ok(repo::orgs::list(&mut conn)?)
    }

    /// First start: with no organization at all, creates `default` with `configured` as its key,
    /// or a generated one. On a database with organizations the configured key changes nothing:
    /// a key rotated away with `rotate_org_key` must not come back because a deployment still
    /// sets it. Safe when several servers start at once.
    pub fn bootstrap(&self, configured: Option<&ApiKey>) -> Result<Bootstrap> {
        let default = OrgName::parse(DEFAULT_ORG)?;
        let now = self.now();
        let fresh = random::api_key()?;
        let outcome = self.db.transaction(|c| {
            if repo::orgs::count(c)? == 0 {
                let (key, generated) = match configured {
                    Some(k) => (k.clone(), false),
                    None => (fresh, true),
                };
                let org = repo::orgs::insert(c, &default, now)?;
                repo::api_keys::insert(c, org.id, &key_hash(key.expose()), now)?;
                return Ok(Bootstrap::Created { key, generated });
            }
            match configured {
                Some(key) if repo::api_keys::find(c, &key_hash(key.expose()))?.is_none() => {
                    Ok(Bootstrap::Ignored)
                }
                _ => Ok(Bootstrap::Nothing),
            }
        });
        match outcome {
            // Another server bootstrapped the empty database at the same moment.
            Err(StoreError::OrgNameTaken | StoreError::ApiKeyTaken) => Ok(Bootstrap::Nothing),
            other => Ok(other?),
        }
    }

    /// The organization owning `key`, or [`ServiceError::Unauthorized`].
    pub fn authenticate_org(&self, key: &str) -> Result<OrgId> {
        let unauthorized = ServiceError::Unauthorized {
            reason: "a valid organization API key is required",
        };
        if ApiKey::parse(key).is_err() {
            return Err(unauthorized);
        }
        let hash = key_hash(key);
        let mut conn = self.db.conn()?;
        match repo::api_keys::find(&mut conn, &hash)? {
            Some((org, stored)) if bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) => Ok(org),
            _ => Err(unauthorized),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hash_is_lower_case_hex_sha256() {
        assert_eq!(
            key_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
