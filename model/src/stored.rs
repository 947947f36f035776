//! The run enums as text columns (`integration_logs.status`/`trigger`,
//! `tenant_integrations.last_status`), for the server's queries: a query names them with a
//! type override (`l.status as "status: RunStatus"`) and binds them as themselves.
//!
//! Decoding never fails on a value this version does not know: the old portal's rows are
//! not checked by the status constraint (`not valid`), and one odd row must not fail a
//! page. Such a status reads as an error ([`RunStatus::from_stored`]).

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

use crate::{RunStatus, Trigger};

macro_rules! text_column {
    ($t:ty) => {
        impl Type<Postgres> for $t {
            fn type_info() -> PgTypeInfo {
                <&str as Type<Postgres>>::type_info()
            }

            fn compatible(ty: &PgTypeInfo) -> bool {
                <&str as Type<Postgres>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Postgres> for $t {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(<$t>::from_stored(<&str as Decode<Postgres>>::decode(
                    value,
                )?))
            }
        }

        impl Encode<'_, Postgres> for $t {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Postgres>>::encode(self.as_str(), buf)
            }
        }
    };
}

text_column!(RunStatus);
text_column!(Trigger);
