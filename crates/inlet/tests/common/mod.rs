//! What the real-binary tests share: running `inlet` with a clean
//! environment, and a running `inlet serve` that announced its address.

#![allow(dead_code, unreachable_pub)] // each test binary uses part of this

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The binary under test.
pub const INLET: &str = env!("CARGO_BIN_EXE_inlet");

/// `inlet ARGS` without the caller's `INLET_*` variables, so a developer's
/// or CI's environment cannot change what a test sees.
pub fn inlet<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(INLET);
    command.args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("INLET_") {
            command.env_remove(name);
        }
    }
    command
}

/// A running `inlet serve` and the base URL it announced; killed on drop.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    /// Starts `command` (an `inlet serve ...`) and reads the address from
    /// its first stdout line; no waiting beyond that line.
    pub fn start(command: &mut Command) -> Self {
        Self::announced(Self::spawn(command))
    }

    /// Starts `command` without waiting for it: several servers can then
    /// start at the same moment, and each is [`Server::announced`] after.
    pub fn spawn(command: &mut Command) -> Child {
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start inlet serve")
    }

    /// The server `child` once it has announced its address.
    pub fn announced(mut child: Child) -> Self {
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("read first line");
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        Self { child, url }
    }

    /// `inlet serve` on port 0 over `data_dir`.
    pub fn start_on(data_dir: &Path) -> Self {
        Self::start(inlet(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(data_dir))
    }

    /// Sends the signal `name` (`TERM`, `INT`) to the server.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
