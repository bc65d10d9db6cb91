//! String newtypes of the domain models (names, codes, references): [`crate::string_newtype!`].
//!
//! The macro is defined in the pure vocabulary crate (`aloft_vocab::string_newtype!`), where
//! the shared codes need it without depending on storage and HTTP; it is re-exported at this
//! crate's root so `aloft_kernel::string_newtype!` keeps working for every domain.

#[doc(hidden)]
pub use aloft_vocab::newtype::{serde, utoipa};
