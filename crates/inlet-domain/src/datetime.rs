//! ASAPP date-times: `2022-07-08T11:15:53.237517000Z`, UTC with `Z` and 0 to
//! 12 fractional digits (DESIGN.md §2). Stricter than RFC 3339 on purpose:
//! no offsets, no lowercase `t`/`z`, no space separator.

use time::{Date, Month, PrimitiveDateTime, Time};

use crate::Timestamp;

/// The most fractional-second digits ASAPP accepts.
const MAX_FRACTION_DIGITS: usize = 12;

/// Parses an ASAPP date-time; `None` unless the text is exactly of that form
/// and names a real instant. Digits past microseconds are truncated.
pub fn parse_asapp_datetime(text: &str) -> Option<Timestamp> {
    if !text.is_ascii() {
        return None;
    }
    let bytes = text.as_bytes();
    let body = text.strip_suffix('Z')?;
    if body.len() < 19 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[10] != b'T' {
        return None;
    }
    if bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let year = digits(&body[0..4])?;
    let month = Month::try_from(u8::try_from(digits(&body[5..7])?).ok()?).ok()?;
    let day = u8::try_from(digits(&body[8..10])?).ok()?;
    let hour = u8::try_from(digits(&body[11..13])?).ok()?;
    let minute = u8::try_from(digits(&body[14..16])?).ok()?;
    let second = u8::try_from(digits(&body[17..19])?).ok()?;
    let micros = fraction_micros(&body[19..])?;
    let date = Date::from_calendar_date(i32::try_from(year).ok()?, month, day).ok()?;
    let time = Time::from_hms_micro(hour, minute, second, micros).ok()?;
    Timestamp::from_offset(PrimitiveDateTime::new(date, time).assume_utc())
}

/// `""` → 0; `".5"` → 500000; more than 12 digits or a bare `.` → `None`.
fn fraction_micros(text: &str) -> Option<u32> {
    if text.is_empty() {
        return Some(0);
    }
    let fraction = text.strip_prefix('.')?;
    if fraction.is_empty()
        || fraction.len() > MAX_FRACTION_DIGITS
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut micros = String::from(&fraction[..fraction.len().min(6)]);
    while micros.len() < 6 {
        micros.push('0');
    }
    micros.parse().ok()
}

fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_zero_to_twelve_fraction_digits() {
        assert!(parse_asapp_datetime("2022-07-08T11:15:53Z").is_some());
        assert!(parse_asapp_datetime("2022-07-08T11:15:53.2Z").is_some());
        let t = parse_asapp_datetime("2022-07-08T11:15:53.237517000Z").unwrap();
        assert_eq!(t.to_string(), "2022-07-08T11:15:53.237517Z");
        assert!(parse_asapp_datetime("2022-07-08T11:15:53.123456789012Z").is_some());
    }

    #[test]
    fn refuses_what_asapp_does_not_send() {
        for bad in [
            "2022-07-08T11:15:53.1234567890123Z",
            "2022-07-08T11:15:53.Z",
            "2022-07-08T11:15:53",
            "2022-07-08T11:15:53+00:00",
            "2022-07-08 11:15:53Z",
            "2022-07-08t11:15:53Z",
            "2022-02-30T11:15:53Z",
            "2022-07-08T24:00:00Z",
            "2022-07-08T11:15:60Z",
            "22-07-08T11:15:53Z",
            "",
        ] {
            assert!(parse_asapp_datetime(bad).is_none(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(text in ".{0,40}") {
            let _ = parse_asapp_datetime(&text);
        }

        #[test]
        fn round_trips_through_display(micros in 0i64..4_102_444_800_000_000) {
            let t = Timestamp::from_micros(micros);
            prop_assert_eq!(parse_asapp_datetime(&t.to_string()), Some(t));
        }
    }
}
