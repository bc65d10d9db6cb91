-- Predictive models (crates/churn): each training run stores one row — the model document
-- (feature codes, scaling, intercept and weights, settings, cutoffs, validation metrics with
-- the calibration table) as JSON, its kind (`churn`) and a version counting up per kind. The
-- newest version of a kind is the one scores use. No customer data: the document holds
-- coefficients and aggregate metrics only. Scores are computed on read from the newest model
-- and the customer's history, so none is kept here to go stale.
CREATE TABLE churn_models (
    id         {{key_text}} PRIMARY KEY,
    kind       {{key_text}} NOT NULL,
    version    BIGINT NOT NULL,
    trained_at {{key_text}} NOT NULL,
    document   TEXT NOT NULL,
    UNIQUE (kind, version)
);
