//! One error type for the backend. Messages of variants a user can cause are pt-BR and safe
//! to show; `Database` keeps the driver's text for the logs only.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid session: 401.
    #[error("{0}")]
    Unauthenticated(String),
    /// A valid session that may not do this: 403.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing visible to the caller under that name: 404.
    #[error("{0}")]
    NotFound(String),
    /// Input that fails validation: 400 / 422.
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with the current state (disabled, already running): 409.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts (sign-in): 429.
    #[error("{0}")]
    TooManyRequests(String),
    /// A failure of our own machinery (the queue): 500; the text is for the logs only.
    #[error("Erro interno do servidor. Tente novamente.")]
    Internal(String),
    /// Anything from Postgres: 500, logged, never shown.
    #[error("Erro interno do banco de dados. Tente novamente.")]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn status(&self) -> u16 {
        match self {
            Error::Unauthenticated(_) => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::Invalid(_) => 422,
            Error::TooManyRequests(_) => 429,
            Error::Conflict(_) => 409,
            Error::Database(_) | Error::Internal(_) => 500,
        }
    }

    /// Logs what a 500 hides from the caller (the driver's or the queue's text); the
    /// caller only ever sees the generic pt-BR message. `context` names the entry point.
    pub fn log_if_internal(&self, context: &str) {
        match self {
            Error::Database(inner) => tracing::error!(error = %inner, context, "database error"),
            Error::Internal(inner) => tracing::error!(error = %inner, context, "internal error"),
            _ => {}
        }
    }
}
