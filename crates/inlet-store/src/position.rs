//! Where a reader stands in one of a tenant's ordered listings (rejections,
//! and later the feed), and the cursor text a client carries between pages.
//!
//! A listing is ordered by `(epoch, seq)`. On SQLite, with its single
//! writer, sequence numbers are handed out in commit order and `epoch` is
//! always 0. On PostgreSQL, sequence numbers of concurrent transactions can
//! commit out of order, so rows are ordered by the id of the transaction
//! that wrote them first (`epoch`), and readers see only transactions older
//! than every one still running: a row can then never appear behind a
//! position a reader has already passed (DESIGN.md §4, "a safe horizon").

use std::fmt;
use std::str::FromStr;

/// A row's place in an ordered listing; pages continue after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The ordering epoch: 0 on SQLite, the writing transaction's id on
    /// PostgreSQL.
    pub epoch: u64,
    /// The row's sequence number within its epoch.
    pub seq: i64,
}

impl Position {
    /// The position before every row.
    pub const START: Self = Self { epoch: 0, seq: 0 };
}

/// `seq` alone when the epoch is 0, else `epoch.seq`.
impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch == 0 {
            write!(f, "{}", self.seq)
        } else {
            write!(f, "{}.{}", self.epoch, self.seq)
        }
    }
}

/// The text is not a cursor this server gave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPosition;

impl FromStr for Position {
    type Err = BadPosition;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        let (epoch, seq) = match text.split_once('.') {
            Some((epoch, seq)) if digits(epoch) && digits(seq) => {
                (epoch.parse().map_err(|_| BadPosition)?, seq)
            }
            None if digits(text) => (0, text),
            _ => return Err(BadPosition),
        };
        let seq = seq.parse().map_err(|_| BadPosition)?;
        Ok(Self { epoch, seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_through_their_text() {
        for position in [
            Position::START,
            Position { epoch: 0, seq: 42 },
            Position {
                epoch: 7_000_123,
                seq: 9,
            },
        ] {
            assert_eq!(position.to_string().parse(), Ok(position));
        }
        assert_eq!(Position { epoch: 0, seq: 42 }.to_string(), "42");
    }

    #[test]
    fn text_that_is_not_a_position_is_refused() {
        for bad in [
            "",
            "-1",
            "1.",
            ".1",
            "a",
            "1.2.3",
            "1.-2",
            "99999999999999999999",
        ] {
            assert_eq!(bad.parse::<Position>(), Err(BadPosition), "{bad:?}");
        }
    }

    #[test]
    fn positions_order_by_epoch_then_seq() {
        let a = Position { epoch: 1, seq: 50 };
        let b = Position { epoch: 2, seq: 3 };
        assert!(a < b);
    }
}
