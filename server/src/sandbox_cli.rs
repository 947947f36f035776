//! `server sandbox <provider> [--port N] [--companies N] [--seed N] ...`: a provider's
//! sandbox alone, in the foreground, for anyone testing a client against it; and
//! `server sandbox onecode --send-events N --to <url> --secret <s>`, OneCode's webhook played
//! against an address (a local portal, say).

use anyhow::{bail, Context};
use backend::providers::acessorias::sandbox::{self as acessorias, Options};
use backend::providers::bomcontrole::sandbox as bomcontrole;
use backend::providers::onecode::sandbox as onecode;

const USAGE: &str = "usage:
  server sandbox acessorias [--port 4001] [--companies 60] [--seed 1] [--without-document N]
                            [--closed-every N] [--deliveries-per-company N] [--deliveries-as-array]
  server sandbox bomcontrole [--port 4002] [--clients 40] [--seed 1] [--entries-per-client 6]
                             [--without-document N] [--payable-every 4]
  server sandbox onecode [--port 4003] [--contacts 60] [--companies 60] [--seed 1]
                         [--without-document N] [--rate-limit 600]
  server sandbox onecode --send-events N --to <url> --secret <s> [--seed 1] [--concurrency 8]
                         [--first 0] [--contacts 60] [--companies 60]";

/// The value after `--name`, parsed.
fn flag<T: std::str::FromStr>(args: &[String], name: &str) -> anyhow::Result<Option<T>> {
    let Some(i) = args.iter().position(|a| a == name) else {
        return Ok(None);
    };
    let raw = args
        .get(i + 1)
        .with_context(|| format!("{name} needs a value\n{USAGE}"))?;
    raw.parse()
        .map(Some)
        .map_err(|_| anyhow::anyhow!("{name}: not a valid value: {raw}\n{USAGE}"))
}

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        Some("acessorias") => {
            let port: u16 = flag(args, "--port")?.unwrap_or(4001);
            let d = Options::default();
            let opts = Options {
                companies: flag(args, "--companies")?.unwrap_or(d.companies),
                seed: flag(args, "--seed")?.unwrap_or(d.seed),
                without_document: flag(args, "--without-document")?.unwrap_or(d.without_document),
                closed_every: flag(args, "--closed-every")?.unwrap_or(d.closed_every),
                deliveries_per_company: flag(args, "--deliveries-per-company")?
                    .unwrap_or(d.deliveries_per_company),
                deliveries_as_array: args.iter().any(|a| a == "--deliveries-as-array"),
            };
            let sandbox = acessorias::Sandbox::new(opts.clone());
            let addr = acessorias::spawn(sandbox, ([127, 0, 0, 1], port).into())
                .await
                .with_context(|| format!("binding 127.0.0.1:{port}"))?;
            println!(
                "Acessórias sandbox on http://{addr} ({} companies, seed {}); token: any 'sbx_...' as Bearer",
                opts.companies, opts.seed
            );
            println!("  curl -H 'Authorization: Bearer sbx_demo_token' 'http://{addr}/companies/ListAll?Pagina=1'");
            println!("  control: GET /_sandbox/stats, POST /_sandbox/faults, /_sandbox/change?count=N, /_sandbox/close?count=N");
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            Ok(())
        }
        Some("bomcontrole") => {
            let port: u16 = flag(args, "--port")?.unwrap_or(4002);
            let d = bomcontrole::Options::default();
            let opts = bomcontrole::Options {
                clients: flag(args, "--clients")?.unwrap_or(d.clients),
                seed: flag(args, "--seed")?.unwrap_or(d.seed),
                entries_per_client: flag(args, "--entries-per-client")?
                    .unwrap_or(d.entries_per_client),
                without_document: flag(args, "--without-document")?.unwrap_or(d.without_document),
                payable_every: flag(args, "--payable-every")?.unwrap_or(d.payable_every),
            };
            let sandbox = bomcontrole::Sandbox::new(opts.clone());
            let addr = bomcontrole::spawn(sandbox, ([127, 0, 0, 1], port).into())
                .await
                .with_context(|| format!("binding 127.0.0.1:{port}"))?;
            println!(
                "BomControle sandbox on http://{addr} ({} clients × {} entries, seed {}); key: any 'sbx_...' as ApiKey",
                opts.clients, opts.entries_per_client, opts.seed
            );
            println!("  curl -H 'Authorization: ApiKey sbx_demo_token' 'http://{addr}/Cliente/Pesquisar?pesquisa='");
            println!(
                "  control: GET /_sandbox/stats, POST /_sandbox/faults, /_sandbox/change?count=N"
            );
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            Ok(())
        }
        Some("onecode") => onecode_cli(args).await,
        _ => bail!("{USAGE}"),
    }
}

/// `server sandbox onecode ...`: serves the OneCode sandbox, or with `--send-events` posts
/// its webhook events to `--to` and fails unless every one was acknowledged.
async fn onecode_cli(args: &[String]) -> anyhow::Result<()> {
    let d = onecode::Options::default();
    let opts = onecode::Options {
        contacts: flag(args, "--contacts")?.unwrap_or(d.contacts),
        companies: flag(args, "--companies")?.unwrap_or(d.companies),
        seed: flag(args, "--seed")?.unwrap_or(d.seed),
        without_document: flag(args, "--without-document")?.unwrap_or(d.without_document),
        rate_limit_per_minute: flag(args, "--rate-limit")?.unwrap_or(d.rate_limit_per_minute),
        ..d
    };
    let sandbox = onecode::Sandbox::new(opts.clone());
    if let Some(events) = flag::<usize>(args, "--send-events")? {
        let to: String =
            flag(args, "--to")?.with_context(|| format!("--to is required\n{USAGE}"))?;
        let secret: String =
            flag(args, "--secret")?.with_context(|| format!("--secret is required\n{USAGE}"))?;
        let send = onecode::SendOptions {
            events,
            seed: opts.seed,
            concurrency: flag(args, "--concurrency")?.unwrap_or(8),
            first: flag(args, "--first")?.unwrap_or(0),
        };
        let report = onecode::send_events_to(&to, &secret, &sandbox, send)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        if !report.all_acknowledged() {
            bail!(
                "{} of {} event(s) not acknowledged ({} refused, {} without an answer)",
                report.sent - report.acknowledged,
                report.sent,
                report.rejected,
                report.errors
            );
        }
        return Ok(());
    }
    let port: u16 = flag(args, "--port")?.unwrap_or(4003);
    let addr = onecode::spawn(sandbox, ([127, 0, 0, 1], port).into())
        .await
        .with_context(|| format!("binding 127.0.0.1:{port}"))?;
    println!(
        "OneCode sandbox on http://{addr} ({} contacts from {} Acessórias companies, seed {}); token: any 'sbx_...' as Bearer",
        opts.contacts, opts.companies, opts.seed
    );
    println!("  curl -H 'Authorization: Bearer sbx_demo_token' 'http://{addr}/api/contacts?page=1&pageSize=20'");
    println!("  control: GET /_sandbox/stats, POST /_sandbox/faults, /_sandbox/rename?count=N");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
