//! Per-key request limits: a token bucket (sustained rate and burst) and an
//! optional daily quota that resets at 00:00 UTC (DESIGN.md §6).
//!
//! Time comes from the injected clock, so tests move it instead of waiting.
//! State lives in this process: with several nodes, each enforces the
//! limits on the requests it serves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use inlet_domain::{ApiId, Timestamp};
use inlet_store::KeyLimits;

use crate::ApiError;

/// Default sustained requests per second per key (DESIGN.md §6).
pub const DEFAULT_RATE_PER_SECOND: f64 = 100.0;
/// Default bucket size per key (DESIGN.md §6).
pub const DEFAULT_BURST: u32 = 200;

const MICROS_PER_SECOND: f64 = 1_000_000.0;
const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

/// The limits that apply to one key: its own overrides, else the server's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    /// Tokens added per second; 0 turns the rate limit off.
    pub rate_per_second: f64,
    /// Most tokens the bucket holds.
    pub burst: u32,
    /// Requests per UTC day, if limited.
    pub daily_quota: Option<u64>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            rate_per_second: DEFAULT_RATE_PER_SECOND,
            burst: DEFAULT_BURST,
            daily_quota: None,
        }
    }
}

impl RateLimits {
    /// These defaults overridden by a key's own limits.
    pub fn for_key(self, key: &KeyLimits) -> Self {
        Self {
            rate_per_second: key.rate_per_second.unwrap_or(self.rate_per_second),
            burst: key.burst.unwrap_or(self.burst),
            daily_quota: key.daily_quota.or(self.daily_quota),
        }
    }
}

/// What the `X-RateLimit-*` headers say about a key after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Allowance {
    limit: u64,
    remaining: u64,
    reset_seconds: u64,
}

impl Allowance {
    /// No limit applies: no `X-RateLimit-*` headers are written.
    const UNLIMITED: Self = Self {
        limit: u64::MAX,
        remaining: u64::MAX,
        reset_seconds: 0,
    };
}

/// The per-key state of every key seen by this process.
#[derive(Default)]
pub struct Limiter {
    keys: Mutex<HashMap<ApiId, KeyState>>,
}

struct KeyState {
    tokens: f64,
    refilled: Timestamp,
    day: i64,
    used_today: u64,
}

impl Limiter {
    /// Counts one request of `api_id` at `now`: its allowance, or the 429
    /// to answer (with the allowance for the headers).
    pub(crate) fn admit(
        &self,
        api_id: &ApiId,
        limits: RateLimits,
        now: Timestamp,
    ) -> Result<Allowance, (ApiError, Allowance)> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let burst = f64::from(limits.burst);
        // Copy the id only the first time a key is seen, not on every request.
        if !keys.contains_key(api_id) {
            keys.insert(
                api_id.clone(),
                KeyState {
                    tokens: burst,
                    refilled: now,
                    day: day_of(now),
                    used_today: 0,
                },
            );
        }
        let Some(state) = keys.get_mut(api_id) else {
            unreachable!("inserted above while holding the lock")
        };
        // A clock that steps back refills nothing rather than draining.
        let elapsed =
            (now.as_micros() - state.refilled.as_micros()).max(0) as f64 / MICROS_PER_SECOND;
        state.tokens = (state.tokens + elapsed * limits.rate_per_second).min(burst);
        state.refilled = now;
        if day_of(now) != state.day {
            state.day = day_of(now);
            state.used_today = 0;
        }
        let to_midnight = seconds_to_next_day(now);
        if let Some(quota) = limits.daily_quota
            && state.used_today >= quota
        {
            let allowance = Allowance {
                limit: quota,
                remaining: 0,
                reset_seconds: to_midnight,
            };
            return Err((ApiError::quota_exhausted(to_midnight), allowance));
        }
        if limits.rate_per_second <= 0.0 {
            // No rate limit: only a quota, if any, is counted and reported.
            state.used_today += 1;
            return Ok(match limits.daily_quota {
                Some(quota) => Allowance {
                    limit: quota,
                    remaining: quota - state.used_today,
                    reset_seconds: to_midnight,
                },
                None => Allowance::UNLIMITED,
            });
        }
        if state.tokens < 1.0 {
            let wait = ((1.0 - state.tokens) / limits.rate_per_second)
                .ceil()
                .max(1.0) as u64;
            let allowance = bucket_allowance(state.tokens, limits);
            return Err((ApiError::rate_limited(wait), allowance));
        }
        state.tokens -= 1.0;
        state.used_today += 1;
        let bucket = bucket_allowance(state.tokens, limits);
        Ok(match limits.daily_quota {
            Some(quota) if quota - state.used_today < bucket.remaining => Allowance {
                limit: quota,
                remaining: quota - state.used_today,
                reset_seconds: to_midnight,
            },
            _ => bucket,
        })
    }
}

fn bucket_allowance(tokens: f64, limits: RateLimits) -> Allowance {
    let missing = f64::from(limits.burst) - tokens;
    Allowance {
        limit: u64::from(limits.burst),
        remaining: tokens.max(0.0).floor() as u64,
        reset_seconds: (missing / limits.rate_per_second).ceil().max(0.0) as u64,
    }
}

fn day_of(now: Timestamp) -> i64 {
    now.as_micros().div_euclid(MICROS_PER_DAY)
}

fn seconds_to_next_day(now: Timestamp) -> u64 {
    let left = MICROS_PER_DAY - now.as_micros().rem_euclid(MICROS_PER_DAY);
    u64::try_from((left + 999_999) / 1_000_000).unwrap_or(0)
}

/// Where the auth extractor leaves the allowance for [`rate_limit_headers`].
pub(crate) type AllowanceSlot = Arc<OnceLock<Allowance>>;

// Names built once: a `&str` name is parsed and checked on every insert.
const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Middleware: gives the request an [`AllowanceSlot`] and writes
/// `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds) on the answer of
/// every request whose key was checked, including its 429s.
pub(crate) async fn rate_limit_headers(mut request: Request, next: Next) -> Response {
    let slot = AllowanceSlot::default();
    request.extensions_mut().insert(Arc::clone(&slot));
    let mut response = next.run(request).await;
    if let Some(allowance) = slot.get().filter(|a| **a != Allowance::UNLIMITED) {
        let headers = response.headers_mut();
        headers.insert(LIMIT, HeaderValue::from(allowance.limit));
        headers.insert(REMAINING, HeaderValue::from(allowance.remaining));
        headers.insert(RESET, HeaderValue::from(allowance.reset_seconds));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: f64) -> Timestamp {
        // 2026-11-22T00:00:00Z plus `seconds`.
        Timestamp::from_micros(1_795_305_600_000_000 + (seconds * 1e6) as i64)
    }

    fn key() -> ApiId {
        ApiId::parse("k").unwrap()
    }

    const TWO_PER_SECOND: RateLimits = RateLimits {
        rate_per_second: 2.0,
        burst: 3,
        daily_quota: None,
    };

    #[test]
    fn a_burst_past_the_bucket_is_refused_until_tokens_refill() {
        let limiter = Limiter::default();
        for remaining in [2, 1, 0] {
            let allowance = limiter.admit(&key(), TWO_PER_SECOND, at(0.0)).unwrap();
            assert_eq!(allowance.remaining, remaining);
            assert_eq!(allowance.limit, 3);
        }
        let (error, allowance) = limiter.admit(&key(), TWO_PER_SECOND, at(0.0)).unwrap_err();
        assert_eq!(error.code(), "429-01");
        assert_eq!(allowance.remaining, 0);
        assert_eq!(allowance.reset_seconds, 2, "3 tokens at 2/s");
        assert!(limiter.admit(&key(), TWO_PER_SECOND, at(0.4)).is_err());
        assert!(limiter.admit(&key(), TWO_PER_SECOND, at(0.5)).is_ok());
    }

    #[test]
    fn keys_have_separate_buckets() {
        let limiter = Limiter::default();
        let other = ApiId::parse("other").unwrap();
        for _ in 0..3 {
            limiter.admit(&key(), TWO_PER_SECOND, at(0.0)).unwrap();
        }
        assert!(limiter.admit(&key(), TWO_PER_SECOND, at(0.0)).is_err());
        assert!(limiter.admit(&other, TWO_PER_SECOND, at(0.0)).is_ok());
    }

    #[test]
    fn the_daily_quota_resets_at_midnight_utc() {
        let limiter = Limiter::default();
        let limits = RateLimits {
            daily_quota: Some(2),
            ..RateLimits::default()
        };
        let evening = at(86_400.0 - 10.0);
        limiter.admit(&key(), limits, evening).unwrap();
        let allowance = limiter.admit(&key(), limits, evening).unwrap();
        assert_eq!((allowance.limit, allowance.remaining), (2, 0));
        assert_eq!(allowance.reset_seconds, 10);
        let (error, _) = limiter
            .admit(&key(), limits, at(86_400.0 - 1.0))
            .unwrap_err();
        assert_eq!(error.code(), "429-02");
        assert!(limiter.admit(&key(), limits, at(86_400.0)).is_ok());
    }

    #[test]
    fn a_rate_of_zero_turns_the_rate_limit_off_but_keeps_the_quota() {
        let limiter = Limiter::default();
        let off = RateLimits {
            rate_per_second: 0.0,
            burst: 1,
            daily_quota: None,
        };
        for _ in 0..10 {
            assert_eq!(
                limiter.admit(&key(), off, at(0.0)),
                Ok(Allowance::UNLIMITED)
            );
        }
        let quota_only = RateLimits {
            daily_quota: Some(1),
            ..off
        };
        let other = ApiId::parse("other").unwrap();
        assert!(limiter.admit(&other, quota_only, at(0.0)).is_ok());
        let (error, _) = limiter.admit(&other, quota_only, at(0.0)).unwrap_err();
        assert_eq!(error.code(), "429-02");
    }

    #[test]
    fn a_key_override_replaces_only_what_it_sets() {
        let defaults = RateLimits::default();
        let key = KeyLimits {
            rate_per_second: Some(5.0),
            burst: None,
            daily_quota: Some(10),
        };
        assert_eq!(
            defaults.for_key(&key),
            RateLimits {
                rate_per_second: 5.0,
                burst: DEFAULT_BURST,
                daily_quota: Some(10)
            }
        );
    }
}
