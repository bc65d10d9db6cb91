//! String newtypes of the domain models (names, codes, references): [`crate::string_newtype!`].
//!
//! Why: a validated value gets its own type so that an unchecked `String` cannot stand in for
//! it; every such type needs the same few impls, declared once here. The macro lives in this
//! pure crate (not the kernel) so that the shared vocabulary can use it without depending on
//! storage and HTTP; `aloft_kernel::string_newtype!` re-exports it. The paths below let the
//! macro work in crates that do not name `serde` or `utoipa` themselves.

#[doc(hidden)]
pub use serde;
#[doc(hidden)]
pub use utoipa;

/// Declares `pub struct $name(String)` with `as_str`, `Display`, ordering, serialisation as
/// its string and an OpenAPI string schema described by `$desc`. The domain writes its `parse`
/// (the only way to make one), so a value of the type has been validated.
#[macro_export]
macro_rules! string_newtype {
    ($name:ident, $desc:literal) => {
        #[doc = $desc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The canonical text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl $crate::newtype::serde::Serialize for $name {
            fn serialize<S: $crate::newtype::serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl $crate::newtype::utoipa::PartialSchema for $name {
            fn schema() -> $crate::newtype::utoipa::openapi::RefOr<
                $crate::newtype::utoipa::openapi::schema::Schema,
            > {
                use $crate::newtype::utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
                $crate::newtype::utoipa::openapi::RefOr::T(Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .description(Some($desc))
                        .build(),
                ))
            }
        }

        impl $crate::newtype::utoipa::ToSchema for $name {}
    };
}
