//! Limits on the requests that check passwords and codes for callers the server does not know
//! yet (`POST /api/session`, public dataflows run without a credential): per remote address and
//! for all addresses together (GCRA, from `governor`), answered with 429 and `Retry-After`
//! before any work; and at most one such request per core at a time, waiting without holding a
//! thread, so Argon2 never takes the threads and cores that serve everything else.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use tokio::sync::Semaphore;

use crate::AppState;
use crate::error::ApiError;

/// Which requests of a route are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// None.
    No,
    /// Those sent without a credential (a public dataflow run by anyone).
    Anonymous,
    /// Every one (a password sign-in).
    Always,
}

/// How many limited requests the server takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitConfig {
    /// Per remote address (an IPv6 address counts by its /64): requests a second, sustained.
    pub per_address_per_second: NonZeroU32,
    /// Per remote address: requests at once after a quiet time.
    pub per_address_burst: NonZeroU32,
    /// From all addresses together: requests a second, sustained.
    pub global_per_second: NonZeroU32,
    /// From all addresses together: requests at once.
    pub global_burst: NonZeroU32,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or networks such as
    /// `10.0.0.0/8`); from anyone else the header is ignored.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for LimitConfig {
    fn default() -> Self {
        let n = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        LimitConfig {
            per_address_per_second: n(20),
            per_address_burst: n(100),
            global_per_second: n(200),
            global_burst: n(400),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Proxies as `sluice serve --trusted-proxies` takes them: addresses or networks
/// (`10.0.0.0/8`), separated by commas.
pub fn parse_networks(text: &str) -> Result<Vec<IpNet>, String> {
    let items = text.split(',').map(str::trim).filter(|t| !t.is_empty());
    items
        .map(|item| {
            item.parse::<IpNet>().or_else(|_| item.parse::<IpAddr>().map(IpNet::from)).map_err(|_| {
                format!("\"{item}\" is neither an IP address nor a network such as 10.0.0.0/8 or fd00::/8")
            })
        })
        .collect()
}

/// Addresses whose counts are kept before those back at full allowance are forgotten.
const MAX_TRACKED: usize = 100_000;

/// The limiters and the permits for limited requests.
pub struct Limits {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    global: DefaultDirectRateLimiter,
    running: Semaphore,
    trusted: Vec<IpNet>,
}

impl Limits {
    /// Limits as `config` says, letting as many limited requests run at once as there are cores.
    pub fn new(config: &LimitConfig) -> Limits {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Limits {
            per_address: RateLimiter::keyed(
                Quota::per_second(config.per_address_per_second).allow_burst(config.per_address_burst),
            ),
            global: RateLimiter::direct(Quota::per_second(config.global_per_second).allow_burst(config.global_burst)),
            running: Semaphore::new(cores),
            trusted: config.trusted_proxies.clone(),
        }
    }

    /// `Err(seconds to wait)` when the address, or everyone together, is over the limit.
    fn admit(&self, address: Option<IpAddr>) -> Result<(), u64> {
        let now = DefaultClock::default().now();
        let wait = |not_until: governor::NotUntil<_>| not_until.wait_time_from(now).as_secs() + 1;
        if let Some(address) = address {
            if self.per_address.len() > MAX_TRACKED {
                self.per_address.retain_recent();
            }
            self.per_address.check_key(&address).map_err(wait)?;
        }
        self.global.check().map_err(wait)
    }

    /// The address a request comes from: the peer, or, when the peer is a trusted proxy, the
    /// last address of `X-Forwarded-For` that is not a trusted proxy. IPv6 addresses count by
    /// their /64 (one subscriber's share).
    fn address_of(&self, request: &Request) -> Option<IpAddr> {
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>()?.0.ip().to_canonical();
        let trusted = |ip: &IpAddr| self.trusted.iter().any(|net| net.contains(ip));
        let mut address = peer;
        if trusted(&peer) {
            let forwarded = request.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
            let hops: Vec<&str> = forwarded.flat_map(|v| v.split(',')).map(str::trim).collect();
            for hop in hops.iter().rev() {
                let Ok(ip) = hop.parse::<IpAddr>() else { break };
                address = ip.to_canonical();
                if !trusted(&address) {
                    break;
                }
            }
        }
        Some(match address {
            IpAddr::V6(v6) => IpNet::new(IpAddr::V6(v6), 64).map_or(address, |net| net.trunc().addr()),
            v4 => v4,
        })
    }
}

/// The limits of a route (see [`crate::auth::guard`], which calls this first): over them, the
/// seconds to wait ([`too_many_requests`]); else, for a limited request, the semaphore whose
/// permit it holds while it runs.
pub fn throttle<'a>(state: &'a AppState, throttle: Throttle, request: &Request) -> Result<Option<&'a Semaphore>, u64> {
    let limited = match throttle {
        Throttle::No => false,
        Throttle::Anonymous => !request.headers().contains_key(header::AUTHORIZATION),
        Throttle::Always => true,
    };
    if !limited {
        return Ok(None);
    }
    let limits = &state.limits;
    limits.admit(limits.address_of(request))?;
    Ok(Some(&limits.running))
}

/// 429 with `Retry-After`.
pub fn too_many_requests(seconds: u64) -> Response {
    let message = format!("too many requests; try again in {seconds} s");
    let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let parsed = parse_networks(" 127.0.0.1, 10.0.0.0/8,fd00::/8 ,").unwrap();
        let shown: Vec<String> = parsed.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]);
        assert_eq!(
            parse_networks("10.0.0.0/33").unwrap_err(),
            "\"10.0.0.0/33\" is neither an IP address nor a network such as 10.0.0.0/8 or fd00::/8"
        );
    }
}
