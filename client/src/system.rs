//! `keyward health`, `keyward ready` and `keyward openapi`: the operations that need no key.

use futures::StreamExt;
use keyward::ApiError;

use crate::Context;
use crate::output::write_stdout;
use crate::report::Failure;
use crate::view;

/// `GET /v1/health`: is the server up?
pub async fn health(context: &Context) -> Result<(), Failure> {
    let health = context.call(context.client.health_view().send()).await?;
    context.print(&health, || view::health(&health));
    Ok(())
}

/// `GET /v1/ready`: should this instance get traffic? (exits 5 if not)
pub async fn ready(context: &Context) -> Result<(), Failure> {
    let ready = context.call(context.client.ready_view().send()).await?;
    context.print(&ready, || view::health(&ready));
    Ok(())
}

/// `GET /openapi.yaml`: the contract the server implements, as it serves it.
pub async fn openapi(context: &Context) -> Result<(), Failure> {
    let mut body = context.call(context.client.openapi_view().send()).await?.into_inner();
    let mut document = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| Failure::Api { error: ApiError::Transport(e), url: context.url.clone() })?;
        document.extend_from_slice(&chunk);
    }
    write_stdout(&String::from_utf8_lossy(&document));
    Ok(())
}
