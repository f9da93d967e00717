//! `inlet keys create | list | revoke`: manage API keys in the store
//! directly. Safe while servers run on the same data directory or database;
//! every server honours changes within a second (its key cache lives 500 ms).

use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use inlet_domain::{ApiId, Clock, Role, SystemClock, TenantId};
use inlet_server::issue_key;
use inlet_store::{Credential, KeyLimits, Store, StoreError};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::config::StoreArgs;

/// Days a key lives unless `--expires-in-days` says otherwise (DESIGN.md §5).
const DEFAULT_EXPIRES_IN_DAYS: u32 = 365;

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a key and print it as JSON; the secret is shown only here.
    Create {
        /// The tenant whose data the key reaches.
        #[arg(long)]
        tenant: String,
        /// A role: ingest, AsyncMetaData, read or admin. Repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Days until the key expires (at least 1).
        #[arg(long, default_value_t = DEFAULT_EXPIRES_IN_DAYS,
              value_parser = clap::value_parser!(u32).range(1..))]
        expires_in_days: u32,
        /// `json`: one JSON object; `env`: `export INLET_API_ID=..` lines for `eval`.
        #[arg(long, value_enum, default_value = "json")]
        output: KeyOutput,
        #[command(flatten)]
        limits: KeyLimitArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List keys (never their secrets), one JSON object per line.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key; it stops working within a second.
    Revoke {
        /// The key's api id.
        api_id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// This key's own request limits; unset ones follow the server's
/// `limits.*` configuration.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct KeyLimitArgs {
    /// Sustained requests per second for this key; 0: no rate limit.
    #[arg(long, allow_negative_numbers = true, value_parser = positive_rate)]
    rate_per_second: Option<f64>,
    /// Requests this key may send at once, above the sustained rate.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    burst: Option<u32>,
    /// Requests this key may send per UTC day.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    daily_quota: Option<u64>,
}

impl From<KeyLimitArgs> for KeyLimits {
    fn from(args: KeyLimitArgs) -> Self {
        Self {
            rate_per_second: args.rate_per_second,
            burst: args.burst,
            daily_quota: args.daily_quota,
        }
    }
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.0 => Ok(rate),
        _ => Err(format!(
            "expected a number, e.g. 100 or 2.5, or 0 for no rate limit; got {text:?}"
        )),
    }
}

/// How `keys create` prints the new key.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum KeyOutput {
    /// `{"apiId","apiSecret","tenant","roles","expiresAt"}`
    Json,
    /// Shell lines setting `INLET_API_ID` and `INLET_API_SECRET`.
    Env,
}

pub(crate) async fn run(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            tenant,
            roles,
            expires_in_days,
            output,
            limits,
            store,
        } => {
            let tenant = TenantId::parse(tenant).context("invalid --tenant")?;
            let roles = parse_roles(&roles)?;
            let store = open(&store).await?;
            let issued = issue_key(
                tenant,
                roles,
                expires_in_days,
                limits.into(),
                SystemClock.now(),
            );
            let key = &issued.credential;
            let printed = json!({
                "apiId": key.api_id,
                "apiSecret": issued.secret.expose_secret(),
                "tenant": key.tenant,
                "roles": key.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "expiresAt": key.expires_at,
            });
            store
                .insert_credential(issued.credential.clone())
                .await
                .context("cannot store the key")?;
            match output {
                KeyOutput::Json => println!("{printed}"),
                // Both values are alphanumeric or `_`: safe unquoted in a shell.
                KeyOutput::Env => println!(
                    "export INLET_API_ID={}\nexport INLET_API_SECRET={}",
                    key.api_id,
                    issued.secret.expose_secret()
                ),
            }
        }
        KeysCommand::List { store } => {
            let now = SystemClock.now();
            for credential in open(&store)
                .await?
                .list_credentials()
                .await
                .context("cannot list keys")?
            {
                println!("{}", describe(&credential, now));
            }
        }
        KeysCommand::Revoke { api_id, store } => {
            let api_id = ApiId::parse(api_id).context("invalid api id")?;
            match open(&store)
                .await?
                .revoke_credential(&api_id, SystemClock.now())
                .await
            {
                Ok(()) => println!("{}", json!({"apiId": api_id, "revoked": true})),
                Err(StoreError::NotFound) => bail!("no key with api id {api_id}"),
                Err(err) => return Err(err).context("cannot revoke the key"),
            }
        }
    }
    Ok(())
}

fn parse_roles(names: &[String]) -> anyhow::Result<Vec<Role>> {
    let mut roles: Vec<Role> = names
        .iter()
        .map(|name| Role::parse(name))
        .collect::<Result<_, _>>()
        .context("invalid --role")?;
    roles.sort();
    roles.dedup();
    Ok(roles)
}

async fn open(args: &StoreArgs) -> anyhow::Result<Arc<dyn Store>> {
    Ok(crate::store::open(&args.load()?).await?.store)
}

fn describe(credential: &Credential, now: inlet_domain::Timestamp) -> serde_json::Value {
    let key = &credential.key;
    let status = if credential.revoked_at.is_some() {
        "revoked"
    } else if credential.is_active(now) {
        "active"
    } else {
        "expired"
    };
    json!({
        "apiId": key.api_id,
        "tenant": key.tenant,
        "roles": key.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "createdAt": key.created_at,
        "expiresAt": key.expires_at,
        "revokedAt": credential.revoked_at,
        "status": status,
        "limits": {
            "ratePerSecond": key.limits.rate_per_second,
            "burst": key.limits.burst,
            "dailyQuota": key.limits.daily_quota,
        },
    })
}
