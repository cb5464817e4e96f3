//! `keyward login` and `logout`: a profile file only its owner may read, under the flags and environment variables.

use crate::{failed, json, spawn_server, stderr};

#[tokio::test(flavor = "multi_thread")]
async fn login_checks_the_key_and_saves_a_profile_that_later_commands_use() {
    let server = spawn_server().await;
    let login = server
        .run(&["login", "--url", &server.url, "--key-stdin"])
        .key(None)
        .url(None)
        .stdin(&format!("{}\n", server.root_key))
        .output()
        .await;
    let saved = json(&login);
    assert_eq!(saved["organization"]["name"], "default");
    assert_eq!(saved["profile"], "default");

    let path = server.config_path();
    let text = std::fs::read_to_string(&path).expect("login wrote the config file");
    assert!(text.contains(&server.url), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "only its owner may read the file that holds the key");
    }

    let listed = server.run(&["keys", "list"]).key(None).url(None).output().await;
    assert!(json(&listed).is_array(), "the profile's URL and key are used");
}

#[tokio::test(flavor = "multi_thread")]
async fn keyward_url_and_keyward_key_win_over_the_profile() {
    let server = spawn_server().await;
    json(&server.run(&["login"]).output().await);
    let (_, reader) = server.create_key(&["--name", "reader", "--scope", "api_keys:read"]).await;

    let (code, stderr) =
        failed(&server.run(&["keys", "create", "--name", "x"]).key(Some(&reader)).output().await);
    assert_eq!(code, 4, "KEYWARD_KEY (a reader) was used, not the profile's root key: {stderr}");
    let (code, _) = failed(&server.run(&["keys", "list"]).url(Some("http://127.0.0.1:1")).output().await);
    assert_eq!(code, 5, "KEYWARD_URL was used, not the profile's");
    let (code, _) = failed(
        &server.run(&["keys", "list", "--url", "http://127.0.0.1:1"]).key(None).url(None).output().await,
    );
    assert_eq!(code, 5, "--url was used, not the profile's");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_is_not_saved() {
    let server = spawn_server().await;
    let (code, stderr) = failed(&server.run(&["login", "--key", "kw_wrong"]).key(None).output().await);
    assert_eq!(code, 4, "{stderr}");
    assert!(!server.config_path().exists(), "nothing was saved");
}

#[tokio::test(flavor = "multi_thread")]
async fn named_profiles_are_kept_apart_and_logout_removes_one() {
    let server = spawn_server().await;
    json(&server.run(&["login", "--profile", "staging"]).output().await);
    let (code, refused) =
        failed(&server.run(&["keys", "list", "--profile", "prod"]).key(None).url(None).output().await);
    assert_eq!(code, 2);
    assert!(
        refused.contains("no profile 'prod'") && refused.contains("keyward login --profile prod"),
        "{refused}"
    );
    let listed =
        server.run(&["keys", "list"]).env("KEYWARD_PROFILE", "staging").key(None).url(None).output().await;
    assert!(json(&listed).is_array());

    let logout = server.run(&["logout", "--profile", "staging"]).output().await;
    assert!(logout.status.success(), "{}", stderr(&logout));
    let (code, _) =
        failed(&server.run(&["keys", "list", "--profile", "staging"]).key(None).url(None).output().await);
    assert_eq!(code, 2, "the profile is gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_file_others_may_read_is_warned_of() {
    let server = spawn_server().await;
    json(&server.run(&["login"]).output().await);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(server.config_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        let output = server.run(&["keys", "list"]).key(None).output().await;
        assert!(output.status.success());
        assert!(stderr(&output).contains("chmod 600"), "{}", stderr(&output));
    }
}
