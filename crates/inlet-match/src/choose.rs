//! The choice among candidate calls: inside the rule's window around the
//! event time, the nearest call wins; several candidates make the match
//! ambiguous, which the event records.

use inlet_domain::Timestamp;

use crate::{Rule, SessionId, Target};

/// A call found by key, with what the choice needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The call.
    pub session_id: SessionId,
    /// Its group, if it has one.
    pub master_call_id: Option<SessionId>,
    /// When it started.
    pub start_time: Timestamp,
    /// When it ended, if known.
    pub end_time: Option<Timestamp>,
}

impl Candidate {
    /// The call's interval: `[start, end or start]`.
    fn end(&self) -> Timestamp {
        self.end_time.unwrap_or(self.start_time)
    }

    /// How far `at` lies from the call's interval, in microseconds (0
    /// inside it).
    fn distance(&self, at: Timestamp) -> i64 {
        let (at, start, end) = (
            at.as_micros(),
            self.start_time.as_micros(),
            self.end().as_micros(),
        );
        if at < start {
            start - at
        } else if at > end {
            at - end
        } else {
            0
        }
    }
}

/// What an event was attached by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MatchedBy {
    /// It named the call's session id.
    SessionId,
    /// The rule of this name matched it.
    Rule(String),
}

impl MatchedBy {
    /// `sessionId` or `rule:<name>`, as events answer it.
    pub fn label(&self) -> String {
        match self {
            Self::SessionId => "sessionId".to_owned(),
            Self::Rule(name) => format!("rule:{name}"),
        }
    }

    /// Reads back a [`MatchedBy::label`].
    pub fn from_label(label: &str) -> Option<Self> {
        match label {
            "sessionId" => Some(Self::SessionId),
            other => other
                .strip_prefix("rule:")
                .map(|name| Self::Rule(name.to_owned())),
        }
    }
}

/// Whether the event's metadata belongs to one call or to a call group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The call.
    Call,
    /// Every call of the group.
    CallGroup,
}

impl Via {
    /// `call` or `callGroup`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::CallGroup => "callGroup",
        }
    }
}

/// Where an event is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The call that matched.
    pub session_id: SessionId,
    /// The call group the metadata belongs to, for a `callGroup` rule that
    /// matched a call with a `masterCallId`.
    pub group: Option<SessionId>,
    /// Why.
    pub matched_by: MatchedBy,
    /// Whether other calls matched too (the nearest won).
    pub ambiguous: bool,
}

impl Attachment {
    /// An event that named its call.
    pub fn by_session(session_id: SessionId) -> Self {
        Self {
            session_id,
            group: None,
            matched_by: MatchedBy::SessionId,
            ambiguous: false,
        }
    }

    /// Whether the metadata belongs to the call or its group.
    pub fn via(&self) -> Via {
        if self.group.is_some() {
            Via::CallGroup
        } else {
            Via::Call
        }
    }
}

/// The times between which a candidate call must overlap for `rule` to
/// match an event at `at`: `[at - window, at + window]`. A store looks up
/// calls with `start <= to` and `end or start >= from`.
pub fn window(at: Timestamp, rule: &Rule) -> (Timestamp, Timestamp) {
    (
        at.plus_seconds(-rule.window_seconds),
        at.plus_seconds(rule.window_seconds),
    )
}

/// The attachment `rule` gives an event at `at`, among `candidates` (calls
/// found by the rule's keys; those outside the window are ignored, repeats
/// count once). The nearest call wins; ties go to the earlier start, then
/// the smaller session id, so every node and every arrival order agrees.
pub fn choose(at: Timestamp, rule: &Rule, candidates: &[Candidate]) -> Option<Attachment> {
    let (from, to) = window(at, rule);
    let mut inside: Vec<&Candidate> = candidates
        .iter()
        .filter(|call| call.start_time <= to && call.end() >= from)
        .collect();
    inside.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    inside.dedup_by(|a, b| a.session_id == b.session_id);
    let best = inside.iter().min_by(|a, b| {
        a.distance(at)
            .cmp(&b.distance(at))
            .then(a.start_time.cmp(&b.start_time))
            .then(a.session_id.cmp(&b.session_id))
    })?;
    let group = match rule.target {
        Target::CallGroup => best.master_call_id.clone(),
        Target::Call => None,
    };
    Some(Attachment {
        session_id: best.session_id.clone(),
        group,
        matched_by: MatchedBy::Rule(rule.name.clone()),
        ambiguous: inside.len() > 1,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::parse_rules;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_micros(1_800_000_000_000_000).plus_seconds(seconds)
    }

    fn call(id: &str, start: i64, end: Option<i64>) -> Candidate {
        Candidate {
            session_id: SessionId::parse(id).expect("id"),
            master_call_id: Some(SessionId::parse("g").expect("id")),
            start_time: at(start),
            end_time: end.map(at),
        }
    }

    fn rule(window: i64, target: &str) -> Rule {
        parse_rules(
            &json!({"rules": [{"name": "r", "eventField": "/x", "callField": "numberDialed",
            "windowSeconds": window, "target": target}]}),
        )
        .expect("rule")
        .rules()[0]
            .clone()
    }

    #[test]
    fn the_window_edges_match_exactly_and_one_second_past_does_not() {
        let rule = rule(60, "call");
        let calls = [call("a", 0, Some(100))];
        assert!(choose(at(-60), &rule, &calls).is_some(), "start - window");
        assert!(choose(at(160), &rule, &calls).is_some(), "end + window");
        assert!(choose(at(-61), &rule, &calls).is_none());
        assert!(choose(at(161), &rule, &calls).is_none());
        let open = [call("b", 0, None)];
        assert!(
            choose(at(60), &rule, &open).is_some(),
            "start stands in for a missing end"
        );
        assert!(choose(at(61), &rule, &open).is_none());
    }

    #[test]
    fn the_nearest_call_wins_and_the_match_is_ambiguous() {
        let rule = rule(600, "call");
        let calls = [
            call("far", 0, Some(10)),
            call("near", 100, Some(200)),
            call("out", 5000, None),
        ];
        let attached = choose(at(250), &rule, &calls).expect("match");
        assert_eq!(attached.session_id.as_str(), "near");
        assert!(attached.ambiguous);
        assert_eq!(attached.matched_by.label(), "rule:r");
        assert_eq!(attached.via(), Via::Call);
        let alone = choose(at(150), &rule, &calls[1..2]).expect("match");
        assert!(!alone.ambiguous);
    }

    #[test]
    fn equal_distances_go_to_the_earlier_start_then_the_smaller_id() {
        let rule = rule(600, "call");
        let calls = [
            call("b", 0, Some(100)),
            call("a", 0, Some(100)),
            call("c", -50, Some(100)),
        ];
        let attached = choose(at(50), &rule, &calls).expect("match");
        assert_eq!(attached.session_id.as_str(), "c");
        let attached = choose(at(50), &rule, &calls[..2]).expect("match");
        assert_eq!(attached.session_id.as_str(), "a");
    }

    #[test]
    fn a_call_group_rule_attaches_to_the_group() {
        let rule = rule(0, "callGroup");
        let attached = choose(at(0), &rule, &[call("a", 0, None)]).expect("match");
        assert_eq!(attached.group.as_ref().map(SessionId::as_str), Some("g"));
        assert_eq!(attached.via(), Via::CallGroup);
    }
}
