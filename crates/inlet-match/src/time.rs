//! Event and call times: RFC 3339, or the form Creovai's documentation
//! shows (`2018/10/15T09:00:00.000Z`).

use inlet_domain::Timestamp;

/// Parses an RFC 3339 date-time with any offset, or the same with `/`
/// between the date's parts as in Creovai's example.
pub fn parse_event_time(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() > 10 && bytes[4] == b'/' && bytes[7] == b'/' {
        let dashed = format!("{}-{}-{}", &text[..4], &text[5..7], &text[8..]);
        return Timestamp::parse_rfc3339(&dashed);
    }
    Timestamp::parse_rfc3339(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_form_and_rfc_3339_give_the_same_time() {
        let seed = parse_event_time("2018/10/15T09:00:00.000Z").expect("seed form");
        let rfc = parse_event_time("2018-10-15T09:00:00Z").expect("rfc 3339");
        assert_eq!(seed, rfc);
        let offset = parse_event_time("2018-10-15T11:00:00+02:00").expect("offset");
        assert_eq!(offset, rfc);
    }

    #[test]
    fn other_forms_are_refused() {
        for bad in [
            "2018/10/15",
            "15/10/2018T09:00:00Z",
            "yesterday",
            "",
            "2018/1/15T09:00:00Z",
        ] {
            assert_eq!(parse_event_time(bad), None, "{bad}");
        }
    }
}
