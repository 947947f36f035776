//! The server's pool (`backend::db::connect`): each new connection is warmed as nobody and
//! handed out clean, on a migrated database and on an empty one.

mod common;

use common::url_of;
use sqlx::PgPool;

/// What a connection carries when the pool hands it out: its role, the claims, and whether
/// a transaction is still open. Sent as one simple query, so that outside a transaction
/// the statement's own starts it (`now()` is then this statement's time; a transaction
/// begun earlier started before it).
async fn state_of(conn: &mut sqlx::PgConnection) -> (bool, Option<String>, bool) {
    use sqlx::Row;
    let row = sqlx::raw_sql(
        "select current_user = session_user,
                nullif(current_setting('request.jwt.claims', true), ''),
                now() < statement_timestamp()",
    )
    .fetch_one(conn)
    .await
    .expect("state");
    (row.get(0), row.get(1), row.get(2))
}

async fn assert_clean(pool: &PgPool) {
    // Several at once: the warm ones and new ones the pool opens for this.
    let mut conns = Vec::new();
    for _ in 0..6 {
        conns.push(pool.acquire().await.expect("a connection"));
    }
    for conn in &mut conns {
        assert_eq!(state_of(conn).await, (true, None, false));
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn warmed_connections_are_handed_out_as_the_server_with_nothing_open(pool: PgPool) {
    let server = backend::db::connect(&url_of(&pool), backend::db::WARM_CONNECTIONS)
        .await
        .expect("pool");
    assert_clean(&server).await;
    // On a migrated database the warm-up runs whole (a renamed helper would stop it, and
    // the pages would pay each connection's first statements again).
    let mut conn = server.acquire().await.expect("a connection");
    assert!(
        backend::db::warm_up(&mut conn).await,
        "the warm-up ran whole"
    );
    drop(conn);
    backend::db::warm_pool(&server, backend::db::WARM_CONNECTIONS).await;
    assert_clean(&server).await;
    server.close().await;
}

#[sqlx::test(migrations = false)]
async fn a_database_without_our_schema_still_gets_clean_connections(pool: PgPool) {
    // Before the migrations (a fresh database): the warm-up's reads fail, and the
    // connection is handed out as if it had not run.
    let server = backend::db::connect(&url_of(&pool), backend::db::WARM_CONNECTIONS)
        .await
        .expect("pool");
    assert_clean(&server).await;
    let mut conn = server.acquire().await.expect("a connection");
    assert!(!backend::db::warm_up(&mut conn).await, "nothing to warm");
    drop(conn);
    // Warmed again (as after the migrations), still clean.
    backend::db::warm_pool(&server, backend::db::WARM_CONNECTIONS).await;
    assert_clean(&server).await;
    let one: i32 = sqlx::query_scalar("select 1")
        .fetch_one(&server)
        .await
        .expect("usable");
    assert_eq!(one, 1);
    server.close().await;
}
