//! The benchmark's item: a conversation with every field and attributes
//! filled, about 700 bytes of JSON, with unique ids per item.

/// A realistic conversation item whose ids derive from `n`.
pub(crate) fn conversation(run: &str, n: usize) -> String {
    format!(
        concat!(
            r#"{{"externalConversationId":"conv-{run}-{n:010}","eventId":"evt-{run}-{n:010}","#,
            r#""lobId":"lob-1038","lobName":"Consumer Banking","groupId":"group-59","#,
            r#""groupName":"Card Services East","agentRoutingCode":"route-13988","#,
            r#""campaign":"campaign-autumn-2026","deviceType":"PHONE","platform":"ANDROID","#,
            r#""companySegment":["Sales","Retention"],"companySubdivision":"operating-north","#,
            r#""businessRule":"Apply customer's loyalty discount","entryType":"proactive","#,
            r#""operatingSystem":"ANDROID","browserType":"Chrome","browserVersion":"131.0.6778","#,
            r#""attributes":[{{"name":"crmCaseId","value":"CASE-{n:010}"}},"#,
            r#"{{"name":"crmAccountTier","value":"gold"}},{{"name":"ivrIntent","value":"card_lost_or_stolen"}},"#,
            r#"{{"name":"queueName","value":"cards-priority-en"}},{{"name":"surveyOptIn","value":"true"}}]}}"#
        ),
        run = run,
        n = n
    )
}

/// Writes `rows` items, one per line, to `path`.
pub(crate) fn write_ndjson(path: &std::path::Path, run: &str, rows: usize) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for n in 0..rows {
        writeln!(out, "{}", conversation(run, n))?;
    }
    out.flush()
}

/// `{"items":[...]}` with `count` items numbered from `first`.
pub(crate) fn batch_body(run: &str, first: usize, count: usize) -> String {
    let mut body = String::with_capacity(count * 760 + 16);
    body.push_str("{\"items\":[");
    for n in first..first + count {
        if n > first {
            body.push(',');
        }
        body.push_str(&conversation(run, n));
    }
    body.push_str("]}");
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_is_about_700_bytes_and_valid() {
        let item = conversation("r", 7);
        assert!((650..=800).contains(&item.len()), "{} bytes", item.len());
        let json = inlet_domain::Json::parse(&item).unwrap();
        let parsed = inlet_domain::parse_item(inlet_domain::EntityKind::Conversation, &json);
        assert!(parsed.is_ok(), "{parsed:?}");
        assert!(parsed.unwrap().warnings.is_empty());
    }
}
