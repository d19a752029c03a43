//! The extension that enforces [`crate::auth::access`] before every root field resolves.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextRequest, NextResolve, ResolveInfo,
};
use async_graphql::{ErrorExtensionValues, PathSegment, Response, ServerResult, Value};

use crate::auth::{Caller, Role, access};
use crate::config::Introspection;
use crate::error::{AppError, ErrorCode};

/// Installs [`AccessControlExtension`] on the schema.
pub struct AccessControl {
    /// Who may introspect.
    pub introspection: Introspection,
}

impl ExtensionFactory for AccessControl {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AccessControlExtension {
            introspection: self.introspection,
        })
    }
}

/// Checks the caller against the access table for every field of the root types, and gives every
/// error without a code (parse and validation errors of the executor) `BAD_USER_INPUT`.
pub struct AccessControlExtension {
    introspection: Introspection,
}

impl AccessControlExtension {
    /// Whether `caller` may run `__schema` / `__type`.
    fn may_introspect(&self, caller: &Caller) -> bool {
        match (self.introspection, caller.actor()) {
            (Introspection::All, _) => true,
            (Introspection::Authenticated, actor) => actor.is_some(),
            (Introspection::Staff, Some(actor)) => matches!(
                actor.role,
                Role::HqOffice | Role::CityFinance | Role::Auditor
            ),
            (Introspection::Staff, None) | (Introspection::Off, _) => false,
        }
    }
}

// A subscription's root field is resolved once per event; its resolver checks the rule before
// opening the stream, and this checks every event again.
const ROOT_TYPES: [&str; 3] = ["Query", "Mutation", "Subscription"];

/// Gives every error without a code (parse and validation errors of the executor)
/// `BAD_USER_INPUT`, and says which argument a refused value belongs to. Executions run by the
/// request hook below get it there; a subscription's stream (which has no request hook) gets it
/// from its transport.
pub fn code_errors(errors: &mut [async_graphql::ServerError]) {
    for error in errors {
        super::scalars::explain_argument_error(error);
        let extensions = error
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default);
        if extensions.get("code").is_none() {
            extensions.set("code", ErrorCode::BadUserInput.as_str());
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for AccessControlExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        code_errors(&mut response.errors);
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let is_root = info.path_node.parent.is_none() && ROOT_TYPES.contains(&info.parent_type);
        let caller = ctx.data_opt::<Caller>().unwrap_or(&Caller::Anonymous);
        // `__schema` and `__type` follow the introspection setting; `__typename` is always free.
        let introspection = info.is_for_introspection || info.name.starts_with("__");
        if is_root
            && (info.name == "__schema" || info.name == "__type")
            && !self.may_introspect(caller)
        {
            let mut server_error =
                AppError::Forbidden("introspection is not available to this caller".into())
                    .to_server_error();
            server_error.path = vec![PathSegment::Field(info.name.to_string())];
            return Err(server_error);
        }
        if is_root
            && !introspection
            && let Err(err) = access::authorize(info.parent_type, info.name, caller)
        {
            let mut server_error = err.to_server_error();
            server_error.path = vec![PathSegment::Field(
                info.alias.unwrap_or(info.name).to_string(),
            )];
            return Err(server_error);
        }
        next.run(ctx, info).await
    }
}
