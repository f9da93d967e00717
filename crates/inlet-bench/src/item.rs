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

/// Writes `rows` items, one per line, to `path`, and syncs the file: the
/// kernel writing it back during the import would compete with the
/// server's commits for the disk.
pub(crate) fn write_ndjson(path: &std::path::Path, run: &str, rows: usize) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for n in 0..rows {
        writeln!(out, "{}", conversation(run, n))?;
    }
    out.flush()?;
    out.get_ref().sync_all()
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

/// Request bodies of numbered items, made by writing the numbers into a
/// copy of one formatted body rather than formatting every item: the
/// client shares the server's two cores, so it should take as little of
/// them as it can (formatting a 1000-item batch cost a millisecond).
pub(crate) struct Numbered {
    /// The body with items numbered from 0.
    text: Vec<u8>,
    /// Where item 0 starts, and how far apart items start.
    first_item: usize,
    stride: usize,
    items: usize,
    /// Where an item's number is written, from the item's start.
    slots: Vec<usize>,
}

/// Digits in an item number (`{n:010}`).
const DIGITS: usize = 10;

impl Numbered {
    /// Bodies of [`batch_body`]: `{"items":[...]}` with `count` items.
    pub(crate) fn batch(run: &str, count: usize) -> Self {
        Self::new(batch_body(run, 0, count), "{\"items\":[".len(), count, run)
    }

    /// Bodies of one [`conversation`].
    pub(crate) fn single(run: &str) -> Self {
        Self::new(conversation(run, 0), 0, 1, run)
    }

    fn new(text: String, first_item: usize, items: usize, run: &str) -> Self {
        let item = conversation(run, 0);
        let zeros = "0".repeat(DIGITS);
        let slots = item.match_indices(&zeros).map(|(at, _)| at).collect();
        Self {
            text: text.into_bytes(),
            first_item,
            // Items are separated by one comma.
            stride: item.len() + 1,
            items,
            slots,
        }
    }

    /// The body whose items are numbered from `first`.
    pub(crate) fn body(&self, first: usize) -> String {
        let mut text = self.text.clone();
        for i in 0..self.items {
            let digits = padded(first + i);
            let start = self.first_item + i * self.stride;
            for slot in &self.slots {
                text[start + slot..start + slot + DIGITS].copy_from_slice(&digits);
            }
        }
        // Only ASCII digits replaced ASCII digits.
        String::from_utf8(text).expect("ascii digits keep the body UTF-8")
    }
}

/// `n` as `{n:010}` does it, for `n` below 10^10.
fn padded(mut n: usize) -> [u8; DIGITS] {
    assert!(
        n < 10_000_000_000,
        "item number {n} has more than {DIGITS} digits"
    );
    let mut digits = [b'0'; DIGITS];
    for digit in digits.iter_mut().rev() {
        // n % 10 < 10 fits a u8.
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_bodies_equal_formatted_ones() {
        let batch = Numbered::batch("b", 25);
        for first in [0, 7, 1_000, 9_999_999_975] {
            assert_eq!(batch.body(first), batch_body("b", first, 25));
        }
        let single = Numbered::single("s");
        for n in [0, 42, 1_234_567_890] {
            assert_eq!(single.body(n), conversation("s", n));
        }
    }

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
