//! `https://` through a TLS front on loopback whose certificate a CA made by the test signed: trusted by `--ca-cert` or `SSL_CERT_FILE`, refused otherwise.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};

use crate::{TestServer, failed, json, spawn_server};

/// A TLS front for the server, and the PEM file of the CA that signed its
/// certificate.
struct TlsFront {
    url: String,
    ca_pem: std::path::PathBuf,
}

/// Terminates TLS on a free loopback port with a certificate for
/// `127.0.0.1` and `localhost`, and passes the bytes on to the server.
async fn tls_front(server: &TestServer) -> TlsFront {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "Keyward test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let certificate = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![certificate.der().clone()],
            PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = listener.local_addr().unwrap();
    let upstream: SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let (Ok(mut tls), Ok(mut plain)) =
                    (acceptor.accept(tcp).await, TcpStream::connect(upstream).await)
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    let ca_pem = server.dir.path().join("ca.pem");
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    TlsFront { url: format!("https://{front}"), ca_pem }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_ca_given_with_ca_cert_is_trusted() {
    let server = spawn_server().await;
    let front = tls_front(&server).await;
    let ca = front.ca_pem.to_str().unwrap();
    let created = json(
        &server
            .run(&["keys", "create", "--name", "over tls", "--ca-cert", ca])
            .url(Some(&front.url))
            .output()
            .await,
    );
    assert_eq!(created["api_key"]["name"], "over tls");
    let health =
        json(&server.run(&["health"]).url(Some(&front.url)).env("KEYWARD_CA_CERT", ca).output().await);
    assert_eq!(health["status"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn ssl_cert_file_is_honoured() {
    let server = spawn_server().await;
    let front = tls_front(&server).await;
    let listed = server
        .run(&["keys", "list"])
        .url(Some(&front.url))
        .env("SSL_CERT_FILE", front.ca_pem.to_str().unwrap())
        .output()
        .await;
    assert!(json(&listed).is_array());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_no_trusted_ca_signed_is_refused() {
    let server = spawn_server().await;
    let front = tls_front(&server).await;
    let (code, stderr) = failed(&server.run(&["keys", "list"]).url(Some(&front.url)).output().await);
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("certificate"), "the reason is named: {stderr}");
    let (code, stderr) = failed(
        &server.run(&["health", "--ca-cert", "/nonexistent.pem"]).url(Some(&front.url)).output().await,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot read the CA certificate /nonexistent.pem"), "{stderr}");
}
