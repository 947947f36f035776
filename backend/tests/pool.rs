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

/// One pool connection, so that what a transaction leaves behind is what the next user
/// of the pool gets.
async fn single(options: sqlx::postgres::PgConnectOptions) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("pool")
}

/// The one connection of `one`, as its next user gets it once it is back in the pool: the
/// server's own role, no claims, no transaction. Closes the pool.
async fn assert_next_user_gets_it_clean(one: PgPool) {
    let mut conn = one
        .acquire()
        .await
        .expect("the connection, back in the pool");
    assert_eq!(state_of(&mut conn).await, (true, None, false));
    drop(conn);
    one.close().await;
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_callers_transaction_carries_exactly_their_claims_and_leaves_nothing(pool: PgPool) {
    // `begin_as` writes the claims into its statement (one round trip, no binding): an
    // address with quotes, backslashes and SQL in it must arrive as it was, and stay text.
    let email = r#"o'brien\'); select set_config('role', 'postgres', false); --"\\x@ex.com"#;
    let claims = common::claims_for(uuid::Uuid::new_v4(), email);
    let one = single(pool.connect_options().as_ref().clone()).await;
    let mut tx = backend::scope::begin_as(&one, &claims)
        .await
        .expect("begins");
    let (set, user, uid, in_tx): (serde_json::Value, String, Option<uuid::Uuid>, bool) =
        sqlx::query_as(
            "select current_setting('request.jwt.claims')::jsonb, current_user::text,
                    auth.uid(), now() < statement_timestamp()",
        )
        .fetch_one(&mut *tx)
        .await
        .expect("as the caller");
    assert_eq!(set, serde_json::to_value(&claims).expect("json"));
    assert_eq!(set["email"], email);
    assert_eq!(user, "authenticated");
    assert_eq!(uid, Some(claims.sub));
    assert!(
        in_tx,
        "the statements run in the transaction begun before them"
    );
    tx.commit().await.expect("commits");
    assert_next_user_gets_it_clean(one).await;
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_begin_that_fails_leaves_the_connection_outside_any_transaction(pool: PgPool) {
    // A login that may not become `authenticated`: `begin_as`'s set_config fails. The
    // connection must go back to the pool usable, not inside an aborted transaction
    // (which it would be if the `BEGIN` ran before the failing statement).
    let role = format!("portal_test_{}", uuid::Uuid::new_v4().simple());
    let password = uuid::Uuid::new_v4().simple().to_string();
    sqlx::query(&format!("create role {role} login password '{password}'"))
        .execute(&pool)
        .await
        .expect("role");
    let options = pool
        .connect_options()
        .as_ref()
        .clone()
        .username(&role)
        .password(&password);
    let one = single(options).await;
    let claims = common::claims_for(uuid::Uuid::new_v4(), "ninguem@example.com");
    let begun = backend::scope::begin_as(&one, &claims).await;
    let mut conn = one.acquire().await.expect("the connection");
    let after = state_of(&mut conn).await;
    let one_more: sqlx::Result<i32> = sqlx::query_scalar("select 1").fetch_one(&mut *conn).await;
    drop(conn);
    one.close().await;
    // The role goes before any assertion, so a failing one leaves nothing in the cluster.
    sqlx::query(&format!("drop role {role}"))
        .execute(&pool)
        .await
        .expect("drop role");
    let Err(err) = begun else {
        panic!("a login that may not become authenticated began a transaction");
    };
    assert!(
        err.to_string().contains("permission denied"),
        "refused for its role: {err}"
    );
    let (own_role, claims_left, in_tx) = after;
    assert!(own_role);
    assert_eq!(
        claims_left, None,
        "the failed statement's settings are gone"
    );
    assert!(!in_tx, "no transaction left open");
    assert_eq!(one_more.expect("usable"), 1);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_read_transaction_dropped_unfinished_leaves_nothing_for_the_next_request(pool: PgPool) {
    // What `ssr::end_read` does: the transaction is dropped, not committed. sqlx rolls it
    // back as the connection goes back to the pool; the next user gets it clean.
    let claims = common::claims_for(uuid::Uuid::new_v4(), "leitor@example.com");
    let one = single(pool.connect_options().as_ref().clone()).await;
    let mut tx = backend::scope::begin_as(&one, &claims)
        .await
        .expect("begins");
    let user: String = sqlx::query_scalar("select current_user::text")
        .fetch_one(&mut *tx)
        .await
        .expect("reads");
    assert_eq!(user, "authenticated");
    drop(tx);
    assert_next_user_gets_it_clean(one).await;
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_begin_abandoned_before_its_answer_leaves_nothing_for_the_next_request(pool: PgPool) {
    // A browser that leaves a page drops its requests' futures, a `begin_as` among them,
    // possibly after its `BEGIN` went out and before the answer was read. The next user of
    // the connection (a job, another person) must not find the caller's transaction, role
    // and claims still open on it.
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let claims = common::claims_for(uuid::Uuid::new_v4(), "saiu@example.com");
    let one = single(pool.connect_options().as_ref().clone()).await;
    let mut watcher = pool.acquire().await.expect("a watcher");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    'attempt: loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the database never began the caller's transaction"
        );
        // The pool's one connection, back and idle (a previous attempt's rollback done),
        // and its server process, the one watched.
        let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
            .fetch_one(&one)
            .await
            .expect("pid");
        while one.num_idle() != 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "the connection came back"
            );
            tokio::task::yield_now().await;
        }
        let mut begin = Box::pin(backend::scope::begin_as(&one, &claims));
        // Polled by hand, and abandoned as soon as that connection is seen inside a
        // transaction: without a task of its own, the begin's answer is never read.
        loop {
            match begin.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(tx) => {
                    // Answered within one poll: nothing abandoned; again.
                    drop(tx.expect("begins"));
                    tokio::task::yield_now().await;
                    continue 'attempt;
                }
                Poll::Pending => {}
            }
            let open: i64 = sqlx::query_scalar(
                "select count(*) from pg_stat_activity
                  where pid = $1 and state = 'idle in transaction'",
            )
            .bind(pid)
            .fetch_one(&mut *watcher)
            .await
            .expect("activity");
            if open > 0 {
                drop(begin);
                break 'attempt;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the database never began the caller's transaction"
            );
        }
    }
    drop(watcher);
    assert_next_user_gets_it_clean(one).await;
}

/// A caller's statements are planned once per connection (`begin_as`: `plan_cache_mode =
/// force_generic_plan`, for its transaction), from their first run: the dashboard's list
/// is not planned again for its values. A transaction that asks for plans per value
/// (`plan_for_bound_values`) gets them, and neither setting outlives its transaction.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_callers_statements_are_planned_once_unless_asked_and_only_in_their_transaction(
    pool: PgPool,
) {
    async fn mode(conn: &mut sqlx::PgConnection) -> String {
        sqlx::query_scalar("select current_setting('plan_cache_mode')")
            .fetch_one(conn)
            .await
            .expect("plan_cache_mode")
    }
    /// The dashboard's list statement's plans on this connection: (generic, custom).
    async fn list_plans(conn: &mut sqlx::PgConnection) -> (i64, i64) {
        sqlx::query_as(
            "select generic_plans, custom_plans from pg_prepared_statements
             where statement like '%coalesce(p.slug, ti.provider) as \"slug!\"%'
               and statement not like '%pg_prepared_statements%'",
        )
        .fetch_one(conn)
        .await
        .expect("the list's prepared statement")
    }
    let one = single(pool.connect_options().as_ref().clone()).await;
    let claims = common::claims_for(uuid::Uuid::new_v4(), "planos@example.com");

    let mut tx = backend::scope::begin_as(&one, &claims)
        .await
        .expect("begins");
    assert_eq!(mode(&mut tx).await, backend::scope::PLANNED_ONCE);
    backend::integrations::list_for_tenant(&mut tx, uuid::Uuid::new_v4())
        .await
        .expect("the list");
    assert_eq!(list_plans(&mut tx).await, (1, 0), "planned for any value");
    backend::scope::plan_for_bound_values(&mut tx)
        .await
        .expect("plans per value");
    assert_eq!(mode(&mut tx).await, "force_custom_plan");
    backend::integrations::list_for_tenant(&mut tx, uuid::Uuid::new_v4())
        .await
        .expect("the list");
    assert_eq!(list_plans(&mut tx).await, (1, 1), "planned for its values");
    drop(tx);

    let mut conn = one.acquire().await.expect("the connection again");
    assert_eq!(
        mode(&mut conn).await,
        "auto",
        "nothing left on the connection"
    );
    drop(conn);
    assert_next_user_gets_it_clean(one).await;
}
