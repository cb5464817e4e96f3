//! Organizations: the instance admin creates them, each root key shown once and scoped to its own.

use keyward::types;
use keyward_testing::{TestApp, on_both_stores, problem_of};
use reqwest::StatusCode;

on_both_stores!(
    the_instance_admin_creates_an_organization_whose_root_key_works_at_once,
    the_default_organization_is_the_admins_own,
    a_new_organizations_root_key_cannot_create_organizations,
);

async fn the_instance_admin_creates_an_organization_whose_root_key_works_at_once(app: TestApp) {
    let response = app
        .client
        .organization_create()
        .body(types::OrganizationCreate::builder().name("acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created = response.into_inner();
    assert_eq!(created.organization.name, "acme");
    assert_eq!(created.api_key.organization_id, created.organization.id);
    assert!(created.key.starts_with("kw_"));

    let acme = app.client_with(&created.key);
    let organization = acme.organization_view().send().await.unwrap().into_inner();
    assert_eq!(organization.id, created.organization.id);
    assert_eq!(organization.links.self_.href, "/v1/organization");
    let issued = acme.api_key_create().body(types::ApiKeyCreate::builder().name("acme's first")).send().await;
    assert_eq!(issued.unwrap().into_inner().api_key.organization_id, created.organization.id);
}

async fn the_default_organization_is_the_admins_own(app: TestApp) {
    let organization = app.client.organization_view().send().await.unwrap().into_inner();
    assert_eq!(organization.name, "default");
}

async fn a_new_organizations_root_key_cannot_create_organizations(app: TestApp) {
    let (_, acme) = app.second_organization("acme").await;
    let (status, problem) = problem_of(
        acme.organization_create().body(types::OrganizationCreate::builder().name("evil")).send().await,
    );
    assert_eq!((status, problem.code.as_str()), (StatusCode::FORBIDDEN, "auth.missing_scope"));
}
