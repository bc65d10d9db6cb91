//! Field-level encryption at rest, envelope style, and blind indexes for searching encrypted
//! fields.
//!
//! Why envelopes: every customer gets their own random [`DataKey`] that encrypts their sensitive
//! fields; only the small data key is encrypted ("wrapped") under the [`MasterKey`], which lives
//! outside the database. Rotating the master key means re-wrapping data keys, not re-encrypting
//! data; erasing one customer's data key makes their encrypted fields unreadable
//! (crypto-shredding) without touching backups.
//!
//! Formats (all versioned by a leading byte so they can change without ambiguity):
//! - Field ciphertext ([`encrypt_field`]): `version (1 byte, 0x01) ‖ nonce (12 bytes) ‖
//!   AES-256-GCM ciphertext ‖ tag (16 bytes)`. The associated data binds the version, the record
//!   id and the field name, so a ciphertext copied to another record or field fails to decrypt.
//!   [`encrypt_text`] stores the same bytes as standard base64 for TEXT columns.
//! - Wrapped data key ([`LocalKeyProvider`]): `version (0x01) ‖ nonce (12) ‖ encrypted key (32) ‖
//!   tag (16)`, with the master key id as associated data; [`WrappedKey`] also carries that id in
//!   the clear so a [`Keyring`] knows which master key to ask.
//!
//! Nonces are 96 random bits. With one key per customer, each key encrypts a few dozen values
//! over its life, far below the 2^32 messages at which random GCM nonces become a concern.
//!
//! Blind indexes ([`BlindIndex`]) are keyed HMAC-SHA256 digests of normalised values: they allow
//! exact-match search ("find the customer with this passport number") without storing the
//! plaintext, and without the key they reveal nothing but equality. Their key comes from a
//! separate [`IndexKey`] that must stay the same for as long as the indexes exist: unlike the
//! master key it is never rotated, because every stored index would have to be recomputed from
//! plaintext.
//!
//! Invariants: key material is zeroized on drop and never printed (`Debug` shows only key ids);
//! decryption failures say nothing about which check failed.

use std::fmt;
use std::str::FromStr;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::rng;

/// Bytes in every key handled here (AES-256, HMAC-SHA256).
pub const KEY_BYTES: usize = 32;
/// Bytes in an AES-GCM nonce.
pub const NONCE_BYTES: usize = 12;
/// Bytes in an AES-GCM authentication tag.
pub const TAG_BYTES: usize = 16;
/// The current field ciphertext format (first byte of every ciphertext).
pub const FIELD_FORMAT_VERSION: u8 = 1;
/// The current wrapped-key format (first byte of every wrapped key).
pub const WRAP_FORMAT_VERSION: u8 = 1;
/// Bytes of HMAC output kept in a blind index (128 bits, 32 hex digits).
pub const BLIND_INDEX_BYTES: usize = 16;

/// Domain-separation labels: each derivation or encryption purpose has its own, so a value made
/// for one purpose can never be accepted for another.
const FIELD_AAD_LABEL: &[u8] = b"aloft/field/v1";
const WRAP_AAD_LABEL: &[u8] = b"aloft/dek-wrap/v1";
const KEY_ID_LABEL: &[u8] = b"aloft/master-key-id/v1";
const INDEX_KEY_LABEL: &[u8] = b"aloft/index-key/v1";
const BLIND_INDEX_LABEL: &str = "aloft/blind-index/v1/";
const CONTENT_DIGEST_LABEL: &[u8] = b"aloft/content-digest/v1";

/// Why a key could not be read or a value could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Key text that is not 32 bytes in base64 or hex.
    #[error("the key is not 32 bytes written as base64 or hex")]
    InvalidKeyMaterial,
    /// A ciphertext or wrapped key too short or badly encoded to be one of ours.
    #[error("the ciphertext is malformed")]
    Malformed,
    /// A format version this build does not know.
    #[error("ciphertext format version {0} is not supported")]
    UnsupportedVersion(u8),
    /// Authentication failed: wrong key, wrong record or field, or altered bytes. Deliberately
    /// not more specific.
    #[error("the ciphertext could not be decrypted")]
    Decrypt,
    /// A wrapped key names a master key that is not in the keyring.
    #[error("master key {0} is not available")]
    UnknownKeyId(String),
    /// Decrypted text that is not UTF-8 (it was not stored by [`encrypt_text`]).
    #[error("the decrypted value is not UTF-8 text")]
    NotText,
    /// A [`KeyProvider`] backed by an external service failed.
    #[error("the key provider failed: {0}")]
    Provider(String),
}

/// Reads 32 bytes of key material written as 64 hex digits or as base64 (standard or URL-safe,
/// padded or not). Surrounding whitespace, such as a key file's final newline, is ignored.
fn parse_key_material(text: &str) -> Result<Zeroizing<[u8; KEY_BYTES]>, CryptoError> {
    let text = text.trim();
    let mut key = Zeroizing::new([0u8; KEY_BYTES]);
    if text.len() == 2 * KEY_BYTES && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        for (slot, pair) in key.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| CryptoError::InvalidKeyMaterial)?;
            *slot = u8::from_str_radix(pair, 16).map_err(|_| CryptoError::InvalidKeyMaterial)?;
        }
        return Ok(key);
    }
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        if let Ok(decoded) = engine.decode(text).map(Zeroizing::new) {
            if decoded.len() != KEY_BYTES {
                return Err(CryptoError::InvalidKeyMaterial);
            }
            key.copy_from_slice(&decoded);
            return Ok(key);
        }
    }
    Err(CryptoError::InvalidKeyMaterial)
}

/// Lower-case hex, for ids and index values.
fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 of `message` under `key`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// HKDF-SHA256 (RFC 5869) expansion of `ikm` to one 32-byte key for purpose `info`.
fn derive_key(ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; KEY_BYTES]> {
    let mut out = Zeroizing::new([0u8; KEY_BYTES]);
    Hkdf::<Sha256>::new(None, ikm)
        .expand(info, out.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// AES-256-GCM encryption with the given nonce; returns ciphertext ‖ tag.
fn seal(key: &[u8; KEY_BYTES], nonce: &[u8; NONCE_BYTES], aad: &[u8], msg: &[u8]) -> Vec<u8> {
    Aes256Gcm::new(key.into())
        .encrypt(Nonce::from_slice(nonce), Payload { msg, aad })
        .expect("AES-GCM only refuses messages over 64 GiB")
}

/// AES-256-GCM decryption of ciphertext ‖ tag.
fn open(
    key: &[u8; KEY_BYTES],
    nonce: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    Aes256Gcm::new(key.into())
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Decrypt)
}

/// `version ‖ nonce ‖ seal(...)`: the layout shared by field ciphertexts and wrapped keys.
fn seal_versioned(version: u8, key: &[u8; KEY_BYTES], aad: &[u8], msg: &[u8]) -> Vec<u8> {
    let nonce = rng::array::<NONCE_BYTES>();
    let sealed = seal(key, &nonce, aad, msg);
    let mut out = Vec::with_capacity(1 + NONCE_BYTES + sealed.len());
    out.push(version);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// Splits and checks `version ‖ nonce ‖ sealed`, then opens it.
fn open_versioned(
    version: u8,
    key: &[u8; KEY_BYTES],
    aad: &[u8],
    bytes: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (&found, rest) = bytes.split_first().ok_or(CryptoError::Malformed)?;
    if found != version {
        return Err(CryptoError::UnsupportedVersion(found));
    }
    if rest.len() < NONCE_BYTES + TAG_BYTES {
        return Err(CryptoError::Malformed);
    }
    let (nonce, sealed) = rest.split_at(NONCE_BYTES);
    open(key, nonce, aad, sealed)
}

/// Appends `bytes` with a big-endian u64 length prefix, so concatenations are unambiguous.
fn push_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The master key that wraps data keys: 32 bytes kept outside the database (a key file or an
/// environment variable). Zeroized on drop; `Debug` shows only its id.
pub struct MasterKey {
    id: String,
    bytes: Zeroizing<[u8; KEY_BYTES]>,
}

impl MasterKey {
    /// A fresh random master key, for `keygen`-style setup.
    pub fn generate() -> Self {
        Self::from_bytes(rng::array())
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        let bytes = Zeroizing::new(bytes);
        let id = format!(
            "mk-{}",
            to_hex(&hmac_sha256(bytes.as_ref(), KEY_ID_LABEL)[..8])
        );
        Self { id, bytes }
    }

    /// Reads the key from the contents of a key file or an environment variable's value:
    /// 64 hex digits or base64 of 32 bytes. The caller reads the file (this crate does no IO)
    /// and should hold the text in a `Zeroizing<String>`.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        parse_key_material(text).map(|bytes| Self::from_bytes(*bytes))
    }

    /// The key id: `mk-` and 16 hex digits of a keyed fingerprint of the key. It reveals nothing
    /// about the key but tells keys apart, so wrapped keys can name the key that wrapped them
    /// without any separate configuration.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key as standard base64, to write into a new key file.
    pub fn export_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.bytes.as_ref()))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A customer's data key (256-bit AES key) that encrypts their fields. Stored only wrapped.
/// Zeroized on drop (every clone too); `Debug` shows nothing.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; KEY_BYTES]>);

impl DataKey {
    /// A fresh random data key, for a new customer.
    pub fn generate() -> Self {
        Self(Zeroizing::new(rng::array()))
    }

    /// Wraps raw key bytes: for [`KeyProvider`] implementations that unwrap keys elsewhere.
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw key: for [`KeyProvider`] implementations that send it to an external service to
    /// be wrapped. Nothing else should need it.
    pub fn as_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// A data key encrypted under a master key, with that master key's id in the clear. Not
/// secret: store it next to the customer. Its text form (`Display`/`FromStr`) is
/// `<key id>:<base64url bytes>`; the last `:` separates, so provider key ids may contain `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    key_id: String,
    ciphertext: Vec<u8>,
}

impl WrappedKey {
    /// Builds a wrapped key: for [`KeyProvider`] implementations.
    pub fn new(key_id: impl Into<String>, ciphertext: Vec<u8>) -> Self {
        Self {
            key_id: key_id.into(),
            ciphertext,
        }
    }

    /// The id of the master key that wrapped this key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The provider-specific encrypted key.
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }
}

impl fmt::Display for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}",
            self.key_id,
            URL_SAFE_NO_PAD.encode(&self.ciphertext)
        )
    }
}

impl FromStr for WrappedKey {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key_id, encoded) = s.rsplit_once(':').ok_or(CryptoError::Malformed)?;
        if key_id.is_empty() {
            return Err(CryptoError::Malformed);
        }
        let ciphertext = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CryptoError::Malformed)?;
        Ok(Self::new(key_id, ciphertext))
    }
}

/// Something that wraps and unwraps data keys under a master key it holds: the local key file
/// today ([`LocalKeyProvider`]), a cloud KMS later. Implementations must authenticate what they
/// unwrap and must refuse wrapped keys whose [`WrappedKey::key_id`] is not theirs.
pub trait KeyProvider: Send + Sync {
    /// Encrypts a data key under this provider's master key.
    fn wrap(&self, dek: &DataKey) -> Result<WrappedKey, CryptoError>;
    /// Decrypts a data key this provider wrapped.
    fn unwrap(&self, wrapped: &WrappedKey) -> Result<DataKey, CryptoError>;
    /// The id of this provider's master key, recorded in every key it wraps.
    fn key_id(&self) -> &str;
}

/// Wraps data keys with AES-256-GCM under a locally held [`MasterKey`].
#[derive(Debug)]
pub struct LocalKeyProvider {
    master: MasterKey,
}

impl LocalKeyProvider {
    /// A provider for this master key.
    pub fn new(master: MasterKey) -> Self {
        Self { master }
    }

    /// Associated data for wrapping: the label and the master key id.
    fn aad(&self) -> Vec<u8> {
        let mut aad = WRAP_AAD_LABEL.to_vec();
        push_prefixed(&mut aad, self.master.id.as_bytes());
        aad
    }
}

impl KeyProvider for LocalKeyProvider {
    fn wrap(&self, dek: &DataKey) -> Result<WrappedKey, CryptoError> {
        let sealed = seal_versioned(
            WRAP_FORMAT_VERSION,
            &self.master.bytes,
            &self.aad(),
            &*dek.0,
        );
        Ok(WrappedKey::new(self.master.id.clone(), sealed))
    }

    fn unwrap(&self, wrapped: &WrappedKey) -> Result<DataKey, CryptoError> {
        if wrapped.key_id != self.master.id {
            return Err(CryptoError::UnknownKeyId(wrapped.key_id.clone()));
        }
        let plain = open_versioned(
            WRAP_FORMAT_VERSION,
            &self.master.bytes,
            &self.aad(),
            &wrapped.ciphertext,
        )?;
        let bytes: [u8; KEY_BYTES] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Malformed)?;
        Ok(DataKey::from_bytes(bytes))
    }

    fn key_id(&self) -> &str {
        &self.master.id
    }
}

/// The secret behind every [`BlindIndex`]. Unlike master keys it is **never rotated**: the
/// stored indexes are only comparable with new ones while this key stays the same. Zeroized on
/// drop; `Debug` shows nothing. Cloning copies the secret into another zeroizing buffer.
#[derive(Clone)]
pub struct IndexKey(Zeroizing<[u8; KEY_BYTES]>);

impl IndexKey {
    /// A fresh random index key, for setting up a new installation.
    pub fn generate() -> Self {
        Self(Zeroizing::new(rng::array()))
    }

    /// Reads the key from a key file's contents or an environment variable's value, in the same
    /// forms as [`MasterKey::parse`].
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        parse_key_material(text).map(Self)
    }

    /// Derives the index key from a master key (HKDF-SHA256 with a fixed label, so it is
    /// independent of the key that wraps data keys), for installations that start with a single
    /// secret. It must then always come from that **first** master key: before the first
    /// rotation, store [`IndexKey::export_base64`] as its own secret and load it with
    /// [`IndexKey::parse`] from then on.
    pub fn derive_from_master(master: &MasterKey) -> Self {
        Self(derive_key(master.bytes.as_ref(), INDEX_KEY_LABEL))
    }

    /// The key as standard base64, to write into a new key file.
    pub fn export_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0.as_ref()))
    }

    /// A fingerprint that tells index keys apart without revealing them: stored in the database
    /// so a start-up with a different (or freshly generated) key is refused instead of silently
    /// making every blind index and signed token unmatchable.
    pub fn fingerprint(&self) -> String {
        format!(
            "ik-{}",
            to_hex(&hmac_sha256(self.0.as_ref(), b"aloft/index-key-id/v1")[..8])
        )
    }

    /// A secret for another purpose (token signing, account secrets), derived with HKDF under a
    /// distinct label so no two purposes share key material. Stable across master-key rotation,
    /// like the index key itself.
    pub fn derive_secret(&self, purpose: &str) -> Zeroizing<[u8; KEY_BYTES]> {
        derive_key(
            self.0.as_ref(),
            format!("aloft/secret/v1/{purpose}").as_bytes(),
        )
    }
}

impl fmt::Debug for IndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IndexKey(..)")
    }
}

/// The keys of one installation: the current master key provider that wraps new data keys, the
/// previous ones still needed to unwrap older data keys until they are re-wrapped, and the
/// stable index key.
pub struct Keyring {
    current: Box<dyn KeyProvider>,
    previous: Vec<Box<dyn KeyProvider>>,
    index_key: IndexKey,
}

impl Keyring {
    /// A keyring with one master key provider.
    pub fn new(current: impl KeyProvider + 'static, index_key: IndexKey) -> Self {
        Self {
            current: Box::new(current),
            previous: Vec::new(),
            index_key,
        }
    }

    /// Adds a retired provider whose wrapped keys must still be readable during rotation.
    pub fn with_previous(mut self, provider: impl KeyProvider + 'static) -> Self {
        self.previous.push(Box::new(provider));
        self
    }

    /// The id of the master key that wraps new data keys.
    pub fn current_key_id(&self) -> &str {
        self.current.key_id()
    }

    /// Wraps a data key under the current master key.
    pub fn wrap(&self, dek: &DataKey) -> Result<WrappedKey, CryptoError> {
        self.current.wrap(dek)
    }

    /// Unwraps a data key with whichever provider's key id it names.
    pub fn unwrap(&self, wrapped: &WrappedKey) -> Result<DataKey, CryptoError> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|p| p.key_id() == wrapped.key_id())
            .ok_or_else(|| CryptoError::UnknownKeyId(wrapped.key_id().to_string()))?
            .unwrap(wrapped)
    }

    /// Whether a wrapped key is already under the current master key (rotation can skip it).
    pub fn is_current(&self, wrapped: &WrappedKey) -> bool {
        wrapped.key_id() == self.current.key_id()
    }

    /// Re-wraps a data key under the current master key: the per-customer step of a rotation.
    /// Once no stored key names an old master key, that key can be retired.
    pub fn rewrap(&self, wrapped: &WrappedKey) -> Result<WrappedKey, CryptoError> {
        self.wrap(&self.unwrap(wrapped)?)
    }

    /// The blind index for one searchable field (`purpose`, such as `"passport_number"`).
    pub fn blind_index(&self, purpose: &str) -> BlindIndex {
        BlindIndex::new(&self.index_key, purpose)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous: Vec<&str> = self.previous.iter().map(|p| p.key_id()).collect();
        f.debug_struct("Keyring")
            .field("current", &self.current.key_id())
            .field("previous", &previous)
            .finish_non_exhaustive()
    }
}

/// Exact-match search over encrypted fields: a keyed HMAC-SHA256 of the normalised value,
/// truncated to 128 bits, as 32 hex digits. Store it beside the ciphertext and look rows up by
/// it; without the key it reveals only which rows share a value.
///
/// Each searchable field has its own key (derived from the [`IndexKey`] and the field's
/// purpose), so equal values in different fields do not produce equal indexes.
pub struct BlindIndex {
    key: Zeroizing<[u8; KEY_BYTES]>,
}

impl BlindIndex {
    /// The index for one purpose (a stable field name such as `"email"`).
    pub fn new(index_key: &IndexKey, purpose: &str) -> Self {
        let info = format!("{BLIND_INDEX_LABEL}{purpose}");
        Self {
            key: derive_key(index_key.0.as_ref(), info.as_bytes()),
        }
    }

    /// The index of a text value after [`normalise_for_index`], so that case, Unicode form and
    /// stray whitespace do not defeat a match.
    pub fn compute(&self, value: &str) -> String {
        let normalised = Zeroizing::new(normalise_for_index(value));
        self.compute_exact(normalised.as_bytes())
    }

    /// The index of bytes exactly as given, for values the domain has already canonicalised.
    pub fn compute_exact(&self, value: &[u8]) -> String {
        to_hex(&hmac_sha256(self.key.as_ref(), value)[..BLIND_INDEX_BYTES])
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndex(..)")
    }
}

/// The default normalisation before indexing: Unicode NFKC, lower case, surrounding whitespace
/// removed and inner runs of whitespace collapsed to one space. Part of the index format:
/// changing it means rebuilding every index.
pub fn normalise_for_index(value: &str) -> String {
    let folded: String = value.nfkc().collect::<String>().to_lowercase();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Associated data for a field: `label ‖ version ‖ len ‖ record id ‖ len ‖ field name`.
fn field_aad(record_id: &str, field: &str) -> Vec<u8> {
    let mut aad = FIELD_AAD_LABEL.to_vec();
    aad.push(FIELD_FORMAT_VERSION);
    push_prefixed(&mut aad, record_id.as_bytes());
    push_prefixed(&mut aad, field.as_bytes());
    aad
}

/// Encrypts one field of one record under the record's data key. See the module documentation
/// for the format. Encrypting the same value twice gives different ciphertexts.
///
/// # Panics
/// Only for plaintexts over 64 GiB, which AES-GCM cannot encrypt.
pub fn encrypt_field(dek: &DataKey, record_id: &str, field: &str, plaintext: &[u8]) -> Vec<u8> {
    seal_versioned(
        FIELD_FORMAT_VERSION,
        &dek.0,
        &field_aad(record_id, field),
        plaintext,
    )
}

/// Decrypts what [`encrypt_field`] produced for the same record id and field name.
pub fn decrypt_field(
    dek: &DataKey,
    record_id: &str,
    field: &str,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    open_versioned(
        FIELD_FORMAT_VERSION,
        &dek.0,
        &field_aad(record_id, field),
        ciphertext,
    )
}

/// [`encrypt_field`] for text, returning standard base64 for a TEXT column.
pub fn encrypt_text(dek: &DataKey, record_id: &str, field: &str, plaintext: &str) -> String {
    STANDARD.encode(encrypt_field(dek, record_id, field, plaintext.as_bytes()))
}

/// Decrypts what [`encrypt_text`] produced for the same record id and field name.
pub fn decrypt_text(
    dek: &DataKey,
    record_id: &str,
    field: &str,
    stored: &str,
) -> Result<String, CryptoError> {
    let bytes = STANDARD
        .decode(stored.trim())
        .map_err(|_| CryptoError::Malformed)?;
    let plain = decrypt_field(dek, record_id, field, &bytes)?;
    std::str::from_utf8(&plain)
        .map(str::to_owned)
        .map_err(|_| CryptoError::NotText)
}

/// A keyed digest of a record's content under the record owner's data key: HMAC-SHA256 with a
/// key derived from the data key, truncated to 128 bits, as 32 hex digits.
///
/// It answers "is this the content already stored?" (idempotent re-imports) without keeping
/// the plaintext or decrypting it. Keyed, so a low-entropy value cannot be confirmed by hashing
/// guesses; keyed by the data key, so destroying that key (crypto-shredding) also makes the
/// digest meaningless.
pub fn content_digest(dek: &DataKey, content: &[u8]) -> String {
    let key = derive_key(dek.0.as_ref(), CONTENT_DIGEST_LABEL);
    to_hex(&hmac_sha256(key.as_ref(), content)[..BLIND_INDEX_BYTES])
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = "0190a3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b";
    const OTHER_RECORD: &str = "0190a3c4-5d6e-7f80-9a1b-2c3d4e5f6a7c";

    fn from_hex(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn aes_256_gcm_matches_the_gcm_specification_test_cases() {
        // McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 14 and 16.
        let zero_key = [0u8; 32];
        let sealed = seal(&zero_key, &[0u8; 12], b"", &[0u8; 16]);
        assert_eq!(
            to_hex(&sealed),
            "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"
        );

        let key: [u8; 32] =
            from_hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
                .try_into()
                .unwrap();
        let nonce: [u8; 12] = from_hex("cafebabefacedbaddecaf888").try_into().unwrap();
        let plaintext = from_hex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let aad = from_hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let sealed = seal(&key, &nonce, &aad, &plaintext);
        assert_eq!(
            to_hex(&sealed),
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
             8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662\
             76fc6ece0f4e1768cddf8853bb2d551b"
        );
        assert_eq!(
            open(&key, &nonce, &aad, &sealed).unwrap().as_slice(),
            plaintext
        );
    }

    #[test]
    fn hkdf_sha256_matches_rfc5869_test_case_3() {
        // RFC 5869 A.3: IKM = 22 × 0x0b, no salt, no info (first 32 bytes of OKM).
        let okm = derive_key(&[0x0b; 22], b"");
        assert_eq!(
            to_hex(okm.as_ref()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
        );
    }

    #[test]
    fn fields_round_trip() {
        let dek = DataKey::generate();
        for plain in ["", "X1234567", "Zhāng Wěi 张伟", "محمد"] {
            let ct = encrypt_field(&dek, RECORD, "passport_number", plain.as_bytes());
            assert_eq!(ct.len(), 1 + NONCE_BYTES + plain.len() + TAG_BYTES);
            assert_eq!(ct[0], FIELD_FORMAT_VERSION);
            let back = decrypt_field(&dek, RECORD, "passport_number", &ct).unwrap();
            assert_eq!(back.as_slice(), plain.as_bytes());
            let text = encrypt_text(&dek, RECORD, "name", plain);
            assert_eq!(decrypt_text(&dek, RECORD, "name", &text).unwrap(), plain);
        }
    }

    #[test]
    fn ciphertexts_only_open_in_their_own_place_and_intact() {
        let dek = DataKey::generate();
        let ct = encrypt_field(&dek, RECORD, "email", b"ana@example.com");
        let wrong_key = DataKey::generate();
        assert_eq!(
            decrypt_field(&wrong_key, RECORD, "email", &ct),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(
            decrypt_field(&dek, OTHER_RECORD, "email", &ct),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(
            decrypt_field(&dek, RECORD, "phone", &ct),
            Err(CryptoError::Decrypt)
        );
        // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        let split = encrypt_field(&dek, "ab", "c", b"x");
        assert_eq!(
            decrypt_field(&dek, "a", "bc", &split),
            Err(CryptoError::Decrypt)
        );
        for i in 1..ct.len() {
            let mut tampered = ct.clone();
            tampered[i] ^= 0x01;
            assert_eq!(
                decrypt_field(&dek, RECORD, "email", &tampered),
                Err(CryptoError::Decrypt)
            );
        }
        let mut versioned = ct.clone();
        versioned[0] = 2;
        assert_eq!(
            decrypt_field(&dek, RECORD, "email", &versioned),
            Err(CryptoError::UnsupportedVersion(2))
        );
        assert_eq!(
            decrypt_field(&dek, RECORD, "email", &ct[..20]),
            Err(CryptoError::Malformed)
        );
        assert_eq!(
            decrypt_field(&dek, RECORD, "email", &[]),
            Err(CryptoError::Malformed)
        );
        assert_eq!(
            decrypt_text(&dek, RECORD, "email", "not base64!"),
            Err(CryptoError::Malformed)
        );
        let binary = STANDARD.encode(encrypt_field(&dek, RECORD, "email", &[0xff, 0xfe]));
        assert_eq!(
            decrypt_text(&dek, RECORD, "email", &binary),
            Err(CryptoError::NotText)
        );
    }

    #[test]
    fn nonces_differ_and_plaintext_never_shows() {
        let dek = DataKey::generate();
        let canary = b"CANARY-7f3a9c-passport-P0123456";
        let a = encrypt_field(&dek, RECORD, "passport_number", canary);
        let b = encrypt_field(&dek, RECORD, "passport_number", canary);
        assert_ne!(a[1..1 + NONCE_BYTES], b[1..1 + NONCE_BYTES]);
        assert_ne!(a, b);
        for ct in [&a, &b] {
            assert!(!ct.windows(8).any(|w| canary.windows(8).any(|c| c == w)));
        }
        let text = encrypt_text(&dek, RECORD, "passport_number", "CANARY-7f3a9c");
        assert!(!text.contains("CANARY"));
    }

    #[test]
    fn data_keys_wrap_and_unwrap() {
        let provider = LocalKeyProvider::new(MasterKey::generate());
        let dek = DataKey::generate();
        let wrapped = provider.wrap(&dek).unwrap();
        assert_eq!(wrapped.key_id(), provider.key_id());
        assert_eq!(
            wrapped.ciphertext().len(),
            1 + NONCE_BYTES + KEY_BYTES + TAG_BYTES
        );
        assert_eq!(
            provider.unwrap(&wrapped).unwrap().as_bytes(),
            dek.as_bytes()
        );

        let text = wrapped.to_string();
        assert!(text.starts_with(&format!("{}:", provider.key_id())));
        let parsed: WrappedKey = text.parse().unwrap();
        assert_eq!(parsed, wrapped);
        let kms: WrappedKey = "arn:aws:kms:eu-west-1:1:key/k:AAEC".parse().unwrap();
        assert_eq!(kms.key_id(), "arn:aws:kms:eu-west-1:1:key/k");
        assert_eq!(kms.ciphertext(), [0, 1, 2]);
        for bad in ["", "no-separator", ":AAEC", "mk-1:not base64"] {
            assert_eq!(
                bad.parse::<WrappedKey>(),
                Err(CryptoError::Malformed),
                "{bad}"
            );
        }

        let other = LocalKeyProvider::new(MasterKey::generate());
        assert!(matches!(
            other.unwrap(&wrapped),
            Err(CryptoError::UnknownKeyId(_))
        ));
        // A wrapped key relabelled with another key's id still fails authentication.
        let relabelled = WrappedKey::new(other.key_id(), wrapped.ciphertext().to_vec());
        assert_eq!(other.unwrap(&relabelled).unwrap_err(), CryptoError::Decrypt);
        let mut tampered = wrapped.ciphertext().to_vec();
        tampered[20] ^= 0x80;
        let tampered = WrappedKey::new(wrapped.key_id(), tampered);
        assert_eq!(
            provider.unwrap(&tampered).unwrap_err(),
            CryptoError::Decrypt
        );
    }

    #[test]
    fn rotation_keeps_old_keys_readable_and_rewraps_under_the_new_one() {
        let old_bytes = rng::array::<32>();
        let new_bytes = rng::array::<32>();
        let old_provider = || LocalKeyProvider::new(MasterKey::from_bytes(old_bytes));
        let new_provider = || LocalKeyProvider::new(MasterKey::from_bytes(new_bytes));

        let before = Keyring::new(old_provider(), IndexKey::generate());
        let dek = DataKey::generate();
        let wrapped_old = before.wrap(&dek).unwrap();
        let secret = encrypt_text(&dek, RECORD, "email", "ana@example.com");
        let old_id = before.current_key_id().to_string();
        assert!(before.is_current(&wrapped_old));

        let after =
            Keyring::new(new_provider(), IndexKey::generate()).with_previous(old_provider());
        let new_id = after.current_key_id().to_string();
        assert_ne!(new_id, old_id);
        assert!(!after.is_current(&wrapped_old));
        assert_eq!(
            after.unwrap(&wrapped_old).unwrap().as_bytes(),
            dek.as_bytes()
        );

        let rewrapped = after.rewrap(&wrapped_old).unwrap();
        assert_eq!(rewrapped.key_id(), new_id);
        assert!(after.is_current(&rewrapped));
        let dek_again = after.unwrap(&rewrapped).unwrap();
        assert_eq!(
            decrypt_text(&dek_again, RECORD, "email", &secret).unwrap(),
            "ana@example.com"
        );

        // Once the old key is retired, only re-wrapped keys open.
        let retired = Keyring::new(new_provider(), IndexKey::generate());
        assert_eq!(
            retired.unwrap(&rewrapped).unwrap().as_bytes(),
            dek.as_bytes()
        );
        assert_eq!(
            retired.unwrap(&wrapped_old).unwrap_err(),
            CryptoError::UnknownKeyId(old_id)
        );
    }

    #[test]
    fn master_keys_parse_from_hex_and_base64_and_never_print() {
        let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        let from_hex = MasterKey::parse(&format!("{hex}\n")).unwrap();
        let b64 = from_hex.export_base64();
        assert_eq!(b64.as_str(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        let from_b64 = MasterKey::parse(&b64).unwrap();
        let from_b64_nopad = MasterKey::parse(b64.trim_end_matches('=')).unwrap();
        let from_upper_hex = MasterKey::parse(&hex.to_uppercase()).unwrap();
        for key in [&from_b64, &from_b64_nopad, &from_upper_hex] {
            assert_eq!(key.id(), from_hex.id());
        }
        assert!(from_hex.id().starts_with("mk-") && from_hex.id().len() == 19);
        assert_ne!(MasterKey::generate().id(), from_hex.id());

        for bad in [
            "",
            "00",
            &hex[..62],
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",
            "zz!",
        ] {
            assert_eq!(
                MasterKey::parse(bad).unwrap_err(),
                CryptoError::InvalidKeyMaterial
            );
        }

        let debug = format!("{from_hex:?}");
        assert_eq!(
            debug,
            format!("MasterKey {{ id: {:?}, .. }}", from_hex.id())
        );
        assert!(!debug.contains("0001") && !debug.contains("AAEC"));
        assert_eq!(format!("{:?}", DataKey::generate()), "DataKey(..)");
        assert_eq!(format!("{:?}", IndexKey::generate()), "IndexKey(..)");
        let keyring = Keyring::new(LocalKeyProvider::new(from_hex), IndexKey::generate());
        assert!(!format!("{keyring:?}").contains("AAEC"));
        assert_eq!(
            format!("{:?}", keyring.blind_index("email")),
            "BlindIndex(..)"
        );
    }

    #[test]
    fn blind_indexes_are_deterministic_keyed_and_normalised() {
        let index_key = IndexKey::parse(&"11".repeat(32)).unwrap();
        let email = BlindIndex::new(&index_key, "email");
        let a = email.compute("Ana.Silva@Example.com");
        assert_eq!(a.len(), 2 * BLIND_INDEX_BYTES);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, email.compute("  ana.silva@example.COM "));
        assert_eq!(a, email.compute_exact(b"ana.silva@example.com"));
        assert_ne!(a, email.compute("ana.silva@example.org"));
        // Full-width and decomposed forms normalise to the same value.
        assert_eq!(email.compute("ＡＢＣ"), email.compute("abc"));
        assert_eq!(
            email.compute("Jose\u{301}  Maria"),
            email.compute("José Maria")
        );

        let other_purpose = BlindIndex::new(&index_key, "phone");
        assert_ne!(other_purpose.compute("Ana.Silva@Example.com"), a);
        let other_key = BlindIndex::new(&IndexKey::generate(), "email");
        assert_ne!(other_key.compute("Ana.Silva@Example.com"), a);
        let same_key_again = BlindIndex::new(&IndexKey::parse(&"11".repeat(32)).unwrap(), "email");
        assert_eq!(same_key_again.compute("ana.silva@example.com"), a);
    }

    #[test]
    fn blind_indexes_survive_master_key_rotation() {
        let first = MasterKey::generate();
        let index_text = IndexKey::derive_from_master(&first).export_base64();
        // The derived index key is not the master key itself.
        assert_ne!(index_text.as_str(), first.export_base64().as_str());
        let before = Keyring::new(
            LocalKeyProvider::new(MasterKey::parse(&first.export_base64()).unwrap()),
            IndexKey::derive_from_master(&first),
        );
        let after = Keyring::new(
            LocalKeyProvider::new(MasterKey::generate()),
            IndexKey::parse(&index_text).unwrap(),
        )
        .with_previous(LocalKeyProvider::new(first));
        assert_ne!(before.current_key_id(), after.current_key_id());
        assert_eq!(
            before.blind_index("passport_number").compute("X1234567"),
            after.blind_index("passport_number").compute("X1234567")
        );
    }
}
