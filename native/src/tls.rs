//! TLS and QUIC transport configuration: server certificate from PEM, client verification by CA PEM, by certificate
//! SHA-256 hashes (like browsers' `serverCertificateHashes`) or not at all (insecure, tests only).
//!
//! Uses the ring crypto provider explicitly, so no process-wide rustls default is installed.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

pub const ALPN_H3: &str = "h3";
pub const ALPN_MOQ: &str = "moq-00";

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_err(e: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, format!("tls: {e}"))
}

/// Default idle timeout: a connection with no packet from the peer for this long is closed ("idle-timeout").
pub const DEFAULT_IDLE_TIMEOUT_MS: u32 = 30_000;
/// Default keep-alive (PING) interval, shortened to a third of the idle timeout when that is below 30 s.
pub const DEFAULT_KEEP_ALIVE_MS: u32 = 10_000;
/// Upper bound of both settings (one day).
pub const MAX_TIMER_MS: u32 = 86_400_000;

/// Idle timeout and keep-alive, in milliseconds; 0 disables either. QUIC applies the smaller of both peers' idle
/// timeouts (a peer advertising 0 leaves it to the other).
#[derive(Clone, Copy, Debug)]
pub struct Liveness {
    pub idle_timeout_ms: u32,
    pub keep_alive_ms: u32,
}

impl Liveness {
    /// Validates the options (`None` = default). A keep-alive at or above a non-zero idle timeout is refused: the
    /// connection would time out between two PINGs.
    pub fn from_options(idle_timeout_ms: Option<u32>, keep_alive_ms: Option<u32>) -> Result<Self> {
        let idle = idle_timeout_ms.unwrap_or(DEFAULT_IDLE_TIMEOUT_MS);
        for (name, v) in [("idleTimeoutMs", Some(idle)), ("keepAliveMs", keep_alive_ms)] {
            if let Some(v) = v {
                if v > MAX_TIMER_MS {
                    return Err(Error::new(Status::InvalidArg, format!("{name} must be 0..{MAX_TIMER_MS} ms, got {v}")));
                }
            }
        }
        let keep = keep_alive_ms.unwrap_or(if idle == 0 { DEFAULT_KEEP_ALIVE_MS } else { DEFAULT_KEEP_ALIVE_MS.min(idle / 3) });
        if idle > 0 && keep >= idle {
            return Err(Error::new(
                Status::InvalidArg,
                format!("keepAliveMs ({keep}) must be below idleTimeoutMs ({idle}), or 0 to disable keep-alive"),
            ));
        }
        Ok(Liveness { idle_timeout_ms: idle, keep_alive_ms: keep })
    }
}

/// Limits shared by both roles. MoQ opens one uni stream per group, so the stream limits are generous; the windows
/// stay at quinn's defaults (bounded buffering on both sides).
pub fn transport_config(max_streams: u32, live: Liveness) -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    t.max_concurrent_bidi_streams(max_streams.into());
    t.max_concurrent_uni_streams(max_streams.into());
    t.keep_alive_interval((live.keep_alive_ms > 0).then(|| Duration::from_millis(live.keep_alive_ms.into())));
    t.max_idle_timeout((live.idle_timeout_ms > 0).then(|| quinn::VarInt::from_u32(live.idle_timeout_ms).into()));
    Arc::new(t)
}

pub fn parse_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: std::result::Result<Vec<_>, _> = rustls_pemfile::certs(&mut pem.as_bytes()).collect();
    let certs = certs.map_err(tls_err)?;
    if certs.is_empty() {
        return Err(tls_err("no certificate in PEM"));
    }
    Ok(certs)
}

pub fn parse_key(pem: &str) -> Result<PrivateKeyDer<'static>> {
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .map_err(tls_err)?
        .ok_or_else(|| tls_err("no private key in PEM"))
}

/// Both roles speak TLS 1.3 only (QUIC requires it).
fn tls13<S: rustls::ConfigSide>(
    b: rustls::ConfigBuilder<S, rustls::WantsVersions>,
) -> Result<rustls::ConfigBuilder<S, rustls::WantsVerifier>> {
    b.with_protocol_versions(&[&rustls::version::TLS13]).map_err(tls_err)
}

pub fn server_config(
    cert_pem: &str,
    key_pem: &str,
    alpns: &[String],
    max_streams: u32,
    live: Liveness,
) -> Result<quinn::ServerConfig> {
    let mut tls = tls13(rustls::ServerConfig::builder_with_provider(provider()))?
        .with_no_client_auth()
        .with_single_cert(parse_certs(cert_pem)?, parse_key(key_pem)?)
        .map_err(tls_err)?;
    tls.alpn_protocols = alpns.iter().map(|a| a.as_bytes().to_vec()).collect();
    tls.max_early_data_size = 0;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls).map_err(tls_err)?;
    let mut cfg = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    cfg.transport_config(transport_config(max_streams, live));
    Ok(cfg)
}

pub struct ClientTls {
    pub ca_pem: Option<String>,
    pub cert_hashes: Vec<Vec<u8>>,
    pub insecure: bool,
}

pub fn client_config(alpn: &str, opts: &ClientTls, max_streams: u32, live: Liveness) -> Result<quinn::ClientConfig> {
    let builder = tls13(rustls::ClientConfig::builder_with_provider(provider()))?;
    // A given CA must parse; unusable system roots are skipped.
    let roots = |certs: Vec<CertificateDer<'static>>, strict: bool| -> Result<rustls::RootCertStore> {
        let mut roots = rustls::RootCertStore::empty();
        for c in certs {
            match roots.add(c) {
                Err(e) if strict => return Err(tls_err(e)),
                _ => {}
            }
        }
        Ok(roots)
    };
    let mut tls = if opts.insecure || !opts.cert_hashes.is_empty() {
        let pinned = (!opts.insecure).then(|| opts.cert_hashes.clone());
        builder.dangerous().with_custom_certificate_verifier(Arc::new(CustomVerifier { pinned, provider: provider() }))
    } else if let Some(ca) = &opts.ca_pem {
        builder.with_root_certificates(roots(parse_certs(ca)?, true)?)
    } else {
        builder.with_root_certificates(roots(rustls_native_certs::load_native_certs().certs, false)?)
    }
    .with_no_client_auth();
    tls.alpn_protocols = vec![alpn.as_bytes().to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).map_err(tls_err)?;
    let mut cfg = quinn::ClientConfig::new(Arc::new(crypto));
    cfg.transport_config(transport_config(max_streams, live));
    Ok(cfg)
}

impl ClientTls {
    /// What the server certificate was checked against, for error messages.
    fn trust_source(&self) -> &'static str {
        if self.insecure {
            "nothing (insecure)"
        } else if !self.cert_hashes.is_empty() {
            "tls.serverCertificateHashes: its SHA-256 is not among them"
        } else if self.ca_pem.is_some() {
            "tls.ca: it is not signed by that CA or does not name the host"
        } else {
            "the system's root certificates: a self-signed or private-CA certificate never does"
        }
    }

    /// Rewrites a failed handshake caused by our verdict on the server certificate into a message that says so and
    /// names the options that fix it (Client names first, connectNative names in parentheses); the underlying reason
    /// stays at the end. Other errors pass unchanged.
    pub fn explain(&self, e: &quinn::ConnectionError) -> String {
        let text = e.to_string();
        match e {
            quinn::ConnectionError::TransportError(t) if t.reason.contains("invalid peer certificate") => format!(
                "the server's certificate is not trusted (checked against {}). Pass tls.serverCertificateHashes (the \
                 certificate's SHA-256) or tls.ca (its CA in PEM), or tls.insecureSkipVerify for development only \
                 (connectNative: certHashes, ca, insecure). Reason: {text}",
                self.trust_source()
            ),
            _ => text,
        }
    }
}

/// Our own server-certificate check: `pinned` accepts a certificate whose DER SHA-256 is listed (like browsers'
/// `serverCertificateHashes`); `None` accepts any (insecure: tests and local development only). Either way the
/// handshake signature is still checked.
#[derive(Debug)]
struct CustomVerifier {
    pinned: Option<Vec<Vec<u8>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for CustomVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(hashes) = &self.pinned else { return Ok(ServerCertVerified::assertion()) };
        let digest = ring::digest::digest(&ring::digest::SHA256, end_entity.as_ref());
        if hashes.iter().any(|h| h.as_slice() == digest.as_ref()) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
