//! Calls, out-of-band events and matching rules on PostgreSQL: the
//! [`MatchTx`] seam on one transaction, and the reads.
//!
//! Every matching transaction first takes the tenant's advisory lock, so
//! matching decisions of one tenant are made one after another across all
//! nodes: a call and an event arriving at two nodes at once cannot both
//! miss each other. Other tenants, and the ASAPP endpoints, never wait on it.

use deadpool_postgres::{Client, GenericClient, Transaction};
use inlet_domain::{EventId, TenantId, Timestamp};
use inlet_match::{Attachment, Call, Candidate, Key, MatchedBy, RuleSet, SessionId, Via};
use inlet_store::matching::{EventSummary, MatchTx, Reach, SharedKey, StoredEvent};
use inlet_store::{
    AttachedEvent, CallEventQuery, CallEventView, CallView, EventStatus, NewCallEvent, Page,
    Position, StoreError, stored,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::error::store_error;

/// The events a call having any of the keys `$2`/`$3` could claim or make
/// ambiguous (see `MatchTx::events_sharing_keys`).
///
/// Each key drives its own index look-ups, in `LATERAL` subqueries that
/// `OFFSET 0` keeps the planner from flattening. As plain joins the planner
/// was free to order them, and on young tables (no statistics yet; a cached
/// generic plan) it read `call_keys` by tenant and time only, every key of
/// the tenant for each call registered: registration slowed with every call
/// stored (270 calls/s at 20,000 calls).
const SHARING_KEYS: &str = "WITH wanted AS (SELECT * FROM unnest($2::text[], $3::text[], \
     $10::bool[], $11::bool[]) AS u(kind, value, to_calls, to_groups)), \
     others AS (SELECT c.session_id, c.master_call_id, u.to_calls, u.to_groups \
     FROM wanted u CROSS JOIN LATERAL (SELECT session_id, master_call_id \
     FROM call_keys WHERE tenant = $1 AND kind = u.kind AND value = u.value \
     AND start_time <= $8 AND start_time >= $7 - coalesce((SELECT longest \
     FROM call_spans WHERE tenant = $1), 0) AND end_time >= $7 \
     AND session_id <> $9 OFFSET 0) c) \
     SELECT k.event_id FROM wanted u CROSS JOIN LATERAL (SELECT event_id \
     FROM event_keys WHERE tenant = $1 AND kind = u.kind AND value = u.value \
     AND event_time BETWEEN $5 AND $6 OFFSET 0) k \
     CROSS JOIN LATERAL (SELECT 1 FROM call_events WHERE tenant = $1 \
     AND event_id = k.event_id \
     AND (matched_session IS NOT NULL OR received_at >= $4) OFFSET 0) e \
     UNION SELECT e.event_id FROM others c CROSS JOIN LATERAL (SELECT event_id \
     FROM call_events WHERE tenant = $1 AND matched_session = c.session_id \
     AND matched_group IS NULL AND matched_by <> 'sessionId' \
     AND event_time BETWEEN $5 AND $6 OFFSET 0) e WHERE c.to_calls \
     UNION SELECT e.event_id FROM others c CROSS JOIN LATERAL (SELECT event_id \
     FROM call_events WHERE tenant = $1 AND matched_group = c.master_call_id \
     AND matched_session = c.session_id AND event_time BETWEEN $5 AND $6 \
     OFFSET 0) e WHERE c.to_groups";

/// One transaction, seen by the matching code.
pub(crate) struct PgMatch<'a>(pub(crate) &'a Transaction<'a>);

type Param<'a> = &'a (dyn ToSql + Sync);

/// The attachment stored in columns `session, group, matched_by, ambiguous`
/// starting at `first`.
fn attachment(row: &Row, first: usize) -> Result<Option<Attachment>, StoreError> {
    stored::attachment(
        row.get(first),
        row.get(first + 1),
        row.get(first + 2),
        row.get(first + 3),
    )
}

impl PgMatch<'_> {
    async fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        let statement = self.0.prepare_cached(sql).await.map_err(store_error)?;
        self.0.query(&statement, params).await.map_err(store_error)
    }

    async fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        let statement = self.0.prepare_cached(sql).await.map_err(store_error)?;
        self.0
            .execute(&statement, params)
            .await
            .map_err(store_error)
    }

    /// Serialises the tenant's matching decisions across nodes, until the
    /// transaction ends.
    pub(crate) async fn lock_tenant(&self, tenant: &TenantId) -> Result<(), StoreError> {
        self.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('inlet-calls:' || $1, 0))",
            &[&tenant.as_str()],
        )
        .await
        .map(|_| ())
    }
}

/// The tenant's rules.
pub(crate) async fn rules(client: &Client, tenant: &TenantId) -> Result<RuleSet, StoreError> {
    let statement = client
        .prepare_cached("SELECT rules FROM matching_rules WHERE tenant = $1")
        .await
        .map_err(store_error)?;
    let row = client
        .query_opt(&statement, &[&tenant.as_str()])
        .await
        .map_err(store_error)?;
    stored::rules(row.as_ref().map(|row| row.get(0)))
}

impl MatchTx for PgMatch<'_> {
    async fn rules_version(&mut self, tenant: &TenantId) -> Result<i64, StoreError> {
        let rows = self
            .query(
                "SELECT version FROM matching_rules WHERE tenant = $1",
                &[&tenant.as_str()],
            )
            .await?;
        Ok(rows.first().map_or(0, |row| row.get(0)))
    }

    async fn rules(&mut self, tenant: &TenantId) -> Result<RuleSet, StoreError> {
        let rows = self
            .query(
                "SELECT rules FROM matching_rules WHERE tenant = $1",
                &[&tenant.as_str()],
            )
            .await?;
        stored::rules(rows.first().map(|row| row.get(0)))
    }

    async fn replace_rules(
        &mut self,
        tenant: &TenantId,
        rules: &RuleSet,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO matching_rules (tenant, rules, updated_at, version) \
             VALUES ($1, $2, $3, 1) ON CONFLICT (tenant) DO UPDATE SET rules = excluded.rules, \
             updated_at = excluded.updated_at, version = matching_rules.version + 1",
            &[
                &tenant.as_str(),
                &rules.to_json().to_string(),
                &at.as_micros(),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn has_call(
        &mut self,
        tenant: &TenantId,
        session: &SessionId,
    ) -> Result<bool, StoreError> {
        let rows = self
            .query(
                "SELECT 1 FROM calls WHERE tenant = $1 AND session_id = $2",
                &[&tenant.as_str(), &session.as_str()],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn find_call(
        &mut self,
        tenant: &TenantId,
        session: &SessionId,
    ) -> Result<Option<Call>, StoreError> {
        let rows = self
            .query(
                "SELECT call FROM calls WHERE tenant = $1 AND session_id = $2",
                &[&tenant.as_str(), &session.as_str()],
            )
            .await?;
        rows.first().map(|row| stored::call(row.get(0))).transpose()
    }

    async fn write_call(
        &mut self,
        tenant: &TenantId,
        call: &Call,
        keys: &[Key],
        old: Option<(&Call, &[Key])>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if let Some((old, old_keys)) = old {
            let kinds: Vec<&str> = old_keys.iter().map(|key| key.kind.as_str()).collect();
            let values: Vec<&str> = old_keys.iter().map(|key| key.value.as_str()).collect();
            self.execute(
                "DELETE FROM call_keys k USING unnest($2::text[], $3::text[]) AS u(kind, value) \
                 WHERE k.tenant = $1 AND k.kind = u.kind AND k.value = u.value \
                 AND k.start_time = $4 AND k.session_id = $5",
                &[
                    &tenant.as_str(),
                    &kinds,
                    &values,
                    &old.start_time.as_micros(),
                    &old.session_id.as_str(),
                ],
            )
            .await?;
        }
        self.execute(
            "INSERT INTO calls (tenant, session_id, master_call_id, start_time, end_time, call, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (tenant, session_id) DO UPDATE SET \
             master_call_id = excluded.master_call_id, start_time = excluded.start_time, \
             end_time = excluded.end_time, call = excluded.call, updated_at = excluded.updated_at",
            &[
                &tenant.as_str(),
                &call.session_id.as_str(),
                &call.master_call_id.as_ref().map(SessionId::as_str),
                &call.start_time.as_micros(),
                &call.end_time.map(Timestamp::as_micros),
                &call.to_json().to_string(),
                &at.as_micros(),
            ],
        )
        .await?;
        self.insert_call_keys(tenant, call, keys).await
    }

    async fn candidates(
        &mut self,
        tenant: &TenantId,
        key: &Key,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Candidate>, StoreError> {
        let rows = self
            .query(
                "SELECT session_id, master_call_id, start_time, end_time FROM call_keys \
                 WHERE tenant = $1 AND kind = $2 AND value = $3 AND start_time <= $4 \
                 AND start_time >= $5 - coalesce((SELECT longest FROM call_spans \
                 WHERE tenant = $1), 0) AND end_time >= $5",
                &[
                    &tenant.as_str(),
                    &key.kind,
                    &key.value,
                    &to.as_micros(),
                    &from.as_micros(),
                ],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Candidate {
                    session_id: stored::session(row.get(0))?,
                    master_call_id: stored::optional_session(row.get(1))?,
                    start_time: Timestamp::from_micros(row.get(2)),
                    end_time: Some(Timestamp::from_micros(row.get(3))),
                })
            })
            .collect()
    }

    async fn widen_longest_call(
        &mut self,
        tenant: &TenantId,
        span: std::time::Duration,
    ) -> Result<(), StoreError> {
        let micros = i64::try_from(span.as_micros()).unwrap_or(i64::MAX);
        // Two statements, not one upsert: `ON CONFLICT DO UPDATE` locks the
        // row even when its WHERE is false, and every node's call writes
        // would queue on it. These lock it only when the span grows.
        self.execute(
            "INSERT INTO call_spans (tenant, longest) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&tenant.as_str(), &micros],
        )
        .await?;
        self.execute(
            "UPDATE call_spans SET longest = $2 WHERE tenant = $1 AND longest < $2",
            &[&tenant.as_str(), &micros],
        )
        .await
        .map(|_| ())
    }

    async fn group_sessions(
        &mut self,
        tenant: &TenantId,
        group: &SessionId,
    ) -> Result<Vec<SessionId>, StoreError> {
        let rows = self
            .query(
                "SELECT session_id FROM calls WHERE tenant = $1 AND master_call_id = $2 \
                 ORDER BY session_id",
                &[&tenant.as_str(), &group.as_str()],
            )
            .await?;
        rows.iter().map(|row| stored::session(row.get(0))).collect()
    }

    async fn find_event(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<Option<EventSummary>, StoreError> {
        let rows = self
            .query(
                "SELECT content_hash, received_at, matched_session, matched_group, matched_by, \
                 ambiguous FROM call_events WHERE tenant = $1 AND event_id = $2",
                &[&tenant.as_str(), &event_id.as_str()],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let hash: Vec<u8> = row.get(0);
        Ok(Some(EventSummary {
            content_hash: hash
                .try_into()
                .map_err(|_| stored::corrupt("content hash"))?,
            received_at: Timestamp::from_micros(row.get(1)),
            attachment: attachment(row, 2)?,
        }))
    }

    async fn insert_event(
        &mut self,
        event: &NewCallEvent,
        keys: &[(String, Key)],
        attachment: Option<&Attachment>,
    ) -> Result<(), StoreError> {
        let body = &event.event;
        let metadata = stored::metadata_text(&body.metadata)?;
        self.execute(
            "INSERT INTO call_events (tenant, event_id, content_hash, session_id, event_time, \
             received_at, api_id, request_id, metadata, matched_session, matched_group, \
             matched_by, ambiguous) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                &event.tenant.as_str(),
                &event.event_id.as_str(),
                &&body.content_hash[..],
                &body.session_id.as_ref().map(SessionId::as_str),
                &body.event_time.as_micros(),
                &event.received_at.as_micros(),
                &event.api_id.as_str(),
                &event.request_id.as_str(),
                &metadata,
                &attachment.map(|a| a.session_id.as_str()),
                &attachment.and_then(|a| a.group.as_ref().map(SessionId::as_str)),
                &attachment.map(|a| a.matched_by.label()),
                &attachment.is_some_and(|a| a.ambiguous),
            ],
        )
        .await?;
        self.insert_event_keys(&event.tenant, &event.event_id, event.event.event_time, keys)
            .await
    }

    async fn waiting_for_session(
        &mut self,
        tenant: &TenantId,
        session: &SessionId,
        expired_before: Timestamp,
    ) -> Result<Vec<EventId>, StoreError> {
        let rows = self
            .query(
                "SELECT event_id FROM call_events WHERE tenant = $1 AND session_id = $2 \
                 AND matched_session IS NULL AND received_at >= $3",
                &[
                    &tenant.as_str(),
                    &session.as_str(),
                    &expired_before.as_micros(),
                ],
            )
            .await?;
        rows.iter()
            .map(|row| stored::event_id(row.get(0)))
            .collect()
    }

    async fn events_sharing_keys(
        &mut self,
        tenant: &TenantId,
        keys: &[SharedKey],
        reach: &Reach,
    ) -> Result<Vec<EventId>, StoreError> {
        let kinds: Vec<&str> = keys.iter().map(|shared| shared.key.kind.as_str()).collect();
        let values: Vec<&str> = keys
            .iter()
            .map(|shared| shared.key.value.as_str())
            .collect();
        let to_calls: Vec<bool> = keys.iter().map(|shared| shared.to_calls).collect();
        let to_groups: Vec<bool> = keys.iter().map(|shared| shared.to_groups).collect();
        let rows = self
            .query(
                SHARING_KEYS,
                &[
                    &tenant.as_str(),
                    &kinds,
                    &values,
                    &reach.expired_before.as_micros(),
                    &reach.from.as_micros(),
                    &reach.to.as_micros(),
                    &reach.calls_from.as_micros(),
                    &reach.calls_to.as_micros(),
                    &reach.session_id.as_str(),
                    &to_calls,
                    &to_groups,
                ],
            )
            .await?;
        rows.iter()
            .map(|row| stored::event_id(row.get(0)))
            .collect()
    }

    async fn events_attached_by_rule(
        &mut self,
        tenant: &TenantId,
        session: &SessionId,
        group: Option<&SessionId>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<EventId>, StoreError> {
        // Each branch on its own partial index: the call's events, its group's.
        let rows = self
            .query(
                "SELECT event_id FROM call_events WHERE tenant = $1 AND matched_session = $2 \
                 AND matched_group IS NULL AND matched_by <> 'sessionId' \
                 AND event_time BETWEEN $4 AND $5 \
                 UNION ALL SELECT event_id FROM call_events WHERE tenant = $1 \
                 AND matched_group = $3 AND matched_session = $2 \
                 AND event_time BETWEEN $4 AND $5",
                &[
                    &tenant.as_str(),
                    &session.as_str(),
                    &group.map(SessionId::as_str),
                    &from.as_micros(),
                    &to.as_micros(),
                ],
            )
            .await?;
        rows.iter()
            .map(|row| stored::event_id(row.get(0)))
            .collect()
    }

    async fn stored_event(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<Option<StoredEvent>, StoreError> {
        let rows = self
            .query(
                "SELECT session_id, event_time, metadata, matched_session, matched_group, \
                 matched_by, ambiguous FROM call_events WHERE tenant = $1 AND event_id = $2",
                &[&tenant.as_str(), &event_id.as_str()],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(StoredEvent {
            session_id: stored::optional_session(row.get(0))?,
            event_time: Timestamp::from_micros(row.get(1)),
            metadata: stored::metadata(row.get(2))?,
            attachment: attachment(row, 3)?,
        }))
    }

    async fn set_attachment(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
        attachment: Option<&Attachment>,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE call_events SET matched_session = $3, matched_group = $4, matched_by = $5, \
             ambiguous = $6 WHERE tenant = $1 AND event_id = $2",
            &[
                &tenant.as_str(),
                &event_id.as_str(),
                &attachment.map(|a| a.session_id.as_str()),
                &attachment.and_then(|a| a.group.as_ref().map(SessionId::as_str)),
                &attachment.map(|a| a.matched_by.label()),
                &attachment.is_some_and(|a| a.ambiguous),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn clear_keys(&mut self, tenant: &TenantId) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM call_keys WHERE tenant = $1",
            &[&tenant.as_str()],
        )
        .await?;
        self.execute(
            "DELETE FROM event_keys WHERE tenant = $1",
            &[&tenant.as_str()],
        )
        .await?;
        Ok(())
    }

    async fn calls_after(
        &mut self,
        tenant: &TenantId,
        after: Option<&SessionId>,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError> {
        let rows = self
            .query(
                "SELECT call FROM calls WHERE tenant = $1 AND session_id > $2 \
                 ORDER BY session_id LIMIT $3",
                &[
                    &tenant.as_str(),
                    &after.map_or("", SessionId::as_str),
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                ],
            )
            .await?;
        rows.iter().map(|row| stored::call(row.get(0))).collect()
    }

    async fn insert_call_keys(
        &mut self,
        tenant: &TenantId,
        call: &Call,
        keys: &[Key],
    ) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let kinds: Vec<&str> = keys.iter().map(|key| key.kind.as_str()).collect();
        let values: Vec<&str> = keys.iter().map(|key| key.value.as_str()).collect();
        let end = call.end();
        self.execute(
            "INSERT INTO call_keys (tenant, kind, value, start_time, session_id, end_time, \
             master_call_id) SELECT $1, u.kind, u.value, $4, $5, $6, $7 \
             FROM unnest($2::text[], $3::text[]) AS u(kind, value) ON CONFLICT DO NOTHING",
            &[
                &tenant.as_str(),
                &kinds,
                &values,
                &call.start_time.as_micros(),
                &call.session_id.as_str(),
                &end.as_micros(),
                &call.master_call_id.as_ref().map(SessionId::as_str),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn keyed_events_after(
        &mut self,
        tenant: &TenantId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError> {
        let rows = self
            .query(
                "SELECT event_id FROM call_events WHERE tenant = $1 \
                 AND event_id > $2 AND session_id IS NULL ORDER BY event_id LIMIT $3",
                &[
                    &tenant.as_str(),
                    &after.map_or("", EventId::as_str),
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                ],
            )
            .await?;
        rows.iter()
            .map(|row| stored::event_id(row.get(0)))
            .collect()
    }

    async fn delete_event_keys(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM event_keys WHERE tenant = $1 AND event_id = $2",
            &[&tenant.as_str(), &event_id.as_str()],
        )
        .await
        .map(|_| ())
    }

    async fn insert_event_keys(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
        event_time: Timestamp,
        keys: &[(String, Key)],
    ) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let rules: Vec<&str> = keys.iter().map(|(rule, _)| rule.as_str()).collect();
        let kinds: Vec<&str> = keys.iter().map(|(_, key)| key.kind.as_str()).collect();
        let values: Vec<&str> = keys.iter().map(|(_, key)| key.value.as_str()).collect();
        self.execute(
            "INSERT INTO event_keys (tenant, kind, value, event_time, event_id, rule) \
             SELECT $1, u.kind, u.value, $6, $2, u.rule \
             FROM unnest($3::text[], $4::text[], $5::text[]) AS u(rule, kind, value) \
             ON CONFLICT DO NOTHING",
            &[
                &tenant.as_str(),
                &event_id.as_str(),
                &rules,
                &kinds,
                &values,
                &event_time.as_micros(),
            ],
        )
        .await
        .map(|_| ())
    }
}

/// A call with its group and attached events.
pub(crate) async fn call_view(
    client: &mut Client,
    tenant: &TenantId,
    session_id: &SessionId,
) -> Result<Option<CallView>, StoreError> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(store_error)?;
    let mut reads = PgMatch(&tx);
    let rows = reads
        .query(
            "SELECT call, created_at, updated_at FROM calls WHERE tenant = $1 AND session_id = $2",
            &[&tenant.as_str(), &session_id.as_str()],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let call = stored::call(row.get(0))?;
    let (created_at, updated_at): (i64, i64) = (row.get(1), row.get(2));
    let group_sessions = match &call.master_call_id {
        Some(group) => reads.group_sessions(tenant, group).await?,
        None => Vec::new(),
    };
    let rows = reads
        .query(
            "SELECT event_id, event_time, received_at, metadata, matched_by, matched_group, \
             ambiguous FROM call_events WHERE tenant = $1 \
             AND ((matched_session = $2 AND matched_group IS NULL) OR matched_group = $3) \
             ORDER BY event_time, received_at, event_id",
            &[
                &tenant.as_str(),
                &session_id.as_str(),
                &call.master_call_id.as_ref().map(SessionId::as_str),
            ],
        )
        .await?;
    let events = rows
        .iter()
        .map(|row| {
            let by: String = row.get(4);
            let group: Option<String> = row.get(5);
            Ok(AttachedEvent {
                event_id: stored::event_id(row.get(0))?,
                event_time: Timestamp::from_micros(row.get(1)),
                received_at: Timestamp::from_micros(row.get(2)),
                metadata: stored::metadata(row.get(3))?,
                matched_by: MatchedBy::from_label(&by)
                    .ok_or_else(|| stored::corrupt("matched_by"))?,
                via: if group.is_some() {
                    Via::CallGroup
                } else {
                    Via::Call
                },
                ambiguous: row.get(6),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Some(CallView {
        call,
        created_at: Timestamp::from_micros(created_at),
        updated_at: Timestamp::from_micros(updated_at),
        group_sessions,
        events,
    }))
}

/// A page of the tenant's events in `(tx, seq)` order behind the safe
/// horizon (see `inlet_store::Position`).
pub(crate) async fn call_events(
    client: &Client,
    tenant: &TenantId,
    query: CallEventQuery,
) -> Result<Page<CallEventView>, StoreError> {
    let status_filter = match query.status {
        None => "",
        Some(EventStatus::Matched) => "AND matched_session IS NOT NULL",
        Some(EventStatus::Pending) => "AND matched_session IS NULL AND received_at >= $4::int8",
        Some(EventStatus::Unmatched) => "AND matched_session IS NULL AND received_at < $4::int8",
    };
    // `$4::int8 = $4::int8` keeps the parameter count (and type) the same
    // whatever the filter.
    let sql = format!(
        "SELECT tx::text::int8, seq, event_id, session_id, event_time, received_at, metadata, \
         matched_session, matched_group, matched_by, ambiguous FROM call_events \
         WHERE tenant = $1 AND (tx, seq) > ($2::int8::text::xid8, $3) \
         AND tx < pg_snapshot_xmin(pg_current_snapshot()) AND $4::int8 = $4::int8 {status_filter} \
         ORDER BY tx, seq LIMIT $5"
    );
    let after = query.after.unwrap_or(Position::START);
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let statement = client.prepare_cached(&sql).await.map_err(store_error)?;
    let rows = client
        .query(
            &statement,
            &[
                &tenant.as_str(),
                &i64::try_from(after.epoch).unwrap_or(i64::MAX),
                &after.seq,
                &query.expired_before.as_micros(),
                &limit.saturating_add(1),
            ],
        )
        .await
        .map_err(store_error)?;
    let mut items = rows
        .iter()
        .map(|row| {
            let received_at = Timestamp::from_micros(row.get(5));
            let attached = attachment(row, 7)?;
            Ok(CallEventView {
                position: Position {
                    epoch: u64::try_from(row.get::<_, i64>(0)).unwrap_or(0),
                    seq: row.get(1),
                },
                event_id: stored::event_id(row.get(2))?,
                session_id: stored::optional_session(row.get(3))?,
                event_time: Timestamp::from_micros(row.get(4)),
                received_at,
                metadata: stored::metadata(row.get(6))?,
                status: EventStatus::of(attached.as_ref(), received_at, query.expired_before),
                attachment: attached,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let has_more = items.len() > query.limit;
    items.truncate(query.limit);
    Ok(Page { items, has_more })
}

/// The token-signing secret: `candidate` stored if there is none yet.
pub(crate) async fn token_secret(
    client: &Client,
    candidate: [u8; 32],
) -> Result<[u8; 32], StoreError> {
    client
        .execute(
            "INSERT INTO secrets (name, value) VALUES ('token', $1) ON CONFLICT DO NOTHING",
            &[&&candidate[..]],
        )
        .await
        .map_err(store_error)?;
    let row = client
        .query_one("SELECT value FROM secrets WHERE name = 'token'", &[])
        .await
        .map_err(store_error)?;
    let stored: Vec<u8> = row.get(0);
    stored
        .try_into()
        .map_err(|_| stored::corrupt("token secret"))
}

/// Events attached nowhere received in `[horizon, expired_before)`, where
/// `horizon` is where the last sweep stopped (read with a row lock when
/// `lock`): `None` when that is past `expired_before` already.
async fn unmatched_since_last_sweep(
    client: &impl GenericClient,
    expired_before: Timestamp,
    lock: bool,
) -> Result<Option<u64>, StoreError> {
    let horizon_query = if lock {
        "SELECT horizon FROM sweeps WHERE name = 'call_events_unmatched' FOR UPDATE"
    } else {
        "SELECT horizon FROM sweeps WHERE name = 'call_events_unmatched'"
    };
    let horizon: i64 = client
        .query_one(horizon_query, &[])
        .await
        .map_err(store_error)?
        .get(0);
    let until = expired_before.as_micros();
    if until <= horizon {
        return Ok(None);
    }
    let count: i64 = client
        .query_one(
            "SELECT count(*) FROM call_events WHERE matched_session IS NULL \
             AND received_at >= $1 AND received_at < $2",
            &[&horizon, &until],
        )
        .await
        .map_err(store_error)?
        .get(0);
    Ok(Some(u64::try_from(count).unwrap_or(0)))
}

/// See `Store::sweep_unmatched`. Sweeps with nothing to count write
/// nothing; the row lock on the horizon makes concurrent sweeps from
/// several nodes count each event once.
pub(crate) async fn sweep_unmatched(
    client: &mut Client,
    expired_before: Timestamp,
) -> Result<u64, StoreError> {
    let unlocked = unmatched_since_last_sweep(&*client, expired_before, false).await?;
    if unlocked.is_none_or(|count| count == 0) {
        return Ok(0);
    }
    let tx = client.transaction().await.map_err(store_error)?;
    let Some(count) = unmatched_since_last_sweep(&tx, expired_before, true).await? else {
        return Ok(0);
    };
    tx.execute(
        "UPDATE sweeps SET horizon = $1 WHERE name = 'call_events_unmatched'",
        &[&expired_before.as_micros()],
    )
    .await
    .map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::ScratchDatabase;

    /// The generic plan of `SHARING_KEYS` on a fresh schema (empty tables,
    /// no statistics: where the planner went wrong before) finds each key's
    /// calls and events by the key, never by the tenant alone.
    #[tokio::test]
    async fn sharing_keys_looks_up_each_key_by_its_index() {
        let Some(database) = ScratchDatabase::create("the plan of SHARING_KEYS").await else {
            return;
        };
        drop(
            crate::PgStore::connect(&crate::PgSettings::new(database.url()))
                .await
                .expect("schema"),
        );
        let (client, connection) = tokio_postgres::connect(database.url(), tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "SET plan_cache_mode = force_generic_plan; PREPARE sharing AS {SHARING_KEYS}"
            ))
            .await
            .expect("prepare");
        let plan: Vec<String> = client
            .query(
                "EXPLAIN EXECUTE sharing('t', ARRAY['k'], ARRAY['v'], 0, 0, 0, 0, 0, 's', \
                 ARRAY[true], ARRAY[true])",
                &[],
            )
            .await
            .expect("explain")
            .iter()
            .map(|row| row.get(0))
            .collect();
        let plan = plan.join("\n");
        for table in ["call_keys", "event_keys"] {
            let scans: Vec<_> = plan
                .split("->")
                .filter(|step| step.contains(&format!(" on {table} ")))
                .collect();
            assert!(!scans.is_empty(), "{table} not read:\n{plan}");
            for scan in scans {
                assert!(
                    scan.contains("Index Cond: ((tenant = $1) AND (kind = u")
                        && scan.contains("(value = u"),
                    "{table} not read by key:\n{plan}"
                );
            }
        }
    }
}
