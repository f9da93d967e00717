//! `inlet rules set FILE --tenant T` and `inlet rules show --tenant T`: a
//! tenant's matching rules, straight in the store (the same as
//! `PUT`/`GET /callevent/v1/matching-rules` with an admin key).

use anyhow::{Context, bail};
use clap::Subcommand;
use inlet_domain::{Clock, SystemClock, TenantId};
use inlet_match::parse_rules;

use crate::config::StoreArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// Replace the tenant's rules with those of FILE (`{"rules": [...]}`;
    /// `-` reads stdin) and re-match its waiting and unmatched events.
    Set {
        /// A JSON file `{"rules": [...]}`, or `-` for stdin.
        file: String,
        /// The tenant whose rules these are.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print the tenant's rules as JSON.
    Show {
        /// The tenant whose rules to print.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub(crate) async fn run(command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::Set {
            file,
            tenant,
            store,
        } => {
            let tenant = TenantId::parse(tenant).context("invalid --tenant")?;
            let text = if file == "-" {
                std::io::read_to_string(std::io::stdin()).context("cannot read stdin")?
            } else {
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {file}"))?
            };
            let body: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{file} is not JSON"))?;
            let rules = match parse_rules(&body) {
                Ok(rules) => rules,
                Err(problems) => bail!("{file}: {}", problems.join("; ")),
            };
            let answer = rules.to_json();
            let store = crate::store::open(&store.load()?).await?.store;
            store
                .put_matching_rules(&tenant, rules, SystemClock.now())
                .await
                .context("cannot store the rules")?;
            println!("{answer}");
        }
        RulesCommand::Show { tenant, store } => {
            let tenant = TenantId::parse(tenant).context("invalid --tenant")?;
            let store = crate::store::open(&store.load()?).await?.store;
            let rules = store
                .get_matching_rules(&tenant)
                .await
                .context("cannot read the rules")?;
            println!("{}", rules.to_json());
        }
    }
    Ok(())
}
