//! Calls, out-of-band events and matching rules on SQLite: the
//! [`MatchTx`] seam on the writer's transaction, and the reads.
//!
//! The matching decisions themselves live in `inlet_store::matching`; the
//! writer drives its futures with `block_on`, and every method here is a
//! synchronous statement, so each future completes on its first poll.

use inlet_domain::{EventId, TenantId, Timestamp};
use inlet_match::{Attachment, Call, Candidate, Key, MatchedBy, RuleSet, SessionId, Via};
use inlet_store::matching::{EventSummary, MatchTx, Reach, SharedKey, StoredEvent};
use inlet_store::{
    AttachedEvent, CallEventQuery, CallEventView, CallView, EventStatus, NewCallEvent, Page,
    Position, StoreError, stored,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::store_error;

/// The writer's transaction (or savepoint), seen by the matching code.
pub(crate) struct SqliteMatch<'a>(pub(crate) &'a Connection);

fn db<T>(result: rusqlite::Result<T>) -> Result<T, StoreError> {
    result.map_err(store_error)
}

// Without statistics, SQLite reckons `tenant = ?` on the primary key as
// selective as the partial indexes on attachments, and reads every event of
// the tenant: the statements that need those indexes name them (checked by
// `tests::look_ups_use_their_indexes`).

/// Events a rule attached to call `?2`, alone or for its group `?3`, with
/// event times in `[?4, ?5]`.
const ATTACHED_BY_RULE: &str = "SELECT event_id FROM call_events INDEXED BY call_events_on_call \
     WHERE tenant = ?1 AND matched_session = ?2 AND matched_group IS NULL \
     AND matched_by <> 'sessionId' AND event_time BETWEEN ?4 AND ?5 \
     UNION ALL SELECT event_id FROM call_events INDEXED BY call_events_on_group \
     WHERE tenant = ?1 AND matched_group = ?3 AND matched_session = ?2 \
     AND event_time BETWEEN ?4 AND ?5";

/// The events of call `?2` and of its group `?3`, in event time order.
const CALL_EVENTS: &str = "SELECT event_id, event_time, received_at, metadata, matched_by, \
     matched_group, ambiguous FROM call_events INDEXED BY call_events_on_call \
     WHERE tenant = ?1 AND matched_session = ?2 AND matched_group IS NULL \
     UNION ALL SELECT event_id, event_time, received_at, metadata, matched_by, matched_group, \
     ambiguous FROM call_events INDEXED BY call_events_on_group \
     WHERE tenant = ?1 AND matched_group = ?3 \
     ORDER BY 2, 3, 1";

/// One statement per key (`?2`/`?3`): events whose indexed keys hold it,
/// then those a rule attached to the other calls with it, alone (when `?10`)
/// or for their group (when `?11`; SQLite tests such a term once, before the
/// arm's loops).
const SHARING_KEYS: &str = "WITH calls_with_key AS NOT MATERIALIZED \
     (SELECT session_id, master_call_id FROM call_keys WHERE tenant = ?1 AND kind = ?2 AND value = ?3 \
     AND start_time <= ?8 AND start_time >= ?7 - coalesce((SELECT longest \
     FROM call_spans WHERE tenant = ?1), 0) AND end_time >= ?7 AND session_id <> ?9) \
     SELECT k.event_id FROM event_keys k JOIN call_events e \
     ON e.tenant = k.tenant AND e.event_id = k.event_id \
     WHERE k.tenant = ?1 AND k.kind = ?2 AND k.value = ?3 \
     AND k.event_time BETWEEN ?5 AND ?6 \
     AND (e.matched_session IS NOT NULL OR e.received_at >= ?4) \
     UNION ALL SELECT e.event_id FROM calls_with_key c \
     JOIN call_events e INDEXED BY call_events_on_call \
     ON e.tenant = ?1 AND e.matched_session = c.session_id AND e.matched_group IS NULL \
     WHERE ?10 AND e.matched_by <> 'sessionId' AND e.event_time BETWEEN ?5 AND ?6 \
     UNION ALL SELECT e.event_id FROM calls_with_key c \
     JOIN call_events e INDEXED BY call_events_on_group \
     ON e.tenant = ?1 AND e.matched_group = c.master_call_id \
     AND e.matched_session = c.session_id \
     WHERE ?11 AND e.event_time BETWEEN ?5 AND ?6";

/// The attachment stored in columns `session, group, matched_by, ambiguous`
/// starting at `first`.
fn attachment(row: &Row<'_>, first: usize) -> Result<Option<Attachment>, StoreError> {
    stored::attachment(
        db(row.get(first))?,
        db(row.get(first + 1))?,
        db(row.get(first + 2))?,
        db(row.get(first + 3))?,
    )
}

/// The tenant's rules, from any connection.
pub(crate) fn rules(conn: &Connection, tenant: &TenantId) -> Result<RuleSet, StoreError> {
    let text: Option<String> = db(conn
        .prepare_cached("SELECT rules FROM matching_rules WHERE tenant = ?1")
        .and_then(|mut statement| {
            statement
                .query_row([tenant.as_str()], |row| row.get(0))
                .optional()
        }))?;
    stored::rules(text.as_deref())
}

impl MatchTx for SqliteMatch<'_> {
    async fn rules_version(&mut self, tenant: &TenantId) -> Result<i64, StoreError> {
        let version: Option<i64> = db(self
            .0
            .prepare_cached("SELECT version FROM matching_rules WHERE tenant = ?1")
            .and_then(|mut statement| {
                statement
                    .query_row([tenant.as_str()], |row| row.get(0))
                    .optional()
            }))?;
        Ok(version.unwrap_or(0))
    }

    async fn rules(&mut self, tenant: &TenantId) -> Result<RuleSet, StoreError> {
        rules(self.0, tenant)
    }

    async fn replace_rules(
        &mut self,
        tenant: &TenantId,
        rules: &RuleSet,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        db(self.0.execute(
            "INSERT INTO matching_rules (tenant, rules, updated_at, version) \
             VALUES (?1, ?2, ?3, 1) ON CONFLICT (tenant) DO UPDATE SET rules = excluded.rules, \
             updated_at = excluded.updated_at, version = matching_rules.version + 1",
            params![tenant.as_str(), rules.to_json().to_string(), at.as_micros()],
        ))?;
        Ok(())
    }

    async fn has_call(
        &mut self,
        tenant: &TenantId,
        session: &SessionId,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> = db(self
            .0
            .prepare_cached("SELECT 1 FROM calls WHERE tenant = ?1 AND session_id = ?2")
            .and_then(|mut statement| {
                statement
                    .query_row([tenant.as_str(), session.as_str()], |row| row.get(0))
                    .optional()
            }))?;
        Ok(found.is_some())
    }

    async fn find_call(
        &mut self,
        tenant: &TenantId,
        session: &SessionId,
    ) -> Result<Option<Call>, StoreError> {
        let text: Option<String> = db(self
            .0
            .prepare_cached("SELECT call FROM calls WHERE tenant = ?1 AND session_id = ?2")
            .and_then(|mut statement| {
                statement
                    .query_row([tenant.as_str(), session.as_str()], |row| row.get(0))
                    .optional()
            }))?;
        text.as_deref().map(stored::call).transpose()
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
            let mut delete = db(self.0.prepare_cached(
                "DELETE FROM call_keys WHERE tenant = ?1 AND kind = ?2 AND value = ?3 \
                 AND start_time = ?4 AND session_id = ?5",
            ))?;
            for key in old_keys {
                db(delete.execute(params![
                    tenant.as_str(),
                    key.kind,
                    key.value,
                    old.start_time.as_micros(),
                    old.session_id.as_str()
                ]))?;
            }
        }
        db(self.0.prepare_cached(
            "INSERT INTO calls (tenant, session_id, master_call_id, start_time, end_time, call, \
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) \
             ON CONFLICT (tenant, session_id) DO UPDATE SET \
             master_call_id = excluded.master_call_id, start_time = excluded.start_time, \
             end_time = excluded.end_time, call = excluded.call, updated_at = excluded.updated_at",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                tenant.as_str(),
                call.session_id.as_str(),
                call.master_call_id.as_ref().map(SessionId::as_str),
                call.start_time.as_micros(),
                call.end_time.map(Timestamp::as_micros),
                call.to_json().to_string(),
                at.as_micros(),
            ])
        }))?;
        self.insert_call_keys(tenant, call, keys).await
    }

    async fn candidates(
        &mut self,
        tenant: &TenantId,
        key: &Key,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Candidate>, StoreError> {
        let mut statement = db(self.0.prepare_cached(
            "SELECT session_id, master_call_id, start_time, end_time FROM call_keys \
             WHERE tenant = ?1 AND kind = ?2 AND value = ?3 AND start_time <= ?4 \
             AND start_time >= ?5 - coalesce((SELECT longest FROM call_spans \
             WHERE tenant = ?1), 0) AND end_time >= ?5",
        ))?;
        let rows = db(statement.query_map(
            params![
                tenant.as_str(),
                key.kind,
                key.value,
                to.as_micros(),
                from.as_micros()
            ],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            },
        ))?;
        let mut candidates = Vec::new();
        for row in rows {
            let (session_id, master, start, end) = db(row)?;
            candidates.push(Candidate {
                session_id: stored::session(session_id)?,
                master_call_id: stored::optional_session(master)?,
                start_time: Timestamp::from_micros(start),
                end_time: Some(Timestamp::from_micros(end)),
            });
        }
        Ok(candidates)
    }

    async fn widen_longest_call(
        &mut self,
        tenant: &TenantId,
        span: std::time::Duration,
    ) -> Result<(), StoreError> {
        let micros = i64::try_from(span.as_micros()).unwrap_or(i64::MAX);
        db(self
            .0
            .prepare_cached(
                "INSERT INTO call_spans (tenant, longest) VALUES (?1, ?2) \
                 ON CONFLICT (tenant) DO UPDATE SET longest = excluded.longest \
                 WHERE excluded.longest > call_spans.longest",
            )
            .and_then(|mut statement| statement.execute(params![tenant.as_str(), micros])))?;
        Ok(())
    }

    async fn group_sessions(
        &mut self,
        tenant: &TenantId,
        group: &SessionId,
    ) -> Result<Vec<SessionId>, StoreError> {
        group_sessions(self.0, tenant, group)
    }

    async fn find_event(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<Option<EventSummary>, StoreError> {
        let mut statement = db(self.0.prepare_cached(
            "SELECT content_hash, received_at, matched_session, matched_group, matched_by, \
             ambiguous FROM call_events WHERE tenant = ?1 AND event_id = ?2",
        ))?;
        let mut rows = db(statement.query([tenant.as_str(), event_id.as_str()]))?;
        let Some(row) = db(rows.next())? else {
            return Ok(None);
        };
        let hash: Vec<u8> = db(row.get(0))?;
        Ok(Some(EventSummary {
            content_hash: hash
                .try_into()
                .map_err(|_| stored::corrupt("content hash"))?,
            received_at: Timestamp::from_micros(db(row.get(1))?),
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
        // No seq: SQLite gives the rowid one past the largest (rows are
        // never deleted, so seqs only grow, in commit order).
        db(self
            .0
            .prepare_cached(
                "INSERT INTO call_events (tenant, event_id, content_hash, session_id, event_time, \
             received_at, api_id, request_id, metadata, matched_session, matched_group, \
             matched_by, ambiguous) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, \
             ?13)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    event.tenant.as_str(),
                    event.event_id.as_str(),
                    &body.content_hash[..],
                    body.session_id.as_ref().map(SessionId::as_str),
                    body.event_time.as_micros(),
                    event.received_at.as_micros(),
                    event.api_id.as_str(),
                    event.request_id,
                    metadata,
                    attachment.map(|a| a.session_id.as_str()),
                    attachment.and_then(|a| a.group.as_ref().map(SessionId::as_str)),
                    attachment.map(|a| a.matched_by.label()),
                    attachment.is_some_and(|a| a.ambiguous),
                ])
            }))?;
        self.insert_event_keys(&event.tenant, &event.event_id, body.event_time, keys)
            .await
    }

    async fn waiting_for_session(
        &mut self,
        tenant: &TenantId,
        session: &SessionId,
        expired_before: Timestamp,
    ) -> Result<Vec<EventId>, StoreError> {
        let mut statement = db(self.0.prepare_cached(
            "SELECT event_id FROM call_events WHERE tenant = ?1 AND session_id = ?2 \
             AND matched_session IS NULL AND received_at >= ?3",
        ))?;
        let ids = db(statement
            .query_map(
                params![
                    tenant.as_str(),
                    session.as_str(),
                    expired_before.as_micros()
                ],
                |row| row.get::<_, String>(0),
            )
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>))?;
        ids.into_iter().map(stored::event_id).collect()
    }

    async fn events_sharing_keys(
        &mut self,
        tenant: &TenantId,
        keys: &[SharedKey],
        reach: &Reach,
    ) -> Result<Vec<EventId>, StoreError> {
        let mut statement = db(self.0.prepare_cached(SHARING_KEYS))?;
        let mut ids = Vec::new();
        for shared in keys {
            let found = db(statement
                .query_map(
                    params![
                        tenant.as_str(),
                        shared.key.kind,
                        shared.key.value,
                        reach.expired_before.as_micros(),
                        reach.from.as_micros(),
                        reach.to.as_micros(),
                        reach.calls_from.as_micros(),
                        reach.calls_to.as_micros(),
                        reach.session_id.as_str(),
                        shared.to_calls,
                        shared.to_groups,
                    ],
                    |row| row.get::<_, String>(0),
                )
                .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>))?;
            for id in found {
                ids.push(stored::event_id(id)?);
            }
        }
        Ok(ids)
    }

    async fn events_attached_by_rule(
        &mut self,
        tenant: &TenantId,
        session: &SessionId,
        group: Option<&SessionId>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<EventId>, StoreError> {
        let mut statement = db(self.0.prepare_cached(ATTACHED_BY_RULE))?;
        let ids = db(statement
            .query_map(
                params![
                    tenant.as_str(),
                    session.as_str(),
                    group.map(SessionId::as_str),
                    from.as_micros(),
                    to.as_micros()
                ],
                |row| row.get::<_, String>(0),
            )
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>))?;
        ids.into_iter().map(stored::event_id).collect()
    }

    async fn stored_event(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<Option<StoredEvent>, StoreError> {
        let mut statement = db(self.0.prepare_cached(
            "SELECT session_id, event_time, metadata, matched_session, matched_group, \
             matched_by, ambiguous FROM call_events WHERE tenant = ?1 AND event_id = ?2",
        ))?;
        let mut rows = db(statement.query([tenant.as_str(), event_id.as_str()]))?;
        let Some(row) = db(rows.next())? else {
            return Ok(None);
        };
        Ok(Some(StoredEvent {
            session_id: stored::optional_session(db(row.get(0))?)?,
            event_time: Timestamp::from_micros(db(row.get(1))?),
            metadata: stored::metadata(&db(row.get::<_, String>(2))?)?,
            attachment: attachment(row, 3)?,
        }))
    }

    async fn set_attachment(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
        attachment: Option<&Attachment>,
    ) -> Result<(), StoreError> {
        db(self
            .0
            .prepare_cached(
                "UPDATE call_events SET matched_session = ?3, matched_group = ?4, matched_by = ?5, \
             ambiguous = ?6 WHERE tenant = ?1 AND event_id = ?2",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    tenant.as_str(),
                    event_id.as_str(),
                    attachment.map(|a| a.session_id.as_str()),
                    attachment.and_then(|a| a.group.as_ref().map(SessionId::as_str)),
                    attachment.map(|a| a.matched_by.label()),
                    attachment.is_some_and(|a| a.ambiguous),
                ])
            }))?;
        Ok(())
    }

    async fn clear_keys(&mut self, tenant: &TenantId) -> Result<(), StoreError> {
        db(self
            .0
            .execute("DELETE FROM call_keys WHERE tenant = ?1", [tenant.as_str()]))?;
        db(self.0.execute(
            "DELETE FROM event_keys WHERE tenant = ?1",
            [tenant.as_str()],
        ))?;
        Ok(())
    }

    async fn calls_after(
        &mut self,
        tenant: &TenantId,
        after: Option<&SessionId>,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError> {
        let mut statement = db(self.0.prepare_cached(
            "SELECT call FROM calls WHERE tenant = ?1 AND session_id > ?2 \
             ORDER BY session_id LIMIT ?3",
        ))?;
        let texts = db(statement
            .query_map(
                params![
                    tenant.as_str(),
                    after.map_or("", SessionId::as_str),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |row| row.get::<_, String>(0),
            )
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>))?;
        texts.iter().map(|text| stored::call(text)).collect()
    }

    async fn insert_call_keys(
        &mut self,
        tenant: &TenantId,
        call: &Call,
        keys: &[Key],
    ) -> Result<(), StoreError> {
        let mut insert = db(self.0.prepare_cached(
            "INSERT OR IGNORE INTO call_keys (tenant, kind, value, start_time, session_id, \
             end_time, master_call_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        ))?;
        let end = call.end();
        for key in keys {
            db(insert.execute(params![
                tenant.as_str(),
                key.kind,
                key.value,
                call.start_time.as_micros(),
                call.session_id.as_str(),
                end.as_micros(),
                call.master_call_id.as_ref().map(SessionId::as_str),
            ]))?;
        }
        Ok(())
    }

    async fn keyed_events_after(
        &mut self,
        tenant: &TenantId,
        after: Option<&EventId>,
        limit: usize,
    ) -> Result<Vec<EventId>, StoreError> {
        let mut statement = db(self.0.prepare_cached(
            "SELECT event_id FROM call_events WHERE tenant = ?1 \
             AND event_id > ?2 AND session_id IS NULL ORDER BY event_id LIMIT ?3",
        ))?;
        let ids = db(statement
            .query_map(
                params![
                    tenant.as_str(),
                    after.map_or("", EventId::as_str),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |row| row.get::<_, String>(0),
            )
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>))?;
        ids.into_iter().map(stored::event_id).collect()
    }

    async fn delete_event_keys(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
    ) -> Result<(), StoreError> {
        db(self
            .0
            .prepare_cached("DELETE FROM event_keys WHERE tenant = ?1 AND event_id = ?2")
            .and_then(|mut statement| statement.execute([tenant.as_str(), event_id.as_str()])))?;
        Ok(())
    }

    async fn insert_event_keys(
        &mut self,
        tenant: &TenantId,
        event_id: &EventId,
        event_time: Timestamp,
        keys: &[(String, Key)],
    ) -> Result<(), StoreError> {
        let mut insert = db(self.0.prepare_cached(
            "INSERT OR IGNORE INTO event_keys (tenant, kind, value, event_time, event_id, rule) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        ))?;
        for (rule, key) in keys {
            db(insert.execute(params![
                tenant.as_str(),
                key.kind,
                key.value,
                event_time.as_micros(),
                event_id.as_str(),
                rule
            ]))?;
        }
        Ok(())
    }
}

fn group_sessions(
    conn: &Connection,
    tenant: &TenantId,
    group: &SessionId,
) -> Result<Vec<SessionId>, StoreError> {
    let mut statement = db(conn.prepare_cached(
        "SELECT session_id FROM calls WHERE tenant = ?1 AND master_call_id = ?2 \
         ORDER BY session_id",
    ))?;
    let ids = db(statement
        .query_map([tenant.as_str(), group.as_str()], |row| {
            row.get::<_, String>(0)
        })
        .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>))?;
    ids.into_iter().map(stored::session).collect()
}

/// A call with its group and attached events, read in one snapshot.
pub(crate) fn call_view(
    conn: &Connection,
    tenant: &TenantId,
    session_id: &SessionId,
) -> Result<Option<CallView>, StoreError> {
    let snapshot = db(conn.unchecked_transaction())?;
    let conn: &Connection = &snapshot;
    let row = db(conn
        .prepare_cached(
            "SELECT call, created_at, updated_at FROM calls WHERE tenant = ?1 AND session_id = ?2",
        )
        .and_then(|mut statement| {
            statement
                .query_row([tenant.as_str(), session_id.as_str()], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                })
                .optional()
        }))?;
    let Some((text, created_at, updated_at)) = row else {
        return Ok(None);
    };
    let call = stored::call(&text)?;
    let group_sessions = match &call.master_call_id {
        Some(group) => group_sessions(conn, tenant, group)?,
        None => Vec::new(),
    };
    let mut statement = db(conn.prepare_cached(CALL_EVENTS))?;
    let rows = db(statement
        .query_map(
            params![
                tenant.as_str(),
                session_id.as_str(),
                call.master_call_id.as_ref().map(SessionId::as_str)
            ],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, bool>(6)?,
                ))
            },
        )
        .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>))?;
    let events = rows
        .into_iter()
        .map(|(id, time, received, text, by, group, ambiguous)| {
            Ok(AttachedEvent {
                event_id: stored::event_id(id)?,
                event_time: Timestamp::from_micros(time),
                received_at: Timestamp::from_micros(received),
                metadata: stored::metadata(&text)?,
                matched_by: MatchedBy::from_label(&by)
                    .ok_or_else(|| stored::corrupt("matched_by"))?,
                via: if group.is_some() {
                    Via::CallGroup
                } else {
                    Via::Call
                },
                ambiguous,
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

/// A page of the tenant's events in the order received.
pub(crate) fn call_events(
    conn: &Connection,
    tenant: &TenantId,
    query: CallEventQuery,
) -> Result<Page<CallEventView>, StoreError> {
    let status_filter = match query.status {
        None => "",
        Some(EventStatus::Matched) => "AND matched_session IS NOT NULL",
        Some(EventStatus::Pending) => "AND matched_session IS NULL AND received_at >= ?3",
        Some(EventStatus::Unmatched) => "AND matched_session IS NULL AND received_at < ?3",
    };
    let sql = events_page(status_filter);
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let mut statement = db(conn.prepare_cached(&sql))?;
    let mut rows = db(statement.query(params![
        tenant.as_str(),
        query.after.map_or(0, |after| after.seq),
        query.expired_before.as_micros(),
        limit.saturating_add(1),
    ]))?;
    let mut items = Vec::new();
    while let Some(row) = db(rows.next())? {
        let received_at = Timestamp::from_micros(db(row.get(4))?);
        let attached = attachment(row, 6)?;
        items.push(CallEventView {
            position: Position {
                epoch: 0,
                seq: db(row.get(0))?,
            },
            event_id: stored::event_id(db(row.get(1))?)?,
            session_id: stored::optional_session(db(row.get(2))?)?,
            event_time: Timestamp::from_micros(db(row.get(3))?),
            received_at,
            metadata: stored::metadata(&db(row.get::<_, String>(5))?)?,
            status: EventStatus::of(attached.as_ref(), received_at, query.expired_before),
            attachment: attached,
        });
    }
    let has_more = items.len() > query.limit;
    items.truncate(query.limit);
    Ok(Page { items, has_more })
}

/// The statement reading a page of events after seq `?2`, with
/// `status_filter` (which may use `?3`) added to its conditions.
fn events_page(status_filter: &str) -> String {
    // `?3 = ?3` keeps the parameter count the same whatever the filter.
    format!(
        "SELECT seq, event_id, session_id, event_time, received_at, metadata, matched_session, \
         matched_group, matched_by, ambiguous FROM call_events \
         WHERE tenant = ?1 AND seq > ?2 AND ?3 = ?3 {status_filter} ORDER BY seq LIMIT ?4"
    )
}

/// The token-signing secret: `candidate` stored if there is none yet.
pub(crate) fn token_secret(conn: &Connection, candidate: [u8; 32]) -> Result<[u8; 32], StoreError> {
    db(conn.execute(
        "INSERT OR IGNORE INTO secrets (name, value) VALUES ('token', ?1)",
        [&candidate[..]],
    ))?;
    let stored: Vec<u8> = db(conn.query_row(
        "SELECT value FROM secrets WHERE name = 'token'",
        [],
        |row| row.get(0),
    ))?;
    stored
        .try_into()
        .map_err(|_| stored::corrupt("token secret"))
}

/// Events attached nowhere received in `[horizon, expired_before)`, where
/// `horizon` is where the last sweep stopped: `None` when that is past
/// `expired_before` already.
fn unmatched_since_last_sweep(
    conn: &Connection,
    expired_before: Timestamp,
) -> Result<Option<u64>, StoreError> {
    let horizon: i64 = db(conn.query_row(
        "SELECT horizon FROM sweeps WHERE name = 'call_events_unmatched'",
        [],
        |row| row.get(0),
    ))?;
    let until = expired_before.as_micros();
    if until <= horizon {
        return Ok(None);
    }
    let count: i64 = db(conn.query_row(
        "SELECT count(*) FROM call_events WHERE matched_session IS NULL \
         AND received_at >= ?1 AND received_at < ?2",
        [horizon, until],
        |row| row.get(0),
    ))?;
    Ok(Some(u64::try_from(count).unwrap_or(0)))
}

/// Whether a sweep would count anything: read on any connection, so that
/// sweeps with nothing to count never wait for the writer.
pub(crate) fn sweep_would_count(
    conn: &Connection,
    expired_before: Timestamp,
) -> Result<bool, StoreError> {
    Ok(unmatched_since_last_sweep(conn, expired_before)?.is_some_and(|count| count > 0))
}

/// See `Store::sweep_unmatched`; on the writer's transaction, so the count
/// and the new horizon commit together.
pub(crate) fn sweep_unmatched(
    conn: &Connection,
    expired_before: Timestamp,
) -> Result<u64, StoreError> {
    let Some(count) = unmatched_since_last_sweep(conn, expired_before)? else {
        return Ok(0);
    };
    db(conn.execute(
        "UPDATE sweeps SET horizon = ?1 WHERE name = 'call_events_unmatched'",
        [expired_before.as_micros()],
    ))?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan of `sql`, one line per step.
    fn plan(conn: &Connection, sql: &str) -> String {
        let mut statement = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let nulls = vec![rusqlite::types::Null; statement.parameter_count()];
        statement
            .query_map(rusqlite::params_from_iter(nulls), |row| {
                row.get::<_, String>(3)
            })
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .expect("plan")
            .join("\n")
    }

    /// Event `body` from tenant `t`, received at 09:00.
    fn new_event(body: serde_json::Value) -> NewCallEvent {
        NewCallEvent {
            tenant: TenantId::parse("t").expect("tenant"),
            api_id: inlet_domain::ApiId::parse("k").expect("api id"),
            request_id: "r".into(),
            received_at: Timestamp::parse_rfc3339("2026-11-29T09:00:00Z").expect("time"),
            event_id: EventId::generate(),
            generated_id: true,
            event: inlet_match::parse_call_event(&body.to_string()).expect("event"),
        }
    }

    #[test]
    fn keys_taken_under_replaced_rules_are_taken_again() {
        use futures::executor::block_on;
        use inlet_store::matching::{RuleCache, insert_call_event, put_calls, put_rules};
        use inlet_store::{CallBatch, CallEventOutcome};
        use serde_json::json;

        let mut conn = Connection::open_in_memory().expect("open");
        crate::schema::migrate(&mut conn).expect("schema");
        let tx = &mut SqliteMatch(&conn);
        let (cache, tenant) = (RuleCache::default(), TenantId::parse("t").expect("tenant"));
        let at = Timestamp::parse_rfc3339("2026-11-29T09:00:00Z").expect("time");
        let rule = |name: &str, field: &str| {
            inlet_match::parse_rules(&json!({"rules": [{"name": name, "eventField": field,
                "callField": "numberDialed", "windowSeconds": 600}]}))
            .expect("rules")
        };
        block_on(put_rules(tx, &tenant, &rule("by-a", "/a"), at)).expect("rules");
        let call = json!({"sessionId": "s1", "startTime": "2026-11-29T09:00:00Z",
            "numberDialed": "1800"});
        let batch = CallBatch {
            tenant: tenant.clone(),
            received_at: at,
            expired_before: at,
            calls: vec![inlet_match::parse_call(&call.to_string()).expect("call")],
        };
        block_on(put_calls(tx, &cache, &batch)).expect("call");
        // Only field `b` holds the call's number.
        let event = new_event(json!({"eventTime": "2026-11-29T09:01:00Z",
            "metadata": {"a": "999", "b": "1800"}}));
        let under_a = cache.prepare_keys(&event).expect("rules cached");
        block_on(put_rules(tx, &tenant, &rule("by-b", "/b"), at)).expect("new rules");

        let outcome =
            block_on(insert_call_event(tx, &cache, &event, Some(under_a), at)).expect("event");
        let CallEventOutcome::Stored(state) = outcome else {
            panic!("not stored: {outcome:?}");
        };
        assert_eq!(
            state.session_ids,
            [SessionId::parse("s1").expect("session")]
        );
        let by: String = conn
            .query_row("SELECT matched_by FROM call_events", [], |row| row.get(0))
            .expect("stored");
        assert_eq!(by, "rule:by-b");
    }

    #[test]
    fn look_ups_use_their_indexes() {
        let dir = tempfile::tempdir().expect("temp dir");
        drop(crate::SqliteStore::open(dir.path()).expect("store"));
        let conn = Connection::open(dir.path().join(crate::DATABASE_FILE)).expect("open");
        let cases = [
            (
                ATTACHED_BY_RULE,
                &["call_events_on_call", "call_events_on_group"][..],
            ),
            (
                CALL_EVENTS,
                &["call_events_on_call", "call_events_on_group"],
            ),
            (
                SHARING_KEYS,
                &["call_events_on_call", "call_events_on_group"],
            ),
            (crate::read::CUSTOMER_LINKS, &["links_by_customer"]),
            (
                &events_page(""),
                &["call_events_by_seq (tenant=? AND rowid>?)"],
            ),
            (
                "SELECT content_hash FROM call_events WHERE tenant = ?1 AND event_id = ?2",
                &["call_events_by_id (tenant=? AND event_id=?)"],
            ),
        ];
        for (sql, indexes) in cases {
            let plan = plan(&conn, sql);
            // `call_spans` has one row per tenant: its key is the tenant.
            let every_row = plan
                .lines()
                .any(|step| step.ends_with("(tenant=?)") && !step.contains("call_spans"));
            assert!(!every_row, "reads every row of the tenant:\n{plan}");
            for index in indexes {
                assert!(plan.contains(index), "{index} not used:\n{plan}");
            }
        }
    }
}
