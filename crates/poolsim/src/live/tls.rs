//! TLS for the built-in target: a self-signed certificate made at start, so a run over
//! TLS needs no files, and a client can trust exactly that certificate (its PEM).

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use crate::Error;

/// Sessions the server remembers for resumption: enough for every connection a run may
/// hold, so that resumption is limited by the client's choice, not by this cache.
const SESSION_CACHE: usize = 65_536;

/// The server's side of TLS: the acceptor and the certificate it presents.
#[derive(Clone)]
pub(super) struct Identity {
    pub acceptor: TlsAcceptor,
    /// The self-signed certificate in PEM, for clients to trust.
    pub cert_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

/// A fresh self-signed certificate for `localhost` and 127.0.0.1 (where the built-in
/// target listens), and a server configuration that offers HTTP/1.1 (and with `http2`,
/// HTTP/2 first) by ALPN.
pub(super) fn self_signed(http2: bool) -> Result<Identity, Error> {
    let fail = |what: &str, e: &dyn std::fmt::Display| Error::Tls(format!("{what}: {e}"));
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let made = rcgen::generate_simple_self_signed(names).map_err(|e| fail("cannot make a certificate", &e))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail("no TLS version", &e))?
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .map_err(|e| fail("bad certificate", &e))?;
    config.alpn_protocols = match http2 {
        true => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        false => vec![b"http/1.1".to_vec()],
    };
    config.session_storage = rustls::server::ServerSessionMemoryCache::new(SESSION_CACHE);
    Ok(Identity { acceptor: TlsAcceptor::from(Arc::new(config)), cert_pem: made.cert.pem() })
}
