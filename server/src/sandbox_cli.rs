//! `server sandbox <provider> [--port N] [--companies N] [--seed N] ...`: a provider's
//! sandbox alone, in the foreground, for anyone testing a client against it.

use anyhow::{bail, Context};
use backend::providers::acessorias::sandbox::{self as acessorias, Options};
use backend::providers::bomcontrole::sandbox as bomcontrole;

const USAGE: &str = "usage:
  server sandbox acessorias [--port 4001] [--companies 60] [--seed 1] [--without-document N]
                            [--closed-every N] [--deliveries-per-company N] [--deliveries-as-array]
  server sandbox bomcontrole [--port 4002] [--clients 40] [--seed 1] [--entries-per-client 6]
                             [--without-document N] [--payable-every 4]";

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
        _ => bail!("{USAGE}"),
    }
}
