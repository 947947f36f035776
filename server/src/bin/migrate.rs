//! Applies the migrations to DATABASE_URL and exits: for operators pointing the portal at an
//! existing database (a Supabase project's included) before starting the servers.

use anyhow::Context;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL is not set")?;
    let pool = backend::db::connect_for_command(&url)
        .await
        .context("connecting")?;
    backend::db::migrate(&pool)
        .await
        .context("applying migrations")?;
    println!("migrations applied");
    Ok(())
}
