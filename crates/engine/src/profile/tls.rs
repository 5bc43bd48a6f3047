//! `[target]` TLS keys: which certificates to trust and whether to resume sessions.

use std::path::{Path, PathBuf};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::raw::RawTarget;
use super::validate::Check;

/// A CA bundle is a few certificates; the system's own is about 200 KiB.
const PEM_CAP: einv_core::input::Cap = einv_core::input::Cap { bytes: 4 << 20, what: "a PEM certificate file" };

/// How the engine speaks TLS to an `https://` or `"builtin+tls"` target.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// `tls-ca`: the file, resolved against the profile's folder.
    pub ca_file: Option<PathBuf>,
    /// The certificates read from `ca_file`, trusted beside the system's roots.
    pub ca: Vec<CertificateDer<'static>>,
    /// `tls-insecure`: accept any certificate (test rigs only).
    pub insecure: bool,
    /// `tls-resumption`: resume sessions on new connections (false: every connection
    /// makes a full handshake).
    pub resumption: bool,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions { ca_file: None, ca: Vec::new(), insecure: false, resumption: true }
    }
}

/// Check the TLS keys of `t`; `tls` says whether the target speaks TLS and `builtin`
/// whether it is the built-in one (which is trusted through its own certificate).
pub(super) fn options(c: &mut Check, t: &RawTarget, dir: &Path, (tls, builtin): (bool, bool)) -> TlsOptions {
    let mut out = TlsOptions { resumption: t.tls_resumption.unwrap_or(true), ..TlsOptions::default() };
    let given = [("tls-ca", t.tls_ca.is_some()), ("tls-insecure", t.tls_insecure.is_some())];
    let given = given.into_iter().chain([("tls-resumption", t.tls_resumption.is_some())]);
    if !tls {
        for (key, _) in given.filter(|(_, set)| *set) {
            c.fail(&format!("target.{key}"), "applies only to https:// and \"builtin+tls\" targets");
        }
        return out;
    }
    if builtin {
        for (key, _) in given.take(2).filter(|(_, set)| *set) {
            let why = "does not apply to \"builtin+tls\" (the engine trusts the certificate the built-in target makes)";
            c.fail(&format!("target.{key}"), why);
        }
        return out;
    }
    out.insecure = t.tls_insecure.unwrap_or(false);
    if let Some(ca) = &t.tls_ca {
        if out.insecure {
            c.fail("target.tls-insecure", "with tls-insecure = true no certificate is checked: drop tls-ca or this");
        }
        let path = dir.join(ca);
        match read_pem(&path) {
            Ok(certs) => out.ca = certs,
            Err(message) => c.fail("target.tls-ca", format!("{}: {message}", path.display())),
        }
        out.ca_file = Some(path);
    }
    out
}

/// The certificates of a PEM file (at least one).
fn read_pem(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = einv_core::input::read(path, PEM_CAP).map_err(|e| e.to_string())?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    // What the run's TLS client will do with them: a certificate it cannot trust is the
    // profile's mistake, found now rather than when the run starts.
    let mut store = rustls::RootCertStore::empty();
    for cert in &certs {
        store.add(cert.clone()).map_err(|e| format!("cannot trust a certificate in it: {e}"))?;
    }
    Ok(certs)
}
