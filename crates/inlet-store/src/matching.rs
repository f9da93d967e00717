//! Matching inside a store transaction, written once for both backends.
//!
//! A backend implements [`MatchTx`], a handful of indexed reads and writes
//! on its open transaction; the functions here make every decision. An
//! event's attachment is always recomputed from scratch by [`resolve`] —
//! the best match among the calls stored now — so the stored state is a
//! function of the calls, events and rules, not of their arrival order:
//!
//! - a new event is resolved when it arrives, or waits as pending;
//! - a new or changed call re-resolves the events that named its session,
//!   and every rule-matched or waiting event sharing a key with its old or
//!   new version (only those can change);
//! - new rules re-key every call and event and re-resolve every event
//!   matched by rule, pending or unmatched.
//!
//! An event's keys are indexed only where a call could still claim it
//! ([`watched_keys`]): all of them while it waits, and once a rule has
//! attached it, those of the rules before that one. A later call with the
//! attaching rule's key shares that key with the call the event is on, so it
//! finds the event through that call ([`MatchTx::events_sharing_keys`]), and
//! a changed call re-reads what was attached to its old version
//! ([`MatchTx::events_attached_by_rule`]); rules after the attaching one
//! cannot take it. Most events match on
//! arrival, and not indexing their keys halves the random writes an event
//! costs.
//!
//! Pending events past their TTL are `unmatched`: calls no longer wake
//! them, but a change of rules retries them.
//!
//! The SQLite backend drives these futures on its writer thread, where every
//! `MatchTx` method completes at once; PostgreSQL awaits real I/O.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use inlet_domain::{EventId, TenantId, Timestamp};
use inlet_match::{
    Attachment, Call, Candidate, Key, MatchedBy, RuleSet, SessionId, Target, call_keys, choose,
    event_keys, window,
};
use serde_json::{Map, Value};

use crate::{
    CallBatch, CallEventOutcome, CallOutcome, CallsWritten, EventState, EventStatus, NewCallEvent,
    StoreError,
};

/// Calls (and events) re-keyed per step when rules change.
const REKEY_PAGE: usize = 1000;

/// An event as matching needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchInput {
    /// The session it named, if any.
    pub session_id: Option<SessionId>,
    /// When it happened.
    pub event_time: Timestamp,
    /// Its keys, by rule name.
    pub keys: Vec<(String, Key)>,
    /// Where it is attached now.
    pub attachment: Option<Attachment>,
}

/// A key of a call, and what the rules comparing it attach events to: only
/// those can have attached an event to another call through this key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedKey {
    /// The key.
    pub key: Key,
    /// Some rule of its kind attaches events to a call alone.
    pub to_calls: bool,
    /// Some rule of its kind attaches events to a call group.
    pub to_groups: bool,
}

/// Where [`MatchTx::events_sharing_keys`] looks, for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The call itself, whose own events are not looked up by key.
    pub session_id: SessionId,
    /// Event times a rule could attach to the call: `[from, to]`.
    pub from: Timestamp,
    pub to: Timestamp,
    /// Other calls holding events from that range overlap
    /// `[calls_from, calls_to]` (the range widened by the widest window).
    pub calls_from: Timestamp,
    pub calls_to: Timestamp,
    /// Pending events received before this have expired: calls no longer
    /// wake them.
    pub expired_before: Timestamp,
}

/// What is stored of an event under its eventId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    /// Its content hash, to tell a resend from a conflict.
    pub content_hash: [u8; 32],
    /// When it was received.
    pub received_at: Timestamp,
    /// Where it is attached now.
    pub attachment: Option<Attachment>,
}

/// A stored event, read back to match it again.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// The session it named, if any.
    pub session_id: Option<SessionId>,
    /// When it happened.
    pub event_time: Timestamp,
    /// Its metadata, from which its keys are taken under the current rules.
    pub metadata: Map<String, Value>,
    /// Where it is attached now.
    pub attachment: Option<Attachment>,
}

/// The reads and writes matching needs, on one open transaction of a
/// backend, for one tenant's data. Every read is an index look-up.
// The futures are awaited where their concrete type is known (SQLite's
// writer thread, PostgreSQL's store methods), so no `Send` bound is spelled.
#[allow(async_fn_in_trait)]
pub trait MatchTx {
    /// The version of the tenant's rules: 0 when none were set, and
    /// different after every change.
    async fn rules_version(&mut self, tenant: &TenantId) -> Result<i64, StoreError>;
    /// The tenant's rules (empty when none were set).
    async fn rules(&mut self, tenant: &TenantId) -> Result<RuleSet, StoreError>;
    /// Replaces the tenant's rules.
    async fn replace_rules(
        &mut self,
        tenant: &TenantId,
        rules: &RuleSet,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Whether the tenant has a call with this session id.
    async fn has_call(
        &mut self,
        tenant: &TenantId,
        session: &SessionId,
    ) -> Result<bool, StoreError>;
    /// The call with this session id.
    async fn find_call(
        &mut self,
        tenant: &TenantId,
        session: &SessionId,
    ) -> Result<Option<Call>, StoreError>;
    /// Stores `call` with its `keys`, replacing `old` (the stored version,
    /// with its keys) if there is one.
    async fn write_call(
        &mut self,
        tenant: &TenantId,
        call: &Call,
        keys: &[Key],
        old: Option<(&Call, &[Key])>,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Calls having `key` whose interval overlaps `[from, to]`: a range of
    /// start times, bounded below by the tenant's longest call (see
    /// [`MatchTx::widen_longest_call`]), so a value many calls share costs
    /// the calls near `[from, to]`, not all of them.
    async fn candidates(
        &mut self,
        tenant: &TenantId,
        key: &Key,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Candidate>, StoreError>;
    /// Records that the tenant has a call `span` long (end or start minus
    /// start), if that is longer than any before: it bounds
    /// [`MatchTx::candidates`]. Never shrinks.
    async fn widen_longest_call(
        &mut self,
        tenant: &TenantId,
        span: std::time::Duration,
    ) -> Result<(), StoreError>;
    /// The session ids of the group `group`, in order.
    async fn group_sessions(
        &mut self,
        tenant: &TenantId,
        group: &SessionId,
    ) -> Result<Vec<SessionId>, StoreError>;

    /// The event stored under `event_id`.
    async fn find_event(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<Option<EventSummary>, StoreError>;
    /// Stores a new event with its keys and attachment.
    async fn insert_event(
        &mut self,
        event: &NewCallEvent,
        keys: &[(String, Key)],
        attachment: Option<&Attachment>,
    ) -> Result<(), StoreError>;
    /// Pending events received at or after `expired_before` that named
    /// `session`.
    async fn waiting_for_session(
        &mut self,
        tenant: &TenantId,
        session: &SessionId,
        expired_before: Timestamp,
    ) -> Result<Vec<EventId>, StoreError>;
    /// The events a call having any of `keys` could claim or make
    /// ambiguous (see [`Reach`]), by two indexes: events without a session
    /// id whose indexed keys (see [`watched_keys`]) include one of `keys`,
    /// matched or pending (received at or after `reach.expired_before`);
    /// and events a rule attached to another call having one of `keys`, to
    /// it alone (looked up when the key's `to_calls`) or to its group (when
    /// `to_groups`).
    async fn events_sharing_keys(
        &mut self,
        tenant: &TenantId,
        keys: &[SharedKey],
        reach: &Reach,
    ) -> Result<Vec<EventId>, StoreError>;
    /// Events a rule attached to call `session`, to it alone or to its
    /// `group` through it, whose event time lies in `[from, to]`.
    async fn events_attached_by_rule(
        &mut self,
        tenant: &TenantId,
        session: &SessionId,
        group: Option<&SessionId>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<EventId>, StoreError>;
    /// The event stored under `event_id`, to match it again.
    async fn stored_event(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<Option<StoredEvent>, StoreError>;
    /// Sets (or clears) an event's attachment.
    async fn set_attachment(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
        attachment: Option<&Attachment>,
    ) -> Result<(), StoreError>;

    /// Removes every call key and event key of the tenant.
    async fn clear_keys(&mut self, tenant: &TenantId) -> Result<(), StoreError>;
    /// Calls after `after` in session id order, at most `limit`.
    async fn calls_after(
        &mut self,
        tenant: &TenantId,
        after: Option<&SessionId>,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError>;
    /// Adds the keys of a stored call.
    async fn insert_call_keys(
        &mut self,
        tenant: &TenantId,
        call: &Call,
        keys: &[Key],
    ) -> Result<(), StoreError>;
    /// Events without a session id after `after` in eventId order, at most
    /// `limit`.
    async fn keyed_events_after(
        &mut self,
        tenant: &TenantId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError>;
    /// Removes every indexed key of an event.
    async fn delete_event_keys(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<(), StoreError>;
    /// Indexes keys of a stored event that happened at `event_time`.
    async fn insert_event_keys(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
        event_time: Timestamp,
        keys: &[(String, Key)],
    ) -> Result<(), StoreError>;
}

/// Parsed rules by tenant and version: every event and call needs its
/// tenant's rules, and parsing them each time would cost more than the
/// matching. A version read (one index look-up) tells whether the cached
/// set is still the stored one, whichever process changed it.
#[derive(Default)]
pub struct RuleCache(Mutex<HashMap<TenantId, (i64, Arc<RuleSet>)>>);

impl RuleCache {
    /// The tenant's rules as stored in `tx` now.
    pub async fn get<T: MatchTx>(
        &self,
        tx: &mut T,
        tenant: &TenantId,
    ) -> Result<Arc<RuleSet>, StoreError> {
        Ok(self.versioned(tx, tenant).await?.1)
    }

    /// [`RuleCache::get`], with the version of the rules.
    async fn versioned<T: MatchTx>(
        &self,
        tx: &mut T,
        tenant: &TenantId,
    ) -> Result<(i64, Arc<RuleSet>), StoreError> {
        let version = tx.rules_version(tenant).await?;
        if let Some(rules) = self.cached(tenant, version) {
            return Ok((version, rules));
        }
        let rules = Arc::new(tx.rules(tenant).await?);
        self.entries()
            .insert(tenant.clone(), (version, Arc::clone(&rules)));
        Ok((version, rules))
    }

    /// The keys of `event` under its tenant's rules as last cached, taken
    /// before the event's transaction; `None` when it names its session
    /// or no rules are cached for its tenant yet.
    pub fn prepare_keys(&self, event: &NewCallEvent) -> Option<PreparedKeys> {
        if event.event.session_id.is_some() {
            return None;
        }
        let (version, rules) = self.entries().get(&event.tenant).cloned()?;
        Some(PreparedKeys {
            version,
            keys: keys_of(&event.event.metadata, &rules),
        })
    }

    fn cached(&self, tenant: &TenantId, version: i64) -> Option<Arc<RuleSet>> {
        match self.entries().get(tenant) {
            Some((cached, rules)) if *cached == version => Some(Arc::clone(rules)),
            _ => None,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, (i64, Arc<RuleSet>)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An event's keys under one version of its tenant's rules, taken outside
/// the event's transaction ([`RuleCache::prepare_keys`]): on SQLite that
/// is the request's thread rather than the single writer's. The transaction
/// uses them only if the rules are still at that version, since keys
/// depend on nothing else.
#[derive(Debug, Clone)]
pub struct PreparedKeys {
    version: i64,
    keys: Vec<(String, Key)>,
}

/// The attachment `event` has given the calls stored now: its session's
/// call if it named one, else the first rule (in order) with a candidate
/// inside its window, the nearest candidate winning.
pub async fn resolve<T: MatchTx>(
    tx: &mut T,
    tenant: &TenantId,
    rules: &RuleSet,
    event: &MatchInput,
) -> Result<Option<Attachment>, StoreError> {
    if let Some(session) = &event.session_id {
        let found = tx.has_call(tenant, session).await?;
        return Ok(found.then(|| Attachment::by_session(session.clone())));
    }
    for rule in rules.rules() {
        let (from, to) = window(event.event_time, rule);
        let mut candidates = Vec::new();
        for (_, key) in event.keys.iter().filter(|(name, _)| *name == rule.name) {
            candidates.extend(tx.candidates(tenant, key, from, to).await?);
        }
        if let Some(attachment) = choose(event.event_time, rule, &candidates) {
            return Ok(Some(attachment));
        }
    }
    Ok(None)
}

/// The keys of an event's metadata under `rules`, by rule name.
fn keys_of(metadata: &Map<String, Value>, rules: &RuleSet) -> Vec<(String, Key)> {
    event_keys(metadata, rules)
        .into_iter()
        .flat_map(|(rule, keys)| keys.into_iter().map(|key| (rule.name.clone(), key)))
        .collect()
}

/// The keys of `keys` a call could claim the event by, attached as it is
/// (see the module's introduction): all of them while it is attached
/// nowhere, none when it named its session, and when a rule attached it,
/// those of the rules before that one. The attaching rule's own key is left
/// out only when the event has one value for it: with several, a call could
/// compete through a value the attached call does not have.
pub fn watched_keys(
    keys: &[(String, Key)],
    attachment: Option<&Attachment>,
    rules: &RuleSet,
) -> Vec<(String, Key)> {
    let attaching = match attachment.map(|attached| &attached.matched_by) {
        None => return keys.to_vec(),
        Some(MatchedBy::SessionId) => return Vec::new(),
        Some(MatchedBy::Rule(name)) => name,
    };
    let Some(position) = rules
        .rules()
        .iter()
        .position(|rule| rule.name == *attaching)
    else {
        return keys.to_vec();
    };
    let own = keys.iter().filter(|(name, _)| name == attaching).count();
    let watched = &rules.rules()[..if own > 1 { position + 1 } else { position }];
    keys.iter()
        .filter(|(name, _)| watched.iter().any(|rule| rule.name == *name))
        .cloned()
        .collect()
}

/// Stores an out-of-band event and attaches it if a call matches now;
/// `prepared`, its keys if they were taken beforehand.
pub async fn insert_call_event<T: MatchTx>(
    tx: &mut T,
    cache: &RuleCache,
    event: &NewCallEvent,
    prepared: Option<PreparedKeys>,
    expired_before: Timestamp,
) -> Result<CallEventOutcome, StoreError> {
    let tenant = &event.tenant;
    let stored = if event.generated_id {
        None
    } else {
        tx.find_event(tenant, &event.event_id).await?
    };
    if let Some(stored) = stored {
        if stored.content_hash != event.event.content_hash {
            return Ok(CallEventOutcome::Conflict);
        }
        let state = state_of(
            tx,
            tenant,
            stored.attachment.as_ref(),
            stored.received_at,
            expired_before,
        )
        .await?;
        return Ok(CallEventOutcome::Duplicate(state));
    }
    let (version, rules) = cache.versioned(tx, tenant).await?;
    let keys = match (&event.event.session_id, prepared) {
        (Some(_), _) => Vec::new(),
        (None, Some(prepared)) if prepared.version == version => prepared.keys,
        (None, _) => keys_of(&event.event.metadata, &rules),
    };
    let input = MatchInput {
        session_id: event.event.session_id.clone(),
        event_time: event.event.event_time,
        keys,
        attachment: None,
    };
    let attachment = resolve(tx, tenant, &rules, &input).await?;
    let watched = watched_keys(&input.keys, attachment.as_ref(), &rules);
    tx.insert_event(event, &watched, attachment.as_ref())
        .await?;
    let state = state_of(
        tx,
        tenant,
        attachment.as_ref(),
        event.received_at,
        expired_before,
    )
    .await?;
    Ok(CallEventOutcome::Stored(state))
}

/// An event's standing: its status and the calls it belongs to.
pub async fn state_of<T: MatchTx>(
    tx: &mut T,
    tenant: &TenantId,
    attachment: Option<&Attachment>,
    received_at: Timestamp,
    expired_before: Timestamp,
) -> Result<EventState, StoreError> {
    let session_ids = match attachment {
        None => Vec::new(),
        Some(Attachment {
            group: Some(group), ..
        }) => tx.group_sessions(tenant, group).await?,
        Some(attachment) => vec![attachment.session_id.clone()],
    };
    Ok(EventState {
        status: EventStatus::of(attachment, received_at, expired_before),
        session_ids,
    })
}

/// Stores a batch of calls, in order, and re-resolves every event whose
/// attachment they may change.
pub async fn put_calls<T: MatchTx>(
    tx: &mut T,
    cache: &RuleCache,
    batch: &CallBatch,
) -> Result<CallsWritten, StoreError> {
    let tenant = &batch.tenant;
    let rules = cache.get(tx, tenant).await?;
    let widest = rules
        .rules()
        .iter()
        .map(|rule| rule.window_seconds)
        .max()
        .unwrap_or(0);
    if let Some(longest) = batch.calls.iter().map(span).max() {
        tx.widen_longest_call(tenant, longest).await?;
    }
    let kinds = targets(&rules);
    let mut outcomes = Vec::with_capacity(batch.calls.len());
    let mut late_matches = 0;
    for call in &batch.calls {
        let keys = call_keys(call, &rules);
        let old = tx.find_call(tenant, &call.session_id).await?;
        let old_keys = old.as_ref().map(|old| call_keys(old, &rules));
        let replaced = old.as_ref().zip(old_keys.as_deref());
        tx.write_call(tenant, call, &keys, replaced, batch.received_at)
            .await?;
        outcomes.push(match old {
            Some(_) => CallOutcome::Updated,
            None => CallOutcome::Created,
        });
        let mut affected = tx
            .waiting_for_session(tenant, &call.session_id, batch.expired_before)
            .await?;
        let mut touched = keys;
        touched.extend(old_keys.unwrap_or_default());
        touched.sort();
        touched.dedup();
        // An event a rule can attach to this call, as it was or as it is
        // now, happened within the widest window of either.
        let times = |call: &Call| {
            (
                call.start_time.plus_seconds(-widest),
                call.end().plus_seconds(widest),
            )
        };
        let (mut from, mut to) = times(call);
        if let Some(old) = &old {
            let (old_from, old_to) = times(old);
            (from, to) = (from.min(old_from), to.max(old_to));
            // What a rule attached to the old version may belong elsewhere.
            affected.extend(
                tx.events_attached_by_rule(
                    tenant,
                    &old.session_id,
                    old.master_call_id.as_ref(),
                    from,
                    to,
                )
                .await?,
            );
        }
        if !touched.is_empty() {
            // Events attached to this call were found through its old
            // version; a rule attached other events by one of these keys to
            // calls that have the key too, within the widest window.
            let reach = Reach {
                session_id: call.session_id.clone(),
                from,
                to,
                calls_from: from.plus_seconds(-widest),
                calls_to: to.plus_seconds(widest),
                expired_before: batch.expired_before,
            };
            let shared: Vec<SharedKey> = touched
                .into_iter()
                .map(|key| {
                    let (to_calls, to_groups) =
                        kinds.get(&key.kind).copied().unwrap_or((false, false));
                    SharedKey {
                        key,
                        to_calls,
                        to_groups,
                    }
                })
                .collect();
            affected.extend(tx.events_sharing_keys(tenant, &shared, &reach).await?);
        }
        affected.sort();
        affected.dedup();
        for event_id in affected {
            late_matches +=
                u64::from(rematch(tx, tenant, &rules, &event_id, Indexed::Watched).await?);
        }
    }
    Ok(CallsWritten {
        outcomes,
        late_matches,
    })
}

/// How long `call` lasts: from its start to its end (or start).
fn span(call: &Call) -> std::time::Duration {
    let micros = (call.end().as_micros() - call.start_time.as_micros()).max(0);
    std::time::Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

/// Per key kind of the rules: whether they may attach events to a call
/// alone (any of them: a `callGroup` rule does so for a call without a
/// group), and to a call group. An event a rule of another kind attached is
/// found by the key of that kind, or by an indexed key of an earlier rule.
fn targets(rules: &RuleSet) -> HashMap<String, (bool, bool)> {
    let mut kinds = HashMap::new();
    for rule in rules.rules() {
        let (_, groups) = kinds.entry(Key::kind_of(rule)).or_insert((true, false));
        *groups |= rule.target == Target::CallGroup;
    }
    kinds
}

/// Which of an event's keys are indexed when it is matched again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Indexed {
    /// Those [`watched_keys`] gives for its stored attachment (or more,
    /// for an event stored before keys were indexed this way).
    Watched,
    /// None: the rules changed and every key was removed.
    Cleared,
}

/// Resolves a stored event again, records a changed attachment and indexes
/// the keys that attachment leaves a call to claim it by; whether an event
/// that was attached nowhere is attached now.
async fn rematch<T: MatchTx>(
    tx: &mut T,
    tenant: &TenantId,
    rules: &RuleSet,
    event_id: &EventId,
    indexed: Indexed,
) -> Result<bool, StoreError> {
    let Some(stored) = tx.stored_event(tenant, event_id).await? else {
        return Ok(false);
    };
    let input = MatchInput {
        keys: match stored.session_id {
            Some(_) => Vec::new(),
            None => keys_of(&stored.metadata, rules),
        },
        session_id: stored.session_id,
        event_time: stored.event_time,
        attachment: stored.attachment,
    };
    let attachment = resolve(tx, tenant, rules, &input).await?;
    let watched = watched_keys(&input.keys, attachment.as_ref(), rules);
    let rekey = match indexed {
        Indexed::Cleared => true,
        Indexed::Watched => watched != watched_keys(&input.keys, input.attachment.as_ref(), rules),
    };
    if rekey {
        if indexed == Indexed::Watched {
            tx.delete_event_keys(tenant, event_id).await?;
        }
        tx.insert_event_keys(tenant, event_id, input.event_time, &watched)
            .await?;
    }
    if attachment == input.attachment {
        return Ok(false);
    }
    tx.set_attachment(tenant, event_id, attachment.as_ref())
        .await?;
    Ok(input.attachment.is_none())
}

/// Replaces the tenant's rules, re-keys every call and every event without
/// a session id, and re-resolves those events: pending and unmatched ones
/// get another chance, matched ones follow the new rules. Returns how many
/// events that were attached nowhere it attached.
pub async fn put_rules<T: MatchTx>(
    tx: &mut T,
    tenant: &TenantId,
    rules: &RuleSet,
    at: Timestamp,
) -> Result<u64, StoreError> {
    let mut late_matches = 0;
    tx.replace_rules(tenant, rules, at).await?;
    tx.clear_keys(tenant).await?;
    let mut after: Option<SessionId> = None;
    loop {
        let calls = tx.calls_after(tenant, after.as_ref(), REKEY_PAGE).await?;
        for call in &calls {
            tx.insert_call_keys(tenant, call, &call_keys(call, rules))
                .await?;
        }
        match calls.last() {
            Some(last) if calls.len() == REKEY_PAGE => after = Some(last.session_id.clone()),
            _ => break,
        }
    }
    let mut after: Option<EventId> = None;
    loop {
        let events = tx
            .keyed_events_after(tenant, after.as_ref(), REKEY_PAGE)
            .await?;
        for event_id in &events {
            late_matches +=
                u64::from(rematch(tx, tenant, rules, event_id, Indexed::Cleared).await?);
        }
        match events.last() {
            Some(last) if events.len() == REKEY_PAGE => after = Some(last.clone()),
            _ => break,
        }
    }
    Ok(late_matches)
}
