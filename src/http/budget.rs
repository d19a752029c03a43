//! Each request's work runs within its time budget and while its client is connected.

use actix_web::HttpRequest;

use super::{HttpResult, HttpState};
use crate::error::AppError;

/// The socket of a connection, remembered when it is accepted, so that a handler can tell
/// whether its client is still there.
#[derive(Debug, Clone, Copy)]
pub struct PeerSocket(#[cfg(unix)] std::os::fd::RawFd);

/// `HttpServer::on_connect` hook: remembers each connection's socket.
pub fn remember_socket(connection: &dyn std::any::Any, data: &mut actix_web::dev::Extensions) {
    #[cfg(unix)]
    if let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        use std::os::fd::AsRawFd;
        data.insert(PeerSocket(stream.as_raw_fd()));
    }
    #[cfg(not(unix))]
    let _ = (connection, data);
}

impl PeerSocket {
    /// Whether the client has closed its side of the connection (or reset it). Pipelined bytes
    /// of a next request are only peeked at, never consumed.
    #[cfg(unix)]
    fn closed(self) -> bool {
        let mut byte = 0u8;
        // SAFETY: the descriptor belongs to the connection whose request is being handled; the
        // connection (and so the descriptor) lives as long as the handler's future, which is the
        // only caller. `recv` with MSG_PEEK | MSG_DONTWAIT neither blocks nor consumes data, and
        // writes at most one byte into `byte`.
        let read = unsafe {
            libc::recv(
                self.0,
                (&mut byte as *mut u8).cast::<libc::c_void>(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if read == 0 {
            return true;
        }
        if read > 0 {
            return false;
        }
        let error = std::io::Error::last_os_error().kind();
        !matches!(
            error,
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
        )
    }

    #[cfg(not(unix))]
    fn closed(self) -> bool {
        false
    }

    /// Resolves once the client has gone away.
    async fn gone(self) {
        let mut every = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            every.tick().await;
            if self.closed() {
                return;
            }
        }
    }
}

/// Runs a request's work within its time budget (`HQ_REQUEST_TIMEOUT`) and while its client is
/// connected. Past the budget, or once the client has closed the connection, the work's future is
/// dropped, which rolls back an open transaction and frees a held idempotency key. Past the budget
/// the client gets `SERVICE_UNAVAILABLE` with HTTP 503.
pub(super) async fn within_budget(
    state: &HttpState,
    req: &HttpRequest,
    work: impl std::future::Future<Output = HttpResult>,
) -> HttpResult {
    let budget = state.request_timeout;
    let peer = req.conn_data::<PeerSocket>().copied();
    let client_gone = async move {
        match peer {
            Some(peer) => peer.gone().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        response = tokio::time::timeout(budget, work) => match response {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(
                    budget_ms = budget.as_millis(),
                    "request stopped at its time budget"
                );
                Err(AppError::Busy(format!(
                    "the request was stopped after its time budget of {} ms; what it had not \
                     committed was rolled back",
                    budget.as_millis()
                ))
                .into())
            }
        },
        () = client_gone => {
            tracing::info!("request stopped: its client closed the connection");
            Err(AppError::Busy("the client closed the connection".into()).into())
        }
    }
}
