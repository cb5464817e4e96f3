//! A TCP proxy on loopback that a test can cut: while it is cut, every socket stays open and no
//! byte is forwarded either way (what a network partition looks like to both ends); once healed,
//! what was held back goes through, as TCP's retransmissions would deliver it.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A proxy to one upstream address, open until [`Proxy::cut`].
pub struct Proxy {
    pub addr: SocketAddr,
    open: watch::Sender<bool>,
    accepting: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let addr = listener.local_addr().unwrap();
        let open = watch::Sender::new(true);
        let gate = open.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let gate = gate.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else { return };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        pipe(client_read, server_write, gate.subscribe()),
                        pipe(server_read, client_write, gate.subscribe()),
                    );
                });
            }
        });
        Self { addr, open, accepting }
    }

    /// From now on nothing is forwarded, on old connections or new ones.
    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    /// Forwards again, what was held back first.
    pub fn heal(&self) {
        self.open.send_replace(true);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Copies `from` to `to` while the gate is open; bytes read as it closes wait for it to open.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut open: watch::Receiver<bool>) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        if open.wait_for(|open| *open).await.is_err() {
            return;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if open.wait_for(|open| *open).await.is_err() || to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

/// `url` (`postgres://user@host:port/db`) with its host and port replaced by `addr`.
pub fn through(url: &str, addr: SocketAddr) -> String {
    let mut url = reqwest::Url::parse(url).expect("a URL");
    url.set_ip_host(addr.ip()).expect("a URL with a host");
    url.set_port(Some(addr.port())).expect("a URL with a host");
    url.into()
}

/// The host and port of `url` (`postgres://user@host:port/db`, port 5432 if left out).
pub fn upstream(url: &str) -> SocketAddr {
    let url = reqwest::Url::parse(url).expect("a URL");
    let host = match url.host_str() {
        Some("localhost") | None => "127.0.0.1",
        Some(host) => host,
    };
    SocketAddr::new(host.parse().expect("a numeric loopback address"), url.port().unwrap_or(5432))
}
