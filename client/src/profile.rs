//! The config file `keyward login` writes: named profiles of a server URL, a key and a CA, readable by its owner only.

use std::{
    collections::BTreeMap,
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// The config file: `[profiles.NAME]` tables.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Config {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// Where to reach a server and how to sign in to it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Profile {
    pub url: Option<String>,
    pub key: Option<String>,
    pub ca_cert: Option<PathBuf>,
}

/// Why the config file could not be read or written.
#[derive(Debug)]
pub enum ProfileError {
    NoHome,
    Read(PathBuf, io::Error),
    Parse(PathBuf, String),
    Write(PathBuf, io::Error),
}

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoHome => f.write_str("cannot tell where the config file goes: set KEYWARD_CONFIG or HOME"),
            Self::Read(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            Self::Parse(path, e) => write!(f, "{} is not a valid config file: {e}", path.display()),
            Self::Write(path, e) => write!(f, "cannot write {}: {e}", path.display()),
        }
    }
}

/// The config file's path: `KEYWARD_CONFIG`, else
/// `$XDG_CONFIG_HOME/keyward/config.toml`, else
/// `$HOME/.config/keyward/config.toml`.
pub fn path() -> Result<PathBuf, ProfileError> {
    let var = |name| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    if let Some(path) = var("KEYWARD_CONFIG") {
        return Ok(path);
    }
    let base = var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|home| home.join(".config")));
    base.map(|base| base.join("keyward").join("config.toml")).ok_or(ProfileError::NoHome)
}

impl Config {
    /// The config at `path`; a file that does not exist is an empty config.
    pub fn load(path: &Path) -> Result<Config, ProfileError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(ProfileError::Read(path.to_owned(), e)),
        };
        toml::from_str(&text).map_err(|e| ProfileError::Parse(path.to_owned(), e.message().to_owned()))
    }

    /// Writes the config to `path`, readable and writable by its owner only
    /// (the directory too, if made here), through a file renamed into place
    /// so that a crash leaves the old config or the new one.
    pub fn save(&self, path: &Path) -> Result<(), ProfileError> {
        let failed = |e| ProfileError::Write(path.to_owned(), e);
        let text = toml::to_string(self).expect("the config serializes");
        let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !dir.exists() {
            owner_only_dir().create(dir).map_err(failed)?;
        }
        let staging =
            dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("config")));
        let mut file = owner_only_file().open(&staging).map_err(failed)?;
        file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(failed)?;
        fs::rename(&staging, path).map_err(failed)
    }
}

#[cfg(unix)]
fn owner_only_file() -> fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true).mode(0o600);
    options
}

#[cfg(not(unix))]
fn owner_only_file() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    options
}

#[cfg(unix)]
fn owner_only_dir() -> fs::DirBuilder {
    use std::os::unix::fs::DirBuilderExt;
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true).mode(0o700);
    builder
}

#[cfg(not(unix))]
fn owner_only_dir() -> fs::DirBuilder {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    builder
}

/// A warning if others than the owner may read the file at `path` (as ssh
/// warns of a private key), else `None`.
pub fn exposure(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).ok()?.permissions().mode();
        (mode & 0o077 != 0).then(|| {
            format!(
                "warning: {} holds keys and others may read it (mode {:o}); run chmod 600 on it",
                path.display(),
                mode & 0o777
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_config_reads_back_and_only_its_owner_may_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("config.toml");
        let mut config = Config::default();
        config.profiles.insert(
            "prod".into(),
            Profile {
                url: Some("https://keys.example.com".into()),
                key: Some("kw_secret".into()),
                ca_cert: None,
            },
        );
        config.save(&path).unwrap();
        let read = Config::load(&path).unwrap();
        assert_eq!(read.profiles["prod"].key.as_deref(), Some("kw_secret"));
        assert_eq!(exposure(&path), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(exposure(&path).unwrap().contains("chmod 600"));
        }
    }

    #[test]
    fn a_missing_file_is_an_empty_config_and_a_broken_one_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Config::load(&dir.path().join("none.toml")).unwrap().profiles.is_empty());
        let broken = dir.path().join("broken.toml");
        fs::write(&broken, "profiles = 3").unwrap();
        assert!(matches!(Config::load(&broken), Err(ProfileError::Parse(..))));
    }
}
