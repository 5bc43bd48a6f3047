//! The client side of TLS: which certificates to trust, session resumption, and the
//! handshake on a connected socket.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::Error;
use crate::profile::{Endpoint, Plan, Protocol, TlsOptions};

/// Sessions remembered for resumption. One target has one server name, and rustls keeps
/// a few TLS 1.3 tickets per name, so this only needs to be more than one.
const SESSIONS: usize = 64;

/// Everything a worker needs to open TLS connections to the target.
#[derive(Clone)]
pub struct TlsClient {
    connector: TlsConnector,
    name: ServerName<'static>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Where the trusted certificates come from.
#[derive(Debug)]
pub enum Trust<'a> {
    /// The system's roots plus `tls-ca` (or none checked at all with `tls-insecure`).
    System,
    /// Exactly these certificates (the built-in target's own).
    Only(&'a [CertificateDer<'static>]),
}

impl TlsClient {
    /// The client for the plan's target, if it speaks TLS: trusting the built-in target's
    /// own certificate (`builtin_pem`, once it has started), or the system's roots and
    /// `tls-ca`.
    pub fn for_plan(plan: &Plan, builtin_pem: Option<&str>) -> Result<Option<TlsClient>, Error> {
        let fail = Error::Tls;
        let opts = &plan.target.tls;
        match (&plan.target.endpoint, builtin_pem) {
            (Endpoint::Builtin { tls: true, .. }, Some(pem)) => {
                let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| fail(format!("the built-in target's certificate: {e}")))?;
                TlsClient::new(opts, ("127.0.0.1", plan.target.protocol), Trust::Only(&certs)).map(Some).map_err(fail)
            }
            (Endpoint::Http(url), _) if url.tls => {
                if opts.insecure {
                    tracing::warn!(
                        "tls-insecure = true: the target's certificate is NOT checked (for test rigs only; \
                         anyone in the path could answer)"
                    );
                }
                TlsClient::new(opts, (url.host(), plan.target.protocol), Trust::System).map(Some).map_err(fail)
            }
            _ => Ok(None),
        }
    }

    /// A client for server name `host` (also sent as SNI when it is a DNS name), offering
    /// by ALPN the versions `protocol` allows. The error says what could not be set up.
    pub fn new(opts: &TlsOptions, (host, protocol): (&str, Protocol), trust: Trust<'_>) -> Result<TlsClient, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("no TLS version: {e}"))?;
        let mut config = if opts.insecure {
            let verifier = Arc::new(AcceptAny(provider.signature_verification_algorithms));
            builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth()
        } else {
            builder.with_root_certificates(roots(opts, trust)?).with_no_client_auth()
        };
        config.alpn_protocols = match protocol {
            Protocol::Http1 => vec![b"http/1.1".to_vec()],
            Protocol::Http2 => vec![b"h2".to_vec()],
            Protocol::Auto => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        };
        config.resumption = match opts.resumption {
            true => Resumption::store(Arc::new(ClientSessionMemoryCache::new(SESSIONS))),
            false => Resumption::disabled(),
        };
        let name = ServerName::try_from(host.to_string()).map_err(|e| format!("{host:?}: {e}"))?;
        Ok(TlsClient { connector: TlsConnector::from(Arc::new(config)), name })
    }

    /// The TLS handshake on a connected socket.
    pub async fn handshake(&self, tcp: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
        self.connector.connect(self.name.clone(), tcp).await
    }
}

fn roots(opts: &TlsOptions, trust: Trust<'_>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    let extra = match trust {
        Trust::Only(certs) => certs,
        Trust::System => {
            // Unreadable entries of the system store are skipped: one bad file there
            // should not stop a run whose target another root (or tls-ca) vouches for.
            let native = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(native.certs);
            &opts.ca[..]
        }
    };
    for cert in extra {
        store.add(cert.clone()).map_err(|e| format!("cannot trust a tls-ca certificate: {e}"))?;
    }
    Ok(store)
}

/// `tls-insecure`: any certificate is taken, but the handshake's signatures are still
/// checked, so the handshake costs what a verified one costs (minus the chain check).
#[derive(Debug)]
struct AcceptAny(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
