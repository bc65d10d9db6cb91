//! Folding of any script to the lowercase Latin letters and digits that comparisons and blocking
//! work on: the shared vocabulary's [`fold`] (ICAO 9303 transliteration, so "Müller" in a CRM
//! and "MUELLER" in a PNR fold to the same key), re-exported here so identity's callers keep
//! their path. Why shared: customer search must find what identity matches, by the same rule.

pub use aloft_vocab::fold;

#[cfg(test)]
mod tests {
    use super::fold;

    /// What matching relies on; the fold's own tests are in `aloft_vocab`.
    #[test]
    fn folds_pnr_and_crm_spellings_alike() {
        assert_eq!(fold("  José-María  O'Brien "), "jose maria obrien");
        assert_eq!(fold("Müller"), fold("MUELLER"));
        assert_eq!(fold("Søren Ærø"), "soeren aeroe");
        assert_eq!(fold("Щукина Юлия"), "shchukina iuliia");
        assert_eq!(fold("Παπαδόπουλος"), "papadopoulos");
        assert_eq!(fold("王 小明"), "王 小明");
    }
}
