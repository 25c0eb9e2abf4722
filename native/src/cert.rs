//! Self-signed development certificate: ECDSA P-256, valid at most 14 days, for localhost/127.0.0.1/::1.
//!
//! Browsers accept such a certificate through `serverCertificateHashes` (SHA-256 of the DER), which is returned too.

use napi::bindgen_prelude::*;
use napi_derive::napi;

#[napi(object)]
pub struct GeneratedCertificate {
    pub cert_pem: String,
    pub key_pem: String,
    /// SHA-256 of the DER-encoded certificate.
    pub sha256: Buffer,
    /// Validity end, milliseconds since the Unix epoch.
    pub not_after_ms: f64,
}

/// Generate a self-signed ECDSA P-256 certificate. `days` defaults to 10 and must be in 1..=14 (Chromium's limit for
/// `serverCertificateHashes`). `names` defaults to localhost, 127.0.0.1 and ::1.
#[napi]
pub fn generate_certificate(days: Option<u32>, names: Option<Vec<String>>) -> Result<GeneratedCertificate> {
    let days = days.unwrap_or(10);
    if !(1..=14).contains(&days) {
        return Err(Error::new(Status::InvalidArg, "days must be between 1 and 14"));
    }
    let names = names.unwrap_or_else(|| vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]);
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(to_err)?;
    let mut params = rcgen::CertificateParams::new(names).map_err(to_err)?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "localhost");
    params.distinguished_name = dn;
    // Backdate a little for clock skew; the total span stays within `days`.
    let not_before = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
    let not_after = not_before + time::Duration::days(days as i64);
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.self_signed(&key).map_err(to_err)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.der());
    Ok(GeneratedCertificate {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        sha256: Buffer::from(digest.as_ref()),
        not_after_ms: (not_after.unix_timestamp_nanos() / 1_000_000) as f64,
    })
}

fn to_err(e: rcgen::Error) -> Error {
    Error::new(Status::GenericFailure, format!("certificate generation failed: {e}"))
}
